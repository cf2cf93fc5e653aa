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
	// Into a host, socat is nsenter's child; elsewhere nsenter becomes it.
	socat := func() int {
		if !forks {
			return cmd.Process.Pid
		}
		if below := descendants(cmd.Process.Pid); len(below) > 0 {
			return below[0]
		}
		return 0 // not forked yet
	}
	deadline := time.Now().Add(5 * time.Second)
	for !listening(socat(), proto, port) {
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

// listening reports whether pid holds a socket bound to port: TCP in
// state LISTEN, or UDP. The socket must be one of pid's own open files,
// not only a line with the port in its namespace's table: until nsenter
// has entered the host that table is the machine's, and a socket there or
// one a process before it left in the host is not this listener.
func listening(pid int, proto string, port int) bool {
	if pid == 0 {
		return false
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, proto))
	if err != nil {
		return false
	}
	inodes := listeners(bufio.NewScanner(f), proto, port)
	f.Close()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false
	}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok && inodes[strings.TrimSuffix(inode, "]")] {
			return true
		}
	}
	return false
}

// Listening reports whether a socket in the host is bound to port: TCP in
// state LISTEN, or UDP. A probe refused with a reset or a port
// unreachable asks it: a host sends those for a port nobody listens on,
// as a reject rule does.
func (l *Lab) Listening(host, proto string, port int) (bool, error) {
	var found bool
	err := l.InHost(host, func() error {
		// The calling thread's own table: the host's.
		f, err := os.Open("/proc/thread-self/net/" + proto)
		if err != nil {
			return err
		}
		defer f.Close()
		found = len(listeners(bufio.NewScanner(f), proto, port)) > 0
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("%s: listening on %s/%d: %w", host, proto, port, err)
	}
	return found, nil
}

// listeners scans a /proc/net/tcp or udp table for the sockets bound to
// port, TCP in state LISTEN (0A) or any UDP, and returns their inodes.
func listeners(sc *bufio.Scanner, proto string, port int) map[string]bool {
	want := fmt.Sprintf(":%04X", port)
	inodes := map[string]bool{}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || !strings.HasSuffix(f[1], want) {
			continue
		}
		if proto == "udp" || f[3] == "0A" {
			inodes[f[9]] = true
		}
	}
	return inodes
}
