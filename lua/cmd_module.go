package lua

import (
	"fmt"
	"slices"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua/change"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

func init() {
	optsType := "{ok_rc?: integer[], stdin?: string}"
	Register(Module{
		Name: "cmd",
		Doc: `Runs commands on the host. A command is a list of arguments, never a
shell string: each argument is quoted, so values from inventories and -e
cannot inject shell code. Use {"sh", "-c", script} when you need a shell.`,
		Funcs: []Func{
			{
				Name:    "query",
				Params:  []Param{{"argv", "string[]", `the command and its arguments, e.g. {"sshd", "-T"}`}, {"opts?", optsType, "ok_rc: exit statuses that are not a failure (default {0}); stdin: input"}},
				Returns: []Param{{"res", "remedy.CmdResult", ""}},
				Doc:     "Runs a read-only command, in check mode too, and never counts as a change. Fails the task on an exit status not in ok_rc.",
				Call:    cmdQuery,
			},
			{
				Name: "run",
				Params: []Param{{"argv", "string[]", "the command and its arguments"},
					{"opts?", "{creates?: string, removes?: string, ok_rc?: integer[], stdin?: string}", "creates: skip when this path exists; removes: skip unless it exists"}},
				Returns: []Param{{"res", "remedy.CmdResult", "in check mode rc is 0 and the output empty, as nothing ran"}},
				Doc:     "Runs a command that changes the host, and counts as a change. In check mode it is only reported. Fails the task on an exit status not in ok_rc.",
				Call:    cmdRun,
			},
		},
		Types: []Class{{
			Name: "remedy.CmdResult",
			Doc:  "The outcome of a command.",
			Fields: []Param{
				{"rc", "integer", "exit status"},
				{"stdout", "string", ""},
				{"stderr", "string", ""},
				{"skipped", "boolean", "cmd.run did not run it because of creates or removes"},
			},
		}},
	})
}

func cmdQuery(e *Env, L *glua.LState) int {
	argv := listArg(L, L.Get(1), "cmd.query: argv")
	o := tableArg(L, 2, "cmd.query", true, "ok_rc", "stdin")
	out, err := e.QueryOwn(argv, stdinOpt(o))
	return e.pushCmdResult(L, "cmd.query", argv, out, err, o, false)
}

func cmdRun(e *Env, L *glua.LState) int {
	argv := listArg(L, L.Get(1), "cmd.run: argv")
	o := tableArg(L, 2, "cmd.run", true, "creates", "removes", "ok_rc", "stdin")
	if skip := e.runGuard(o.str("creates", false), o.str("removes", false)); skip {
		return e.pushCmdResult(L, "cmd.run", argv, remote.Output{}, nil, o, true)
	}
	line := shell.Join(argv...)
	res, err := e.Apply(change.Command{Argv: argv, Stdin: stdinOpt(o), AnyStatus: true,
		Say: change.Say{Done: "ran " + line, Would: "would run " + line}})
	return e.pushCmdResult(L, "cmd.run", argv, res.Output, err, o, false)
}

// runGuard reports whether creates already exists or removes is already
// gone, so cmd.run has nothing to do.
func (e *Env) runGuard(creates, removes string) bool {
	for _, g := range []struct {
		path        string
		skipIfThere bool
	}{{creates, true}, {removes, false}} {
		if g.path == "" {
			continue
		}
		out, err := e.Query("test", "-e", g.path)
		if err != nil {
			e.Fail(err)
		}
		if (out.ExitCode == 0) == g.skipIfThere {
			return true
		}
	}
	return false
}

func stdinOpt(o opts) []byte {
	if s := o.str("stdin", false); s != "" {
		return []byte(s)
	}
	return nil
}

func (e *Env) pushCmdResult(L *glua.LState, fn string, argv []string, out remote.Output, err error, o opts, skipped bool) int {
	if err != nil {
		e.Fail(err)
	}
	ok := []int{0}
	if codes := o.strings("ok_rc"); codes != nil {
		ok = ok[:0]
		for _, c := range codes {
			var n int
			if _, serr := fmt.Sscan(c, &n); serr != nil {
				argError(L, fn, "ok_rc: %q is not an exit status", c)
			}
			ok = append(ok, n)
		}
	}
	if !slices.Contains(ok, out.ExitCode) {
		e.Fail(fmt.Errorf("%s: %s: exit status %d: %s", fn, shell.Join(argv...), out.ExitCode, remote.Excerpt(out.Stderr)))
	}
	t := L.NewTable()
	t.RawSetString("rc", glua.LNumber(out.ExitCode))
	t.RawSetString("stdout", glua.LString(out.Stdout))
	t.RawSetString("stderr", glua.LString(out.Stderr))
	t.RawSetString("skipped", glua.LBool(skipped))
	L.Push(t)
	return 1
}
