package lua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"remedy/lua/remote"

	glua "github.com/yuin/gopher-lua"
)

// RunOptions are one host's settings for a run.
type RunOptions struct {
	Check, Diff bool
	Vars        map[string]any // inventory vars (merged) for this host
	ExtraVars   map[string]any // -e, highest precedence
	// Inventory is what groups, group_names and hostvars show; nil: the
	// host knows only itself.
	Inventory      Inventory
	Tags, SkipTags []string
	StartAt        string
	// Gather makes Run gather the host's facts itself, in one round trip
	// with the playbook's prefetch, and report them as the first result
	// (remote.FactsResult); Gathered receives them. Without it the playbook runs
	// with Facts, and its prefetch is not taken.
	Gather      bool
	Gathered    func(remote.Facts)
	Facts       remote.Facts
	Start       time.Time     // when the host's run began, its connection included
	TaskTimeout time.Duration // a task's own timeout field wins; 0 means none
	// Log receives what the playbook writes with log() or print() at level
	// 0, and each remote command (1) and its duration (2). The host is not
	// in the message: the caller knows which host it runs.
	Log func(level int, format string, args ...any)
}

// Run runs the selected tasks, then the notified handlers, then the
// checks, on one host in a fresh VM, calling emit for each Result as it
// finishes. A failed task (without ignore_errors) ends the host's run
// after its result. An error means the run could not continue: the
// playbook could not be evaluated, ctx was cancelled, or the host became
// unreachable.
func (p *Playbook) Run(ctx context.Context, h remote.Host, o RunOptions, emit func(remote.Result)) error {
	selected, err := Select(p.tasks, o.Tags, o.SkipTags, o.StartAt)
	if err != nil {
		return err
	}
	e := &Env{host: h, facts: o.Facts, log: o.Log, ctx: ctx}
	L := p.newVM(e)
	defer L.Close()
	L.SetContext(ctx)
	sp, err := p.evaluate(L)
	if err != nil {
		return fmt.Errorf("%s: %w", h.Name(), err)
	}
	if err := e.setVars(sp.vars, p.varTypes, o); err != nil {
		return fmt.Errorf("%s: %s: vars: %w", h.Name(), p.file, err)
	}
	r := &hostRun{p: p, e: e, o: o, ctx: ctx, emit: emit, notified: map[string]bool{}}
	if o.Gather {
		if err := r.gather(sp.prefetch); err != nil {
			return err
		}
	}
	return r.all(sp, selected)
}

// hostRun is the state of one Run.
type hostRun struct {
	p        *Playbook
	e        *Env
	o        RunOptions
	ctx      context.Context
	emit     func(remote.Result)
	notified map[string]bool
}

func (r *hostRun) all(sp *spec, selected []bool) error {
	for i, t := range sp.tasks {
		if !selected[i] {
			continue
		}
		res, stop, err := r.item(remote.KindTask, t, r.o.Check)
		if err != nil {
			return err
		}
		if res.Status == remote.StatusChanged {
			for _, n := range t.notify {
				r.notified[n] = true
			}
		}
		if stop {
			return nil
		}
	}
	for _, hd := range sp.handlers {
		if !r.notified[hd.name] {
			continue
		}
		if _, stop, err := r.item(remote.KindHandler, hd, r.o.Check); err != nil || stop {
			return err
		}
	}
	for _, c := range sp.checks {
		if !tagsSelect(c.tags, r.o.Tags, r.o.SkipTags) {
			continue
		}
		// Checks only read: they always run in check mode.
		if _, _, err := r.item(remote.KindCheck, c, true); err != nil {
			return err
		}
	}
	return nil
}

// item runs one task, check or handler and emits its result. stop says
// the host's run ends here (a failure that is not ignored); err that it
// could not go on at all.
func (r *hostRun) item(kind remote.Kind, it *item, check bool) (remote.Result, bool, error) {
	start := time.Now()
	if it.checkMode != nil {
		check = *it.checkMode
	}
	rec := &taskRecord{check: check}
	ret, runErr := r.call(it, rec)
	res := r.result(kind, it, rec, ret, runErr)
	res.Duration = time.Since(start)
	if it.register != "" {
		r.e.vars.RawSetString(it.register, registered(r.e.state, res, ret))
	}
	if err := r.fatal(rec, runErr); err != nil {
		if r.ctx.Err() != nil {
			// Interrupted: the task was cut short, neither failed nor
			// unreachable, and the runner reports the host as such.
			return res, true, err
		}
		if rec.hostErr != nil {
			res.Status = remote.StatusUnreachable
		}
		r.emit(res)
		return res, true, err
	}
	r.emit(res)
	stop := res.Status == remote.StatusFailed && !res.Ignored && kind != remote.KindCheck
	return res, stop, nil
}

