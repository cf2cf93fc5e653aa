package sshd

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

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

// group is a set of sockets whose ports come from the same lines: every
// address without its own port (ports from Port lines), or one address
// pinned by ListenAddress addr:port lines.
type group struct {
	pinned   bool
	addr     listenAddr // pinned groups: host and rdomain; port unused
	lines    []portLine // the Port lines, or this address's ListenAddress lines
	explicit []int      // the ports those lines name, in order, once each
}

// ports returns the ports the group listens on.
func (g *group) ports() []int {
	if !g.pinned && len(g.explicit) == 0 {
		return []int{22}
	}
	return g.explicit
}

// directive returns the config line that makes the group listen on port.
func (g *group) directive(port int) string {
	if !g.pinned {
		return "Port " + strconv.Itoa(port)
	}
	s := "ListenAddress " + hostPort(g.addr.host, port)
	if g.addr.rdomain != "" {
		s += " rdomain " + g.addr.rdomain
	}
	return s
}

// collectGroups sorts Port and ListenAddress lines into groups, the unpinned
// one first. Lines inside a Match block are skipped: sshd refuses them, and
// the binding refuses a config sshd -t rejects.
func collectGroups(t *tree) ([]*group, error) {
	unpinned := &group{}
	var pinned []*group
	listens, unpinnedAddrs := 0, 0
	for _, d := range t.directives {
		if d.inMatch {
			continue
		}
		switch d.key {
		case "port":
			if len(d.args) != 1 {
				return nil, fmt.Errorf("%s: Port takes one port", d.where())
			}
			p, err := parsePort(d.args[0])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.where(), err)
			}
			unpinned.add(d, p)
		case "listenaddress":
			la, err := parseListenAddress(d.args)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.where(), err)
			}
			listens++
			if la.port == 0 {
				unpinnedAddrs++
				continue
			}
			pinnedGroup(&pinned, la).add(d, la.port)
		}
	}
	if listens > 0 && unpinnedAddrs == 0 {
		return pinned, nil
	}
	return append([]*group{unpinned}, pinned...), nil
}

func pinnedGroup(groups *[]*group, la listenAddr) *group {
	for _, g := range *groups {
		if g.addr.host == la.host && g.addr.rdomain == la.rdomain {
			return g
		}
	}
	g := &group{pinned: true, addr: listenAddr{host: la.host, rdomain: la.rdomain}}
	*groups = append(*groups, g)
	return g
}

// portLine is a config line and the port it names.
type portLine struct {
	directive
	port int
}

func (g *group) add(d directive, port int) {
	g.lines = append(g.lines, portLine{d, port})
	if !slices.Contains(g.explicit, port) {
		g.explicit = append(g.explicit, port)
	}
}

// targetPorts returns each group's ports after phase 1 and after phase 2;
// nil for a group already where it should be.
func targetPorts(groups []*group, req MoveRequest) [2][][]int {
	var t [2][][]int
	for _, g := range groups {
		now := g.ports()
		both := appendMissing(slices.Clone(now), req.To)
		final := []int{req.To}
		if req.Keep {
			final = both
		}
		if sameSet(now, final) {
			both, final = nil, nil
		}
		t[0] = append(t[0], both)
		t[1] = append(t[1], final)
	}
	return t
}

// unionPorts returns the sorted ports the groups listen on with the given
// targets; a nil target (or nil targets) means the group's current ports.
func unionPorts(groups []*group, targets [][]int) []int {
	var all []int
	for i, g := range groups {
		ports := g.ports()
		if targets != nil && targets[i] != nil {
			ports = targets[i]
		}
		for _, p := range ports {
			all = appendMissing(all, p)
		}
	}
	slices.Sort(all)
	return all
}

