package sshd

import (
	"fmt"

	udiff "github.com/aymanbagabas/go-udiff"
)

// Marker names remedy in the comments it writes into config files, so an
// operator reading the file knows where a line came from.
const Marker = "remedy sshd.move_port"

// MoveRequest says where sshd should listen.
type MoveRequest struct {
	To      int      // the port sshd must listen on
	Keep    bool     // keep the current ports next to To (keep_22)
	Socket  bool     // ssh.socket holds the listening sockets (socket activation)
	Streams []string // ssh.socket's ListenStream= values now, when Socket
}

// Edit replaces one file's text.
type Edit struct {
	Path   string
	Old    string
	New    string
	Create bool // the file does not exist yet: undoing the edit removes it
}

// Diff renders the edit as a unified diff.
func (e Edit) Diff() string {
	return udiff.Unified(e.Path, e.Path, e.Old, e.New)
}

// Plan moves sshd in two phases so that the operator is never locked out:
// phase 1 listens on the old and the new ports, phase 2, applied only after
// the new port has been proven from outside, on the wanted ports alone.
type Plan struct {
	From    []int  // ports sshd's files make it listen on now
	Listen1 []int  // after phase 1
	Listen2 []int  // after phase 2
	Phase1  []Edit // edits of the original files
	Phase2  []Edit // edits of phase 1's result; none when keeping the old ports
}

// Empty reports whether sshd already listens where it should.
func (p Plan) Empty() bool { return len(p.Phase1) == 0 && len(p.Phase2) == 0 }

// PlanMove plans moving the sshd whose main config file is main, with fs
// holding it and every file its Includes reach. Every Port line in every
// file adds a port (22 only when there is none); a ListenAddress with its
// own port ignores Port. The plan keeps comments and layout: it comments
// out lines it disables and adds lines under a marker comment, outside any
// Match block.
func PlanMove(fs FileSet, main string, req MoveRequest) (Plan, error) {
	if req.To < 1 || req.To > 65535 {
		return Plan{}, fmt.Errorf("sshd: bad target port %d", req.To)
	}
	t, err := walkConfig(fs, main)
	if err != nil {
		return Plan{}, err
	}
	if !t.needs.Empty() {
		return Plan{}, fmt.Errorf("%s: files not read yet: %v, directories not listed: %v", main, t.needs.Read, t.needs.List)
	}
	groups, err := collectGroups(t)
	if err != nil {
		return Plan{}, err
	}
	targets := targetPorts(groups, req)
	p := Plan{
		From:    unionPorts(groups, nil),
		Listen1: unionPorts(groups, targets[0]),
		Listen2: unionPorts(groups, targets[1]),
	}
	texts1 := t.render(planOps(t, main, groups, targets[0]))
	texts2 := t.render(planOps(t, main, groups, targets[1]))
	for _, f := range t.files {
		p.Phase1 = appendEdit(p.Phase1, Edit{Path: f, Old: fs.Text[f], New: texts1[f]})
		p.Phase2 = appendEdit(p.Phase2, Edit{Path: f, Old: texts1[f], New: texts2[f]})
	}
	if req.Socket {
		p.socketEdits(fs, req, groups, targets)
	}
	return p, nil
}

func appendEdit(edits []Edit, e Edit) []Edit {
	if e.Old == e.New {
		return edits
	}
	return append(edits, e)
}
