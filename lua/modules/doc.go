// Package modules holds the Lua modules playbooks call, one package each:
// cmd, core (expect, fail, log, template, json), file, firewall, host,
// net, service, sshd. The engine (package lua) knows none of them; each
// registers itself, and modules/all links them all into the CLI.
//
// To add a module, make a package here that the engine does not import:
//
//   - Its Go API does the work: functions that take a change.Session (the
//     host's facts, its reads, which run in check mode too, and Apply, the
//     engine's one gate for changes) and return values and errors. It never
//     asks whether the task runs in check mode: every change is a
//     change.Command, change.File, change.Step or change.Reconnect handed
//     to Apply (or to a Sequence, when a failure must roll back what ran),
//     and the gate (lua/gate.go) records it, and in check mode only that.
//   - binding.go registers it: lua.Register(lua.Module{Name, Doc, Funcs,
//     Types, Warm}) from an init function. Each Func converts its Lua
//     arguments (lua.TableArg and its readers raise errors that name the
//     function and the key), calls the Go API with the *lua.Env (which is
//     a change.Session), and pushes the result or raises the error with
//     e.Fail. Warm lists the reads most playbooks need from the module, so
//     that they ride along with the facts.
//   - A blank import in modules/all links it into the CLI, and its docs
//     come from the registration: `remedy doc NAME`, `remedy lint`, and
//     lua/types/remedy.lua (regenerate it with
//     `go test ./lua -run TestLuaLS -update`).
//   - Its tests run playbooks with remedy/lua/luatest: a LocalHost that runs
//     commands on this machine, a FixtureHost that answers from captured
//     output.
//
// Pure logic a module needs (parsers, planners) goes in a package of its
// own that imports no Lua and does no I/O, as lua/firewall and lua/sshd
// do for the firewall and sshd modules.
package modules
