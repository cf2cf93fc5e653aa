package labkit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Exec runs argv as root inside the host's network, mount, UTS and PID
// namespaces (not over SSH), for test setup and inspection. It returns
// standard output; a failure's error carries standard error. Pids it
// sees (in ss -p, a pid file) are the host's, as over SSH: signal them
// from inside the host.
func (l *Lab) Exec(ctx context.Context, host string, argv ...string) ([]byte, error) {
	h, err := l.st.host(host)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "nsenter", append(l.enter(h), argv...)...)
	cmd.Env = []string{"PATH=" + hostPath, "HOME=/root", "LANG=C"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	// nsenter forks to enter the PID namespace: cancelling kills the
	// command, and nsenter, having reaped it, exits with its status.
	cmd.Cancel = func() error { return killEntered(cmd.Process.Pid) }
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %s: %w: %s", host, strings.Join(argv, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// Netns is the file of the host's network namespace, for commands run on
// the machine: `ip link set X netns PATH` moves a link into the host.
// (Inside the host, pid 1 is the host's own init, so `netns 1` names the
// host's namespace, not the machine's.)
func (l *Lab) Netns(host string) (string, error) {
	h, err := l.st.host(host)
	if err != nil {
		return "", err
	}
	return "/run/netns/" + h.Netns, nil
}

// enter is nsenter's arguments for entering h, up to the command.
func (l *Lab) enter(h *hostState) []string {
	return []string{
		"--net=/run/netns/" + h.Netns,
		"--mount=" + l.st.mountNS(h.Name),
		"--uts=" + l.st.utsNS(h.Name),
		"--pid=" + l.st.pidNS(h.Name),
		"--",
	}
}

// Listen starts a listener on port inside the host: TCP accepts (and
// echoes), UDP echoes each datagram back. stop ends it.
func (l *Lab) Listen(host, proto string, port int) (stop func(), err error) {
	h, err := l.st.host(host)
	if err != nil {
		return nil, err
	}
	return listen(host, l.enter(h), true, proto, port)
}

// PeerListen starts a listener in the licensing stand-in's namespace, the
// "outside" egress tests try to reach; the stand-in's address is l.License.
func (l *Lab) PeerListen(proto string, port int) (stop func(), err error) {
	enter := []string{"--net=/run/netns/" + netnsName(l.st.Slot, licenseName), "--"}
	return listen("licensing stand-in", enter, false, proto, port)
}

// listen runs socat through nsenter, in a process group of its own, which
// stop kills. Into a host (forks) nsenter forks socat into the host's PID
// namespace, and stop kills socat first (see killEntered); elsewhere
// nsenter execs socat in place. Either way the child's pid is in the
// namespace, so /proc/PID/net shows the namespace's sockets.
func listen(where string, enter []string, forks bool, proto string, port int) (func(), error) {
	var addr string
	switch proto {
	case "tcp":
		addr = fmt.Sprintf("TCP-LISTEN:%d,fork,reuseaddr", port)
	case "udp":
		addr = fmt.Sprintf("UDP-RECVFROM:%d,fork,reuseaddr", port)
	default:
		return nil, fmt.Errorf("%s: listen: unknown protocol %q (tcp or udp)", where, proto)
	}
	cmd := exec.Command("nsenter", append(enter, "socat", addr, "PIPE")...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: listen on %s/%d: %w", where, proto, port, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	stop := func() {
		select {
		case <-exited: // reaped: its pid may be another process's now
			return
		default:
		}
		if forks {
			killEntered(cmd.Process.Pid)
			select {
			case <-exited:
				return
			case <-time.After(5 * time.Second):
			}
		}
		// socat and its children, for the connections it accepted.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	deadline := time.Now().Add(5 * time.Second)
	for !listening(cmd.Process.Pid, proto, port) {
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("%s: listen on %s/%d: not listening after 5s: %s",
				where, proto, port, bytes.TrimSpace(stderr.Bytes()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return stop, nil
}

// killEntered kills what nsenter (pid) forked into a host's PID namespace,
// and their descendants (socat's, for the connections it accepted); nsenter,
// having reaped its child, exits on its own. Were nsenter killed first, its
// child would be orphaned to the machine's init, outside the host, which
// need not reap it: the host would keep a zombie. Before nsenter has forked,
// it is nsenter that is killed.
func killEntered(pid int) error {
	below := descendants(pid)
	if len(below) == 0 {
		return syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, p := range below {
		syscall.Kill(p, syscall.SIGKILL)
	}
	return nil
}

// descendants lists pid's children, theirs, and so on.
func descendants(pid int) []int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if child, err := strconv.Atoi(f); err == nil {
			out = append(append(out, child), descendants(child)...)
		}
	}
	return out
}

// listening reports whether the namespace of pid has a socket bound to
// port: TCP in state LISTEN (0A), or any UDP socket.
func listening(pid int, proto string, port int) bool {
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, proto))
	if err != nil {
		return false
	}
	defer f.Close()
	return hasListener(bufio.NewScanner(f), proto, port)
}

// hasListener scans a /proc/net/tcp or udp table.
func hasListener(sc *bufio.Scanner, proto string, port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasSuffix(f[1], want) {
			continue
		}
		if proto == "udp" || f[3] == "0A" {
			return true
		}
	}
	return false
}
