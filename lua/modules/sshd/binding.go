package sshd

import (
	"slices"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua"
	"remedy/lua/sshd"
)

func init() {
	lua.Register(lua.Module{
		Name: "sshd",
		Warm: warm,
		Doc: `Reads the OpenSSH server's effective configuration and ports, and moves
SSH to a new port without locking anyone out: the firewall is opened and
the new port added next to the old one first; the old port goes only after
the controller has logged in on the new one over a fresh connection.`,
		Funcs: []lua.Func{
			{
				Name:    "config",
				Returns: []lua.Param{{Name: "cfg", Type: "table<string, string|string[]>", Doc: "lower-case keys; list-valued keywords (port, listenaddress, hostkey, acceptenv, ...) as lists"}},
				Doc:     "Returns the effective configuration (sshd -T). Runs in check mode too.",
				Call:    configBinding,
			},
			{
				Name:    "ports",
				Returns: []lua.Param{{Name: "ports", Type: "remedy.SSHPorts"}},
				Doc:     "Returns the ports sshd is configured for and the sockets it listens on (ss). Runs in check mode too.",
				Call:    portsBinding,
			},
			{
				Name:    "move_port",
				Params:  []lua.Param{{Name: "opts", Type: "{to: integer, keep_22?: boolean, persist?: boolean}", Doc: "keep_22 keeps the current ports next to the new one; persist as firewall.allow's"}},
				Returns: []lua.Param{{Name: "res", Type: "remedy.SSHMove"}},
				Doc: `Moves sshd to port to: plans from the real config files (Include'd
drop-ins too), opens the port in the firewall now and in what boot loads
(refusing, before anything changes, when a reboot would not keep it
open), labels it for SELinux,
writes the old and new ports (and the ssh.socket drop-in), validates with
sshd -t, reloads, dials the new port from the controller, and only then
removes the old ports, under a timed revert on the host, and moves the
connection. Any failure restores the files, reloads and confirms the old
port answers. Check mode shows the plan: diffs, firewall and SELinux
steps.`,
				Call: movePortBinding,
			},
		},
		Types: []lua.Class{
			{Name: "remedy.SSHPorts", Doc: "What sshd listens on.", Fields: []lua.Param{
				{Name: "configured", Type: "integer[]", Doc: "ports of the sockets the configuration asks for"},
				{Name: "listening", Type: "remedy.SSHListener[]", Doc: "sockets held by sshd (or by systemd for ssh.socket)"},
			}},
			{Name: "remedy.SSHListener", Doc: "A listening socket.", Fields: []lua.Param{
				{Name: "addr", Type: "string", Doc: `"0.0.0.0", "::", "*" for dual-stack`},
				{Name: "port", Type: "integer"},
				{Name: "process", Type: "string", Doc: "the owning process's name"},
				{Name: "pid", Type: "integer"},
			}},
			{Name: "remedy.SSHMove", Doc: "What move_port did, or would do in check mode.", Fields: []lua.Param{
				{Name: "changed", Type: "boolean"},
				{Name: "from", Type: "integer[]", Doc: "the ports before"},
				{Name: "ports", Type: "integer[]", Doc: "the ports after"},
				{Name: "inventory", Type: "string", Doc: `the inventory change to make, e.g. "ansible_port=33001"; "" when unchanged`},
			}},
		},
	})
}

func configBinding(e *lua.Env, L *glua.LState) int {
	cfg, err := Config(e)
	if err != nil {
		e.Fail(err)
	}
	t := L.CreateTable(0, len(cfg))
	for k, vs := range cfg {
		if cfg.MultiValued(k) {
			t.RawSetString(k, lua.ToLua(L, vs))
		} else {
			t.RawSetString(k, glua.LString(cfg.Get(k)))
		}
	}
	L.Push(t)
	return 1
}

func portsBinding(e *lua.Env, L *glua.LState) int {
	ports, err := ReadPorts(e)
	if err != nil {
		e.Fail(err)
	}
	var listening []any
	for _, l := range ports.Listening {
		p := l.Procs[0]
		if i := slices.IndexFunc(l.Procs, func(p sshd.Proc) bool { return p.Name == "sshd" }); i >= 0 {
			p = l.Procs[i]
		}
		listening = append(listening, map[string]any{"addr": l.Addr, "port": l.Port, "process": p.Name, "pid": p.PID})
	}
	L.Push(lua.ToLua(L, map[string]any{"configured": intsToAny(ports.Configured), "listening": listening}))
	return 1
}

func movePortBinding(e *lua.Env, L *glua.LState) int {
	o := lua.TableArg(L, 1, "sshd.move_port", false, "to", "keep_22", "persist")
	to := o.Number("to", 0)
	if to != float64(int(to)) || to < 1 || to > 65535 {
		lua.ArgError(L, "sshd.move_port", "to must be a port number, not %v", to)
	}
	m, err := MovePort(e, sshd.MoveRequest{To: int(to), Keep: o.Bool("keep_22", false)}, o.Bool("persist", false))
	if err != nil {
		e.Fail(err)
	}
	L.Push(lua.ToLua(L, map[string]any{"changed": m.Changed, "from": intsToAny(m.From), "ports": intsToAny(m.Ports), "inventory": m.Inventory}))
	return 1
}

func intsToAny(ports []int) []any {
	out := make([]any, len(ports))
	for i, p := range ports {
		out[i] = p
	}
	return out
}