// result turns what a run function did into a Result: its status comes
// from the module calls it made, never from the function itself.
func (r *hostRun) result(kind remote.Kind, it *item, rec *taskRecord, ret glua.LValue, runErr error) remote.Result {
	res := remote.Result{Host: r.e.host.Name(), Kind: kind, Name: it.name, Severity: it.severity, Planned: rec.planned}
	if kind == remote.KindCheck && res.Severity == "" {
		res.Severity = "medium"
	}
	if r.o.Diff || rec.check {
		res.Diff = strings.Join(rec.diffs, "")
	}
	switch {
	case errors.Is(runErr, errSkipped):
		res.Status = remote.StatusSkipped
	case runErr != nil:
		var finding *findingError
		res.Status, res.Msg = remote.StatusFailed, runErr.Error()
		res.Error = !errors.As(runErr, &finding)
		res.Ignored = it.ignoreErrors && kind == remote.KindTask
	case rec.changed:
		res.Status = remote.StatusChanged
	default:
		res.Status = remote.StatusOK
	}
	if runErr == nil {
		res.Msg = strings.Join(rec.notes, "; ")
		if s, ok := ret.(glua.LString); ok {
			res.Msg = string(s)
		}
	}
	return res
}

// fatal returns the error that ends the whole run: cancellation or an
// unreachable host. A task's own timeout is only that task's failure.
func (r *hostRun) fatal(rec *taskRecord, runErr error) error {
	if runErr == nil {
		return nil
	}
	if rec.hostErr != nil {
		return rec.hostErr
	}
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", r.e.host.Name(), err)
	}
	return nil
}

var errSkipped = errors.New("skipped: when returned false")

// call evaluates when, then run, under the item's timeout.
func (r *hostRun) call(it *item, rec *taskRecord) (glua.LValue, error) {
	ctx := r.ctx
	timeout := r.o.TaskTimeout
	if it.timeout > 0 {
		timeout = it.timeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	L, e := r.e.state, r.e
	e.task, e.ctx = rec, ctx
	L.SetContext(ctx)
	defer func() {
		e.task, e.ctx = nil, r.ctx
		L.SetContext(r.ctx)
	}()
	if it.when != nil {
		ok, err := r.pcall(ctx, it.when, timeout)
		if err != nil {
			// Not a finding, whatever raised it: when only decides.
			return nil, fmt.Errorf("when: %s", err)
		}
		if !glua.LVAsBool(ok) {
			return nil, errSkipped
		}
	}
	return r.pcall(ctx, it.run, timeout)
}

func (r *hostRun) pcall(ctx context.Context, fn *glua.LFunction, timeout time.Duration) (glua.LValue, error) {
	ret, err := protectedCall(r.e.state, fn, r.e.vars)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && r.ctx.Err() == nil {
			return nil, fmt.Errorf("%s: timed out after %s", position(r.p.file, fnLine(fn)), timeout)
		}
		msg := ErrorMessage(err)
		if rec := r.e.task; rec != nil && rec.finding != "" && msg == rec.finding {
			return nil, &findingError{msg}
		}
		return nil, errors.New(msg)
	}
	return ret, nil
}

// findingError is a task or check that failed through expect or fail:
// it found something about the host. Every other error means the task
// or check itself broke, and its result says so (remote.Result.Error).
type findingError struct{ msg string }

func (f *findingError) Error() string { return f.msg }

func fnLine(fn *glua.LFunction) int {
	if fn.Proto == nil {
		return 0
	}
	return fn.Proto.LineDefined
}

// registered is what a later task finds in v[register].
func registered(L *glua.LState, res remote.Result, ret glua.LValue) *glua.LTable {
	t := L.NewTable()
	t.RawSetString("status", glua.LString(res.Status))
	t.RawSetString("changed", glua.LBool(res.Status == remote.StatusChanged))
	t.RawSetString("failed", glua.LBool(res.Status == remote.StatusFailed))
	t.RawSetString("skipped", glua.LBool(res.Status == remote.StatusSkipped))
	t.RawSetString("msg", glua.LString(res.Msg))
	t.RawSetString("result", ret)
	return t
}

// setVars fills the v table with playbook vars < inventory vars < -e,
// once their values have the shapes var_types declares, and then the
// magic variables (magic.go).
func (e *Env) setVars(pbVars *glua.LTable, types map[string]varType, o RunOptions) error {
	own, err := ownVars(pbVars)
	if err != nil {
		return err
	}
	layers := []varLayer{{"the playbook's vars", own}, {"the inventory", o.Vars}, {"-e", o.ExtraVars}}
	if err := checkVarTypes(types, layers); err != nil {
		return err
	}
	for k, v := range MergeVars(own, o.Vars, o.ExtraVars) {
		e.vars.RawSetString(k, ToLua(e.state, v))
	}
	e.setMagicVars(o)
	return nil
}
