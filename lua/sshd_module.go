package lua

import (
	"fmt"
	"slices"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua/remote"
	"remedy/lua/sshd"
)

// sshdWarm is what sshd.ports and sshd.config read, and what move_port
// reads before it changes anything: the main config file and its state
// (fileStateArgv: where it really is, its mode and owner),
// and the directory Debian's and Fedora's default Include names.
var sshdWarm = [][]string{
	{"sshd", "-T"}, sshd.ListenersCommand,
	{"cat", "--", sshdMainConfig}, fileStateArgv(sshdMainConfig),
	sshd.Listing{Dir: "/etc/ssh/sshd_config.d", Depth: 1}.Command(),
}

func init() {
	Register(Module{
		Name: "sshd",
		Warm: sshdWarm,
		Doc: `Reads the OpenSSH server's effective configuration and ports, and moves
SSH to a new port without locking anyone out: the firewall is opened and
the new port added next to the old one first; the old port goes only after
the controller has logged in on the new one over a fresh connection.`,
		Funcs: []Func{
			{
				Name:    "config",
				Returns: []Param{{"cfg", "table<string, string|string[]>", "lower-case keys; list-valued keywords (port, listenaddress, hostkey, acceptenv, ...) as lists"}},
				Doc:     "Returns the effective configuration (sshd -T). Runs in check mode too.",
				Call:    sshdConfig,
			},
			{
				Name:    "ports",
				Returns: []Param{{"ports", "remedy.SSHPorts", ""}},
				Doc:     "Returns the ports sshd is configured for and the sockets it listens on (ss). Runs in check mode too.",
				Call:    sshdPorts,
			},
			{
				Name:    "move_port",
				Params:  []Param{{"opts", "{to: integer, keep_22?: boolean, persist?: boolean}", "keep_22 keeps the current ports next to the new one; persist as firewall.allow's"}},
				Returns: []Param{{"res", "remedy.SSHMove", ""}},
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
				Call: sshdMovePort,
			},
		},
		Types: []Class{
			{Name: "remedy.SSHPorts", Doc: "What sshd listens on.", Fields: []Param{
				{"configured", "integer[]", "ports of the sockets the configuration asks for"},
				{"listening", "remedy.SSHListener[]", "sockets held by sshd (or by systemd for ssh.socket)"},
			}},
			{Name: "remedy.SSHListener", Doc: "A listening socket.", Fields: []Param{
				{"addr", "string", `"0.0.0.0", "::", "*" for dual-stack`},
				{"port", "integer", ""},
				{"process", "string", "the owning process's name"},
				{"pid", "integer", ""},
			}},
			{Name: "remedy.SSHMove", Doc: "What move_port did, or would do in check mode.", Fields: []Param{
				{"changed", "boolean", ""},
				{"from", "integer[]", "the ports before"},
				{"ports", "integer[]", "the ports after"},
				{"inventory", "string", `the inventory change to make, e.g. "ansible_port=33001"; "" when unchanged`},
			}},
		},
	})
}

// effectiveConfig runs sshd -T on the host. Playbooks ask for it from
// several tasks; only a command can change the files it reads, so the
// output is reused until one runs.
func effectiveConfig(e *Env) (sshd.Config, error) {
	out, err := e.QueryCached("sshd", "-T")
	if err != nil {
		return nil, err
	}
	if out.ExitCode != 0 {
		return nil, fmt.Errorf("%s: sshd -T: exit status %d: %s", e.Name(), out.ExitCode, remote.Excerpt(out.Stderr))
	}
	return sshd.ParseEffective(string(out.Stdout)), nil
}

func sshdConfig(e *Env, L *glua.LState) int {
	cfg, err := effectiveConfig(e)
	if err != nil {
		e.Fail(err)
	}
	t := L.CreateTable(0, len(cfg))
	for k, vs := range cfg {
		if cfg.MultiValued(k) {
			t.RawSetString(k, ToLua(L, vs))
		} else {
			t.RawSetString(k, glua.LString(cfg.Get(k)))
		}
	}
	L.Push(t)
	return 1
}

func sshdPorts(e *Env, L *glua.LState) int {
	configured, err := configuredPorts(e)
	if err != nil {
		e.Fail(err)
	}
	// Reused until a command runs, like sshd -T; move_port, which waits
	// for sshd to bind a new port, polls with listeners, afresh.
	ls, err := readListeners(e, e.QueryCached)
	if err != nil {
		e.Fail(err)
	}
	var socketPorts []int
	if e.Facts().SSHSocket {
		socketPorts = configured
	}
	var listening []any
	for _, l := range sshd.SSHD(ls, socketPorts) {
		p := l.Procs[0]
		if i := slices.IndexFunc(l.Procs, func(p sshd.Proc) bool { return p.Name == "sshd" }); i >= 0 {
			p = l.Procs[i]
		}
		listening = append(listening, map[string]any{"addr": l.Addr, "port": l.Port, "process": p.Name, "pid": p.PID})
	}
	L.Push(ToLua(L, map[string]any{"configured": intsToAny(configured), "listening": listening}))
	return 1
}

// configuredPorts returns the ports sshd's configuration asks for; with
// socket activation ssh.socket's ListenStream= decides them.
func configuredPorts(e *Env) ([]int, error) {
	if !e.Facts().SSHSocket {
		cfg, err := effectiveConfig(e)
		if err != nil {
			return nil, err
		}
		return cfg.ListenPorts(), nil
	}
	streams, err := socketStreams(e)
	var ports []int
	for _, s := range streams {
		if p, ok := sshd.StreamPort(s); ok && !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	slices.Sort(ports)
	return ports, err
}

// socketStreams reads ssh.socket's ListenStream= lines. The unit files
// change only through a command, so the read is reused until one runs.
func socketStreams(e *Env) ([]string, error) {
	out, err := e.QueryCached(sshd.SocketUnitCommand...)
	if err != nil {
		return nil, err
	}
	if out.ExitCode != 0 {
		return nil, fmt.Errorf("%s: systemctl cat ssh.socket: exit status %d: %s", e.Name(), out.ExitCode, remote.Excerpt(out.Stderr))
	}
	return sshd.ParseListenStreams(string(out.Stdout)), nil
}

// listeners reads the listening sockets afresh, for a caller polling for
// a change no command of ours makes synchronously (sshd binding a port).
func listeners(e *Env) ([]sshd.Listener, error) {
	return readListeners(e, e.Query)
}

// readListeners reads the listening sockets through query.
func readListeners(e *Env, query func(args ...string) (remote.Output, error)) ([]sshd.Listener, error) {
	out, err := query(sshd.ListenersCommand...)
	if err != nil {
		return nil, err
	}
	if out.ExitCode != 0 {
		return nil, fmt.Errorf("%s: ss -Htlnp: exit status %d: %s", e.Name(), out.ExitCode, remote.Excerpt(out.Stderr))
	}
	ls, err := sshd.ParseListeners(string(out.Stdout))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name(), err)
	}
	return ls, nil
}

func intsToAny(ports []int) []any {
	out := make([]any, len(ports))
	for i, p := range ports {
		out[i] = p
	}
	return out
}