func appendMissing(s []int, v int) []int {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func sameSet(a, b []int) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

// streams returns the ListenStream= values that make ssh.socket listen as
// the groups do with the given targets.
func streams(groups []*group, targets [][]int) []string {
	var out []string
	for i, g := range groups {
		ports := g.ports()
		if targets[i] != nil {
			ports = targets[i]
		}
		for _, p := range ports {
			s := strconv.Itoa(p)
			if g.pinned {
				s = hostPort(g.addr.host, p)
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// socketEdits plans ssh.socket's drop-in: in phase 1 the socket keeps what
// it listens on now and adds the new ports; in phase 2 it listens as sshd's
// files say. The socket, not sshd's files, decides what listens, so the
// plan's ports are the socket's.
func (p *Plan) socketEdits(fs FileSet, req MoveRequest, groups []*group, targets [2][][]int) {
	final := streams(groups, targets[1])
	p.From = streamPorts(req.Streams)
	if len(p.Phase1) == 0 && slices.Equal(req.Streams, final) {
		p.Listen1, p.Listen2 = p.From, p.From
		return
	}
	first := slices.Clone(req.Streams)
	for _, s := range streams(groups, targets[0]) {
		if !slices.Contains(first, s) {
			first = append(first, s)
		}
	}
	p.Listen1, p.Listen2 = streamPorts(first), streamPorts(final)
	old, exists := fs.Text[SocketDropInPath]
	text1, text2 := socketDropIn(first), socketDropIn(final)
	p.Phase1 = appendEdit(p.Phase1, Edit{Path: SocketDropInPath, Old: old, New: text1, Create: !exists})
	p.Phase2 = appendEdit(p.Phase2, Edit{Path: SocketDropInPath, Old: text1, New: text2})
}

// streamPorts returns the sorted ports of ListenStream= values.
func streamPorts(streams []string) []int {
	var ports []int
	for _, s := range streams {
		if p, ok := StreamPort(s); ok {
			ports = appendMissing(ports, p)
		}
	}
	slices.Sort(ports)
	return ports
}

// fileOps are line edits of one file.
type fileOps struct {
	replace map[int]string   // line index -> its new text
	after   map[int][]string // line index -> lines inserted after it; -1 is the top
}

// planOps computes the line edits that give each group its target ports:
// lines naming other ports are commented out, missing ports are added after
// the group's last line.
func planOps(t *tree, main string, groups []*group, targets [][]int) map[string]*fileOps {
	ops := map[string]*fileOps{}
	get := func(file string) *fileOps {
		if ops[file] == nil {
			ops[file] = &fileOps{replace: map[int]string{}, after: map[int][]string{}}
		}
		return ops[file]
	}
	for i, g := range groups {
		target := targets[i]
		if target == nil {
			continue
		}
		for _, d := range g.lines {
			if !slices.Contains(target, d.port) {
				get(d.file).replace[d.line] = "#" + t.lines[d.file][d.line] + "  # disabled by " + Marker
			}
		}
		var added []string
		for _, p := range target {
			if !slices.Contains(g.explicit, p) {
				added = append(added, g.directive(p))
			}
		}
		if len(added) > 0 {
			file, line := anchor(t, main, g)
			fo := get(file)
			fo.after[line] = append(fo.after[line], append([]string{"# added by " + Marker}, added...)...)
		}
	}
	return ops
}

// anchor returns where a group's new lines go: after its last line, or for
// the Port group without Port lines, in the main file after a commented-out
// "#Port" line if there is one, else before the first Match block, else at
// the end.
func anchor(t *tree, main string, g *group) (string, int) {
	if len(g.lines) > 0 {
		last := g.lines[len(g.lines)-1]
		return last.file, last.line
	}
	lines := t.lines[main]
	end := len(lines)
	for _, d := range t.directives {
		if d.file == main && d.key == "match" {
			end = d.line
			break
		}
	}
	at := end - 1
	for i := range end {
		if isCommentedPort(lines[i]) {
			at = i
		}
	}
	return main, at
}

func isCommentedPort(line string) bool {
	s := strings.TrimLeft(line, " \t")
	if !strings.HasPrefix(s, "#") {
		return false
	}
	key, args, err := splitDirective(strings.TrimLeft(s, "#"))
	return err == nil && key == "port" && len(args) == 1
}

// render applies ops to every file of the tree and returns the new texts.
func (t *tree) render(ops map[string]*fileOps) map[string]string {
	out := map[string]string{}
	for _, f := range t.files {
		fo := ops[f]
		if fo == nil {
			out[f] = t.text[f]
			continue
		}
		res := slices.Clone(fo.after[-1])
		for i, l := range t.lines[f] {
			if r, ok := fo.replace[i]; ok {
				l = r
			}
			res = append(res, l)
			res = append(res, fo.after[i]...)
		}
		out[f] = strings.Join(res, "\n")
		if len(res) > 0 {
			out[f] += "\n"
		}
	}
	return out
}
