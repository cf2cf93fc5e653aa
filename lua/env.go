package lua

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua/change"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

// Env is what a module function sees while a task, check or handler runs
// on one host: the host's facts and reads, the gate (Apply, gate.go)
// through which alone a module changes the host, and a record of what
// the current task changed. It is the change.Session a module's Go API
// works with.
type Env struct {
	state *glua.LState // the host's VM
	host  remote.Host
	facts remote.Facts
	log   func(level int, format string, args ...any)
	ctx   context.Context
	vars  *glua.LTable // the v every task receives, also host.vars
	task  *taskRecord  // nil outside a task, check or handler
	// memo holds cached reads (QueryCached, ReadFileCached); once holds
	// prefetched reads nothing has asked for yet. Both are by command
	// line, and a command that may change the host forgets both.
	memo, once map[string]remote.Output
	// parsed holds what modules made of a cached read (the firewall's
	// model of its ruleset), by the read's command line; it is forgotten
	// with the reads.
	parsed map[string]any
	// warmed: the modules' usual reads or the playbook's prefetch were
	// taken (see queryWarming and hostRun.gather).
	warmed bool
}

var _ change.Session = (*Env)(nil)

// taskRecord collects what module calls did during one task.
type taskRecord struct {
	check   bool
	changed bool
	diffs   []string
	planned []string
	notes   []string // the result's message when run returns none
	hostErr error    // an ErrUnreachable seen by a module call
	// finding is the error Finding raised last: when the task ends with
	// it, the task found something, rather than broke.
	finding string
}

// Name is the host's inventory name ("" while a playbook loads).
func (e *Env) Name() string {
	if e.host == nil {
		return ""
	}
	return e.host.Name()
}

// Context is the current task's context: cancelled on Ctrl-C or when the
// task's timeout expires. Pass it to every Host call.
func (e *Env) Context() context.Context { return e.ctx }

// Facts returns what the runner gathered about the host.
func (e *Env) Facts() remote.Facts { return e.facts }

// Port is the port the connection is on now.
func (e *Env) Port() int {
	if e.host == nil {
		return 0
	}
	return e.host.Port()
}

// Probe logs in on port afresh: see remote.Host.
func (e *Env) Probe(ctx context.Context, port int) error {
	if err := e.requireTask(); err != nil {
		return err
	}
	return e.host.Probe(ctx, port)
}

// Vars is the v table every task receives, also host.vars.
func (e *Env) Vars() *glua.LTable { return e.vars }

// Query runs a read-only command, also in check mode. A non-zero exit
// status is in the Output, not an error. Being a read, it keeps what
// QueryCached holds. A read the playbook prefetched answers the first
// Query for it, as no command that may change the host has run since;
// the next one reads the host again. When nothing was prefetched, the
// first of the modules' usual reads brings the others with it.
func (e *Env) Query(args ...string) (remote.Output, error) {
	return e.query(shell.Join(args...))
}

func (e *Env) query(line string) (remote.Output, error) {
	if out, ok := e.once[line]; ok {
		delete(e.once, line)
		return out, nil
	}
	if !e.warmed && slices.Contains(allWarmLines(), line) {
		return e.queryWarming(line)
	}
	return e.run(line, nil)
}

// QueryOwn runs a playbook's own cmd.query, in check mode too. That it
// only reads is its author's promise, not ours, so cached reads are taken
// again after it; but a line the playbook prefetched was declared a read.
func (e *Env) QueryOwn(argv []string, stdin []byte) (remote.Output, error) {
	line := shell.Join(argv...)
	if _, ok := e.once[line]; ok && stdin == nil {
		return e.query(line)
	}
	return e.exec(line, stdin)
}

// Fail raises err as a Lua error at the calling playbook line. It does
// not return.
func (e *Env) Fail(err error) {
	if errors.Is(err, remote.ErrUnreachable) && e.task != nil {
		e.task.hostErr = err
	}
	e.state.RaiseError("%s", err.Error())
}

// Finding fails the running task or check at the calling playbook line
// with msg as what it found about the host (expect and fail): any other
// error is the check itself breaking, which an audit must not count as
// a finding. It does not return.
func (e *Env) Finding(msg string) {
	full := strings.TrimSpace(luaLine(e.state) + " " + msg)
	if e.task != nil {
		e.task.finding = full
	}
	e.state.Error(glua.LString(full), 0)
}

// Logf writes to the run's log at level (1: remote commands, 2: timings).
func (e *Env) Logf(level int, format string, args ...any) {
	if e.log != nil {
		e.log(level, format, args...)
	}
}

// QueryCached is Query for a read that calls in a row repeat, such as the
// firewall's ruleset for each port of a range. The output is reused until
// a command that may change the host runs: every change the gate runs,
// and any command a playbook runs itself, go through exec, which forgets
// it.
func (e *Env) QueryCached(args ...string) (remote.Output, error) {
	line := shell.Join(args...)
	if out, ok := e.memo[line]; ok {
		return out, nil
	}
	if out, ok := e.once[line]; ok {
		delete(e.once, line)
		e.remember(line, out)
		return out, nil
	}
	var out remote.Output
	var err error
	if e.warmed {
		out, err = e.run(line, nil)
	} else {
		out, err = e.queryWarming(line)
	}
	if err == nil {
		e.remember(line, out)
	}
	return out, err
}

