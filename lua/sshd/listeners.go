package sshd

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Listener is one listening TCP socket as `ss -Htlnp` shows it.
type Listener struct {
	Addr  string // "0.0.0.0", "::", "198.18.0.5"; "*" for a dual-stack socket
	Port  int
	Procs []Proc // the processes holding the socket
}

// Proc is a process that holds a socket.
type Proc struct {
	Name string
	PID  int
}

// ListenersCommand is the argv that lists listening TCP sockets with their
// owning processes, without a header and without resolving names.
var ListenersCommand = []string{"ss", "-Htlnp"}

var procRE = regexp.MustCompile(`\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=\d+\)`)

// ParseListeners reads `ss -Htlnp` output. Lines that are not LISTEN sockets
// are skipped; a LISTEN line whose local address cannot be read is an error
// naming the line.
func ParseListeners(out string) ([]Listener, error) {
	var ls []Listener
	for i, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "LISTEN" {
			continue
		}
		addr, port, err := splitLocal(f[3])
		if err != nil {
			return nil, fmt.Errorf("ss output line %d: %w", i+1, err)
		}
		l := Listener{Addr: addr, Port: port}
		for _, m := range procRE.FindAllStringSubmatch(line, -1) {
			pid, _ := strconv.Atoi(m[2])
			l.Procs = append(l.Procs, Proc{Name: m[1], PID: pid})
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// splitLocal splits ss's local address column: "0.0.0.0:22", "[::]:22",
// "*:22", and with an interface scope "[fe80::1]%eth0:22" or
// "0.0.0.0%eth0:22".
func splitLocal(s string) (string, int, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("local address %q has no port", s)
	}
	port, err := strconv.Atoi(s[i+1:])
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("local address %q: bad port", s)
	}
	addr := s[:i]
	if j := strings.IndexByte(addr, '%'); j >= 0 {
		addr = addr[:j]
	}
	return strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"), port, nil
}

// SSHD keeps the listeners held by sshd and, for a socket-activated sshd,
// those systemd holds on one of socketPorts (ssh.socket's ports).
func SSHD(ls []Listener, socketPorts []int) []Listener {
	var out []Listener
	for _, l := range ls {
		if slices.ContainsFunc(l.Procs, func(p Proc) bool {
			return p.Name == "sshd" || p.Name == "systemd" && slices.Contains(socketPorts, l.Port)
		}) {
			out = append(out, l)
		}
	}
	return out
}

// ListeningOn reports whether some listener in ls accepts on port.
func ListeningOn(ls []Listener, port int) bool {
	for _, l := range ls {
		if l.Port == port {
			return true
		}
	}
	return false
}
