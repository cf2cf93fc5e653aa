package lua

import (
	"context"

	"remedy/lua/remote"
)

// What the engine's external tests (package lua_test, which may link the
// modules) reach inside it.

// LoadTimeout bounds a playbook's top level at load time.
var LoadTimeout = &loadTimeout

// NewTaskEnv is h's Env while a task runs, in check mode or not.
func NewTaskEnv(h remote.Host, check bool) *Env {
	return &Env{host: h, ctx: context.Background(), task: &taskRecord{check: check}}
}

// SetCheck puts the running task in check mode, or takes it out.
func (e *Env) SetCheck(check bool) { e.task.check = check }

// QueryLine is Query for a command line.
func (e *Env) QueryLine(line string) (remote.Output, error) { return e.query(line) }

// WarmLines are every module's usual reads.
func WarmLines() []string { return allWarmLines() }

// Prefetched keeps out as a batch's answer to line, as a prefetch does.
func (e *Env) Prefetched(line string, out remote.Output) {
	if e.once == nil {
		e.once = map[string]remote.Output{}
	}
	e.once[line] = out
}

// Forget drops every cached read, as a change does.
func (e *Env) Forget() { e.forget() }
