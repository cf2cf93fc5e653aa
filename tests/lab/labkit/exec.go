package labkit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Exec runs argv as root inside the host's network, mount and UTS
// namespaces (not over SSH), for test setup and inspection. It returns
// standard output; a failure's error carries standard error.
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
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %s: %w: %s", host, strings.Join(argv, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// enter is nsenter's arguments for entering h, up to the command.
func (l *Lab) enter(h *hostState) []string {
	return []string{
		"--net=/run/netns/" + h.Netns,
		"--mount=" + l.st.mountNS(h.Name),
		"--uts=" + l.st.utsNS(h.Name),
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
	return listen(host, l.enter(h), proto, port)
}

// PeerListen starts a listener in the licensing stand-in's namespace, the
// "outside" egress tests try to reach; the stand-in's address is l.License.
func (l *Lab) PeerListen(proto string, port int) (stop func(), err error) {
	enter := []string{"--net=/run/netns/" + netnsName(l.st.Slot, licenseName), "--"}
	return listen("licensing stand-in", enter, proto, port)
}

// listen runs socat through nsenter, which execs it in place, so the
// child's pid is socat's and /proc/PID/net shows the namespace's sockets.
func listen(where string, enter []string, proto string, port int) (func(), error) {
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
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
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
