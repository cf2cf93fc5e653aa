// Package lua is remedy's playbook engine: it loads a playbook written in
// Lua (playbook.go), checks its shape (spec.go) and lints it (lint.go),
// runs its tasks, checks and handlers on one host in a sandboxed VM
// (run.go, sandbox.go), gathers the host's facts in one round trip with
// the playbook's prefetch (gather.go, facts.go, prefetch.go), and holds
// the registry the modules in lua/modules register with (module.go), from
// which `remedy doc` and the LuaLS definitions are written (docgen.go).
//
// A module sees one host through Env (env.go), a change.Session: its
// facts, its reads, and Apply, the gate (gate.go) through which alone a
// module changes the host. Check mode is enforced there and nowhere else.
// The engine talks to the host only through remote.Host, which the
// runner's SSH connection satisfies.
package lua
