// Package sshd is the sshd module: its Go API reads the OpenSSH server's
// effective configuration and ports (Config, Ports) and moves SSH to a
// new port without locking anyone out (MovePort), through the engine's
// gate; binding.go is its Lua binding. Parsing and planning are the pure
// core in remedy/lua/sshd.
package sshd

import (
	"fmt"
	"slices"

	"remedy/lua"
	"remedy/lua/change"
	"remedy/lua/remote"
	"remedy/lua/sshd"
)

// mainConfig is the file sshd reads, and where the planner starts.
const mainConfig = "/etc/ssh/sshd_config"

// warm is what Config and Ports read, and what MovePort reads before it
// changes anything: the main config file and where it really is (the
// gate's reads before a write), and the directory Debian's and Fedora's
// default Include names.
var warm = append([][]string{{"sshd", "-T"}, sshd.ListenersCommand},
	append(lua.WriteReads(mainConfig), sshd.Listing{Dir: "/etc/ssh/sshd_config.d", Depth: 1}.Command())...)

// Config runs sshd -T on the host. Playbooks ask for it from several
// tasks; only a command can change the files it reads, so the output is
// reused until one runs.
func Config(s change.Session) (sshd.Config, error) {
	out, err := s.QueryCached("sshd", "-T")
	if err != nil {
		return nil, err
	}
	if out.ExitCode != 0 {
		return nil, fmt.Errorf("%s: sshd -T: exit status %d: %s", s.Name(), out.ExitCode, remote.Excerpt(out.Stderr))
	}
	return sshd.ParseEffective(string(out.Stdout)), nil
}

// Ports are the ports sshd is configured for and the sockets it (or
// systemd for ssh.socket) listens on.
type Ports struct {
	Configured []int
	Listening  []sshd.Listener
}

// ReadPorts reads sshd's ports. The listening sockets are reused until a
// command runs, like sshd -T; MovePort, which waits for sshd to bind a
// new port, polls afresh.
func ReadPorts(s change.Session) (Ports, error) {
	configured, err := configuredPorts(s)
	if err != nil {
		return Ports{}, err
	}
	ls, err := readListeners(s, s.QueryCached)
	if err != nil {
		return Ports{}, err
	}
	var socketPorts []int
	if s.Facts().SSHSocket {
		socketPorts = configured
	}
	return Ports{Configured: configured, Listening: sshd.SSHD(ls, socketPorts)}, nil
}

// configuredPorts returns the ports sshd's configuration asks for; with
// socket activation ssh.socket's ListenStream= decides them.
func configuredPorts(s change.Session) ([]int, error) {
	if !s.Facts().SSHSocket {
		cfg, err := Config(s)
		if err != nil {
			return nil, err
		}
		return cfg.ListenPorts(), nil
	}
	streams, err := socketStreams(s)
	var ports []int
	for _, st := range streams {
		if p, ok := sshd.StreamPort(st); ok && !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	slices.Sort(ports)
	return ports, err
}

// socketStreams reads ssh.socket's ListenStream= lines. The unit files
// change only through a command, so the read is reused until one runs.
func socketStreams(s change.Session) ([]string, error) {
	out, err := s.QueryCached(sshd.SocketUnitCommand...)
	if err != nil {
		return nil, err
	}
	if out.ExitCode != 0 {
		return nil, fmt.Errorf("%s: systemctl cat ssh.socket: exit status %d: %s", s.Name(), out.ExitCode, remote.Excerpt(out.Stderr))
	}
	return sshd.ParseListenStreams(string(out.Stdout)), nil
}

// readListeners reads the listening sockets through query.
func readListeners(s change.Session, query func(args ...string) (remote.Output, error)) ([]sshd.Listener, error) {
	out, err := query(sshd.ListenersCommand...)
	if err != nil {
		return nil, err
	}
	if out.ExitCode != 0 {
		return nil, fmt.Errorf("%s: ss -Htlnp: exit status %d: %s", s.Name(), out.ExitCode, remote.Excerpt(out.Stderr))
	}
	ls, err := sshd.ParseListeners(string(out.Stdout))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name(), err)
	}
	return ls, nil
}
