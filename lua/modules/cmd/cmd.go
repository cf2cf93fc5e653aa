// Package cmd is the cmd module: a playbook's own commands, cmd.query to
// read (in check mode too) and cmd.run to change the host, through the
// gate.
package cmd

import (
	"fmt"
	"slices"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua"
	"remedy/lua/change"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

func init() {
	optsType := "{ok_rc?: integer[], stdin?: string}"
	lua.Register(lua.Module{
		Name: "cmd",
		Doc: `Runs commands on the host. A command is a list of arguments, never a
shell string: each argument is quoted, so values from inventories and -e
cannot inject shell code. Use {"sh", "-c", script} when you need a shell.`,
		Funcs: []lua.Func{
			{
				Name:    "query",
				Params:  []lua.Param{{Name: "argv", Type: "string[]", Doc: `the command and its arguments, e.g. {"sshd", "-T"}`}, {Name: "opts?", Type: optsType, Doc: "ok_rc: exit statuses that are not a failure (default {0}); stdin: input"}},
				Returns: []lua.Param{{Name: "res", Type: "remedy.CmdResult"}},
				Doc:     "Runs a read-only command, in check mode too, and never counts as a change. Fails the task on an exit status not in ok_rc.",
				Call:    cmdQuery,
			},
			{
				Name: "run",
				Params: []lua.Param{{Name: "argv", Type: "string[]", Doc: "the command and its arguments"},
					{Name: "opts?", Type: "{creates?: string, removes?: string, ok_rc?: integer[], stdin?: string}", Doc: "creates: skip when this path exists; removes: skip unless it exists"}},
				Returns: []lua.Param{{Name: "res", Type: "remedy.CmdResult", Doc: "in check mode rc is 0 and the output empty, as nothing ran"}},
				Doc:     "Runs a command that changes the host, and counts as a change. In check mode it is only reported. Fails the task on an exit status not in ok_rc.",
				Call:    cmdRun,
			},
		},
		Types: []lua.Class{{
			Name: "remedy.CmdResult",
			Doc:  "The outcome of a command.",
			Fields: []lua.Param{
				{Name: "rc", Type: "integer", Doc: "exit status"},
				{Name: "stdout", Type: "string"},
				{Name: "stderr", Type: "string"},
				{Name: "skipped", Type: "boolean", Doc: "cmd.run did not run it because of creates or removes"},
			},
		}},
	})
}

func cmdQuery(e *lua.Env, L *glua.LState) int {
	argv := lua.ListArg(L, L.Get(1), "cmd.query: argv")
	o := lua.TableArg(L, 2, "cmd.query", true, "ok_rc", "stdin")
	out, err := e.QueryOwn(argv, stdinOpt(o))
	return pushCmdResult(e, L, "cmd.query", argv, out, err, o, false)
}

func cmdRun(e *lua.Env, L *glua.LState) int {
	argv := lua.ListArg(L, L.Get(1), "cmd.run: argv")
	o := lua.TableArg(L, 2, "cmd.run", true, "creates", "removes", "ok_rc", "stdin")
	if skip := runGuard(e, o.Str("creates", false), o.Str("removes", false)); skip {
		return pushCmdResult(e, L, "cmd.run", argv, remote.Output{}, nil, o, true)
	}
	line := shell.Join(argv...)
	res, err := e.Apply(change.Command{Argv: argv, Stdin: stdinOpt(o), AnyStatus: true,
		Say: change.Say{Done: "ran " + line, Would: "would run " + line}})
	return pushCmdResult(e, L, "cmd.run", argv, res.Output, err, o, false)
}

// runGuard reports whether creates already exists or removes is already
// gone, so cmd.run has nothing to do.
func runGuard(e *lua.Env, creates, removes string) bool {
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

func stdinOpt(o lua.Opts) []byte {
	if s := o.Str("stdin", false); s != "" {
		return []byte(s)
	}
	return nil
}

func pushCmdResult(e *lua.Env, L *glua.LState, fn string, argv []string, out remote.Output, err error, o lua.Opts, skipped bool) int {
	if err != nil {
		e.Fail(err)
	}
	ok := []int{0}
	if codes := o.Strings("ok_rc"); codes != nil {
		ok = ok[:0]
		for _, c := range codes {
			var n int
			if _, serr := fmt.Sscan(c, &n); serr != nil {
				lua.ArgError(L, fn, "ok_rc: %q is not an exit status", c)
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
