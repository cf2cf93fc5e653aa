package vmkit

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"remedy/lua/shell"
)

// Under emulation a key exchange takes seconds: a handshake gets a
// minute, a TCP connect a few seconds (a VM that is down answers nothing).
const (
	connectTimeout   = 3 * time.Second
	handshakeTimeout = time.Minute
)

// Exec runs argv as root in the VM over a fresh SSH connection to its
// sshd (on its SSHPort), quoted with remedy's one quoting helper. It returns
// standard output; a failure's error carries standard error.
func (l *Lab) Exec(ctx context.Context, name string, argv ...string) ([]byte, error) {
	v, err := l.st.vm(name)
	if err != nil {
		return nil, err
	}
	return l.execOn(ctx, v, v.Port, shell.Join(argv...))
}

// SSHPort is where the lab last found the VM's sshd: 22 after its first
// boot and after a Reset, the port that answered after a Reboot or Start.
func (l *Lab) SSHPort(name string) (int, error) {
	v, err := l.st.vm(name)
	if err != nil {
		return 0, err
	}
	return v.Port, nil
}

// BootNote says which ports failed, and why, in the round of tries that
// found the VM up after its last Reboot or Start ("" when the first of
// the ports given answered at once): a port tried while the VM was still
// coming up.
func (l *Lab) BootNote(name string) (string, error) {
	v, err := l.st.vm(name)
	if err != nil {
		return "", err
	}
	return v.BootNote, nil
}

// SetSSHPort tells the lab that sshd moved to port (a test moved it):
// Exec, Listen and Reboot use it from now on.
func (l *Lab) SetSSHPort(name string, port int) error {
	v, err := l.st.vm(name)
	if err != nil {
		return err
	}
	return l.st.update(func() { v.Port = port })
}

// execOn runs command on v's sshd at port.
func (l *Lab) execOn(ctx context.Context, v *vmState, port int, command string) ([]byte, error) {
	c, err := l.dial(ctx, v, port)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return nil, fmt.Errorf("%s: ssh session: %w", v.Name, err)
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	go func() { done <- s.Run(command) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		c.Close()
		err = ctx.Err()
	}
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("%s: %s: %w: %s", v.Name, command, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// dial logs in to v's sshd at port as root with the lab key. The host key
// must be one of v's image's, on whatever port sshd answers.
func (l *Lab) dial(ctx context.Context, v *vmState, port int) (*ssh.Client, error) {
	key, err := os.ReadFile(l.Key)
	if err != nil {
		return nil, fmt.Errorf("VM lab key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("VM lab key %s: %w", l.Key, err)
	}
	known, err := hostKeys(v.HostKeys)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v.Name, err)
	}
	addr := net.JoinHostPort(v.Addr, strconv.Itoa(port))
	d := net.Dialer{Timeout: connectTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v.Name, err)
	}
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	cfg := &ssh.ClientConfig{
		User: "root",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
			if !known[string(k.Marshal())] {
				return fmt.Errorf("%s offers %s host key %s, not one of its image's", addr, k.Type(), ssh.FingerprintSHA256(k))
			}
			return nil
		},
	}
	cc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: ssh %s: %w", v.Name, addr, err)
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(cc, chans, reqs), nil
}

func hostKeys(lines []string) (map[string]bool, error) {
	keys := map[string]bool{}
	for _, line := range lines {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("host key %q: %w", strings.Fields(line)[0], err)
		}
		keys[string(k.Marshal())] = true
	}
	return keys, nil
}
