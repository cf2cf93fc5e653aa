package labkit

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// Reach sends from the controller (the machine's namespace) to addr, an
// IPv4 address: a TCP connect, or a UDP datagram that must come back
// (Listen's UDP echoes). What failed it is ProbeTCP's or ProbeUDP's.
func (l *Lab) Reach(addr, proto string, port int, timeout time.Duration) error {
	return Reach(addr, proto, port, timeout)
}

// Reach is Lab.Reach for labs labkit does not build (tests/vmlab's VMs).
func Reach(addr, proto string, port int, timeout time.Duration) error {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return fmt.Errorf("reach %s/%d: %w", proto, port, err)
	}
	to := netip.AddrPortFrom(ip, uint16(port))
	switch proto {
	case "tcp":
		if err := ProbeTCP(to, timeout); err != nil {
			return fmt.Errorf("reach tcp %s: %w", to, err)
		}
		return nil
	case "udp":
		const probe = "remedy-lab probe"
		echo, _, err := ProbeUDP(to, []byte(probe), timeout)
		if err != nil {
			return fmt.Errorf("reach udp %s: %w", to, err)
		}
		if string(echo) != probe {
			return fmt.Errorf("reach udp %s: echo %q is not the probe", to, echo)
		}
		return nil
	}
	return fmt.Errorf("reach %s: unknown protocol %q (tcp or udp)", to, proto)
}

// InHost runs fn in the host's network namespace: sockets fn opens (a
// listener on many ports at once, say) live in the host and outlast fn.
func (l *Lab) InHost(host string, fn func() error) error {
	h, err := l.st.host(host)
	if err != nil {
		return err
	}
	return inNetns("/run/netns/"+h.Netns, fn)
}

// inNetns runs fn on an OS thread switched into the network namespace
// pinned at path; sockets fn opens live there. A thread that cannot switch
// back is never unlocked, so Go discards it instead of reusing it.
func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			self, err := os.Open("/proc/thread-self/ns/net")
			if err != nil {
				return err
			}
			defer self.Close()
			target, err := os.Open(path)
			if err != nil {
				return err
			}
			defer target.Close()
			if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("enter %s: %w", path, err)
			}
			ferr := fn()
			if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err == nil {
				runtime.UnlockOSThread()
			}
			return ferr
		}()
	}()
	return <-errc
}

// sshBanner connects to addr:22 and reads the server's identification.
func sshBanner(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "22"), timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read banner from %s: %w", addr, err)
	}
	if !strings.HasPrefix(line, "SSH-") {
		return fmt.Errorf("%s:22 answers %q, not SSH", addr, line)
	}
	return nil
}

// Login dials addr:port with cfg and runs true: whether a login gets
// through, as an operator's next ssh would find it.
func Login(addr string, port int, cfg *ssh.ClientConfig) error {
	c, err := ssh.Dial("tcp", net.JoinHostPort(addr, strconv.Itoa(port)), cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Run("true")
}

// sshAnswers checks h's sshd: from the controller, or for a hidden host
// from inside its own namespace, which the controller cannot reach.
func sshAnswers(h hostState) error {
	check := func() error { return sshBanner(h.Addr, 2*time.Second) }
	if h.Hidden {
		return inNetns("/run/netns/"+h.Netns, check)
	}
	return check()
}

// waitSSH waits until h's sshd answers.
func waitSSH(ctx context.Context, h hostState) error {
	deadline := time.Now().Add(time.Minute) // firewalld hosts start slowly on a busy machine
	for {
		err := sshAnswers(h)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: sshd does not answer on %s:22: %w", h.Name, h.Addr, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: wait for sshd: %w", h.Name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// answers checks that every host's sshd and the stand-in still answer.
func (l *Lab) answers() error {
	for _, h := range l.st.Hosts {
		if err := sshAnswers(h); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	return Reach(l.License, "tcp", 443, 2*time.Second)
}