// QueryParsed is QueryCached with what parse made of the output, kept as
// long as the read: a range of verdicts would otherwise parse the
// firewall's ruleset for each port, a fifth of a controller's CPU in an
// audit.
func (e *Env) QueryParsed(parse func(remote.Output) (any, error), argv ...string) (any, error) {
	line := shell.Join(argv...)
	if v, ok := e.parsed[line]; ok {
		return v, nil
	}
	out, err := e.QueryCached(argv...)
	if err != nil {
		return nil, err
	}
	v, err := parse(out)
	if err != nil {
		return nil, err
	}
	e.keepParsed(line, out, v)
	return v, nil
}

// keepParsed keeps a read's output and what was made of it until the
// host changes.
func (e *Env) keepParsed(line string, out remote.Output, v any) {
	e.remember(line, out)
	if e.parsed == nil {
		e.parsed = map[string]any{}
	}
	e.parsed[line] = v
}

// catLine is the read whose prefetched output is a file's content.
func catLine(p string) string { return shell.Join(shell.ReadFileArgv(p)...) }

// ReadFile reads p from the host. A prefetched copy answers the first
// read, as Query's do, also that the file is missing.
func (e *Env) ReadFile(p string) ([]byte, error) {
	if err := e.requireTask(); err != nil {
		return nil, err
	}
	line := catLine(p)
	if out, ok := e.once[line]; ok {
		delete(e.once, line)
		if b, known, err := fileContent(p, out); known {
			return b, err
		}
	}
	return e.host.ReadFile(e.ctx, p)
}

// fileContent is what shell.ReadFileArgv's output says about p: its
// content, or that it is missing; known is false for any other failure,
// which the host's ReadFile then reports in its own words.
func fileContent(p string, out remote.Output) (b []byte, known bool, err error) {
	switch out.ExitCode {
	case 0:
		return out.Stdout, true, nil
	case shell.MissingFile:
		return nil, true, fmt.Errorf("read %s: %w", p, fs.ErrNotExist)
	}
	return nil, false, nil
}

// ReadFileCached is ReadFile for a module that reads a file more than
// once before it changes the host (sshd.move_port plans from a file,
// then writes it): the content, or that the file is missing, is kept as
// QueryCached keeps a read.
func (e *Env) ReadFileCached(p string) ([]byte, error) {
	line := catLine(p)
	if out, ok := e.memo[line]; ok {
		b, _, err := fileContent(p, out)
		return b, err
	}
	b, err := e.ReadFile(p)
	switch {
	case err == nil:
		e.remember(line, remote.Output{Stdout: b})
	case errors.Is(err, fs.ErrNotExist):
		e.keep(line, remote.Output{ExitCode: shell.MissingFile})
	}
	return b, err
}

// remember keeps a successful read for QueryCached.
func (e *Env) remember(line string, out remote.Output) {
	if out.ExitCode == 0 {
		e.keep(line, out)
	}
}

// keep keeps a read's output until the host changes.
func (e *Env) keep(line string, out remote.Output) {
	if e.memo == nil {
		e.memo = map[string]remote.Output{}
	}
	e.memo[line] = out
}

func (e *Env) exec(line string, stdin []byte) (remote.Output, error) {
	e.forget()
	return e.run(line, stdin)
}

// forget drops every cached and prefetched read: the host may change.
func (e *Env) forget() {
	clear(e.memo)
	clear(e.once)
	clear(e.parsed)
}

// run runs a module's command: only inside a task, check or handler.
func (e *Env) run(line string, stdin []byte) (remote.Output, error) {
	if err := e.requireTask(); err != nil {
		return remote.Output{}, err
	}
	out, err := e.logged(line, stdin)
	if err != nil {
		return out, fmt.Errorf("%s: %w", line, err)
	}
	return out, nil
}

// logged runs line on the host as every command Env runs: logged at
// level 1, its time at 2. The facts' reads take it outside any task.
func (e *Env) logged(line string, stdin []byte) (remote.Output, error) {
	h := e.host
	start := time.Now()
	e.Logf(1, "%s: %s", h.Name(), line)
	out, err := h.Exec(e.ctx, line, stdin)
	e.Logf(2, "%s: %s: %s", h.Name(), time.Since(start).Round(time.Millisecond), line)
	return out, err
}

// errOutsideTask: a module touched the host at a playbook's top level or
// in its prefetch, before the facts exist.
var errOutsideTask = errors.New("modules that touch the host can only be called inside a task, check or handler")

func (e *Env) requireTask() error {
	if e.task == nil || e.host == nil {
		return errOutsideTask
	}
	return nil
}

// bind adapts f to gopher-lua, handing it this Env.
func (e *Env) bind(f Func) glua.LGFunction {
	return func(L *glua.LState) int { return f.Call(e, L) }
}
