package lua

import (
	"fmt"
	"strings"
	"time"

	"remedy/lua/change"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

// The gate is the one way a module changes a host, and the one place that
// knows whether the task runs in check mode. Every change is recorded the
// same in both modes: its command lines (Result.Planned), a file's diff,
// a note for the task's message, and whether the task changed anything.
// In check mode that record is all there is; otherwise the change runs.
// A module cannot tell the two apart, so check mode reports what the same
// code does for real.

// Apply hands one change to the gate.
func (e *Env) Apply(c change.Change) (change.Result, error) {
	return e.Begin().Apply(c, nil)
}

// Begin starts a sequence of changes: see change.Sequence.
func (e *Env) Begin() change.Sequence { return &sequence{e: e} }

// sequence is a change.Sequence. In check mode it remembers what its file
// changes would have written, so that a later change of the same file in
// the sequence is planned from that, as the run would find it (the second
// phase of an SSH port move rewrites the first phase's file).
type sequence struct {
	e       *Env
	undo    []change.Undo
	written map[string][]byte
}

func (s *sequence) Apply(c change.Change, undo change.Undo) (change.Result, error) {
	e := s.e
	if err := e.requireTask(); err != nil {
		return change.Result{}, err
	}
	switch c := c.(type) {
	case change.Command:
		return s.command(c, undo)
	case change.File:
		return s.file(c, undo)
	case change.Step:
		e.record(false, "", c.Describe)
		if e.checking() {
			e.say(c.Say.Would)
			return change.Result{}, nil
		}
		s.ran(undo)
		if err := c.Run(); err != nil {
			return change.Result{}, err
		}
		e.say(c.Say.Done)
		return change.Result{}, nil
	case change.Reconnect:
		e.record(false, "", fmt.Sprintf("# move the connection to port %d", c.Port))
		if e.checking() {
			return change.Result{}, nil
		}
		s.ran(undo)
		if err := e.host.MovePort(e.ctx, c.Port); err != nil {
			return change.Result{}, fmt.Errorf("move the connection to port %d: %w", c.Port, err)
		}
		return change.Result{}, nil
	}
	return change.Result{}, fmt.Errorf("the gate does not know a %T", c)
}

// Rollback runs the undos of the changes that ran, newest first, and
// stops at the first that fails.
func (s *sequence) Rollback() ([]string, error) {
	var said []string
	for len(s.undo) > 0 {
		u := s.undo[len(s.undo)-1]
		s.undo = s.undo[:len(s.undo)-1]
		what, err := u()
		if err != nil {
			return said, err
		}
		if what != "" {
			said = append(said, what)
		}
	}
	return said, nil
}

// ran keeps the undo of a change that is about to run on the host.
func (s *sequence) ran(undo change.Undo) {
	if undo != nil {
		s.undo = append(s.undo, undo)
	}
}

// command runs a Command. A non-zero exit status is an error carrying
// stderr, unless the caller takes it.
func (s *sequence) command(c change.Command, undo change.Undo) (change.Result, error) {
	e := s.e
	line := shell.Join(c.Argv...)
	e.record(true, "", line)
	if e.checking() {
		e.say(c.Say.Would)
		return change.Result{Changed: true}, nil
	}
	s.ran(undo)
	e.say(c.Say.Done)
	out, err := e.exec(line, c.Stdin)
	res := change.Result{Changed: true, Output: out}
	if err != nil {
		return res, err
	}
	if out.ExitCode != 0 && !c.AnyStatus {
		return res, fmt.Errorf("%s: exit status %d: %s", line, out.ExitCode, remote.Excerpt(out.Stderr))
	}
	return res, nil
}

// file brings a file to the state w describes (see writePlan): the same
// plan, steps and diff in both modes. A symbolic link is written through:
// its target gets the content and keeps its mode, owner and SELinux label,
// and the link stays a link. A failing step leaves the old file untouched.
func (s *sequence) file(w change.File, undo change.Undo) (change.Result, error) {
	e := s.e
	cur, err := e.fileState(w.Path)
	if err != nil {
		return change.Result{}, err
	}
	if planned, ok := s.written[cur.path]; ok {
		cur.content, cur.exists = planned, true
	}
	selinux := e.facts.SELinux == "enforcing" || e.facts.SELinux == "permissive"
	p, err := planWrite(w, cur, newWriteNames(cur.path, time.Now()), selinux)
	if err != nil {
		return change.Result{}, fmt.Errorf("%s: %w", w.Path, err)
	}
	if len(p.changes) == 0 {
		return change.Result{}, nil
	}
	e.record(true, p.diff, p.planned()...)
	e.say(fmt.Sprintf("%s: %s", w.Path, strings.Join(p.changes, ", ")))
	res := change.Result{Changed: true, Diff: p.diff, Backup: p.backup}
	if e.checking() {
		if s.written == nil {
			s.written = map[string][]byte{}
		}
		s.written[cur.path] = w.Content
		return res, nil
	}
	s.ran(undo)
	return res, e.applyWrite(p)
}

// ReadForEdit reads the file a write of p would replace: see
// change.Session.
func (e *Env) ReadForEdit(p string) ([]byte, bool, error) {
	st, err := e.fileState(p)
	return st.content, st.exists, err
}

// record adds to the current task's record: changed marks a change, diff
// and planned show it.
func (e *Env) record(changed bool, diff string, planned ...string) {
	e.task.changed = e.task.changed || changed
	if diff != "" {
		e.task.diffs = append(e.task.diffs, diff)
	}
	for _, p := range planned {
		if p != "" {
			e.task.planned = append(e.task.planned, p)
		}
	}
}

// say adds a phrase to the current task's message; a string the run
// function returns replaces them.
func (e *Env) say(phrase string) {
	if phrase != "" {
		e.task.notes = append(e.task.notes, phrase)
	}
}

// checking reports whether the current task runs in check mode. Only the
// gate, and fileState, which plans its writes, ask.
func (e *Env) checking() bool { return e.task != nil && e.task.check }
