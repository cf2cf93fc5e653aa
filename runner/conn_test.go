package runner

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melbahja/goph"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// A server that stops answering never confirms a new session: a command
// must still end with its context, or one Ctrl-C waits for good.
func TestRunEndsWhenSessionNeverOpens(t *testing.T) {
	client := silentServer(t)
	c := testConn(client)
	ctx := shortContext(t)
	err := endsSoon(t, "the command", func() error {
		_, err := c.run(ctx, "true", nil)
		return err
	})
	if err == nil {
		t.Error("a command whose session never opened succeeded")
	}
}

// testConn is a Conn over client, as connect makes one.
func testConn(client *ssh.Client) *Conn {
	return &Conn{target: Target{Name: "h1"}, link: &link{client: &goph.Client{Client: client}, release: func() {}}, maxOutput: DefaultMaxOutput}
}

// deadSFTPConn is a Conn whose SFTP client is up and whose host then
// drops every packet.
func deadSFTPConn(t *testing.T) *Conn {
	t.Helper()
	client, drop := sftpServer(t)
	c := testConn(client)
	if _, err := c.sftpClient(); err != nil {
		t.Fatal(err)
	}
	drop.Store(true)
	return c
}

// shortContext ends 200 ms from now.
func shortContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

// endsSoon runs f and fails the test unless f returns within 10 s, far
// beyond any context here: what is tested is that nothing waits on a host
// that never answers.
func endsSoon(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still waits after 10 s", what)
		return nil
	}
}

// silentServer is an SSH server over a unix socket that lets the client in
// and then never answers a channel open, as a frozen sshd does.
func silentServer(t *testing.T) *ssh.Client {
	return unixServer(t, func(conn net.Conn, srv *ssh.ServerConfig) {
		if _, _, reqs, err := ssh.NewServerConn(conn, srv); err == nil {
			go ssh.DiscardRequests(reqs)
		}
	})
}

// unixServer listens for one SSH connection on a unix socket, hands it
// to serve, and returns a client logged in to it.
func unixServer(t *testing.T, serve func(net.Conn, *ssh.ServerConfig)) *ssh.Client {
	t.Helper()
	_, hostKey, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(hostKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := &ssh.ServerConfig{NoClientAuth: true}
	srv.AddHostKey(signer)
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "sshd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		t.Cleanup(func() { conn.Close() })
		serve(conn, srv)
	}()
	cfg := &ssh.ClientConfig{User: "root", HostKeyCallback: ssh.FixedHostKey(signer.PublicKey()), Timeout: 5 * time.Second}
	client, err := ssh.Dial("unix", l.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// A new port that lets us in and then stops answering fails the probe
// when its context ends.
func TestProbeEndsWhenSessionNeverOpens(t *testing.T) {
	client := silentServer(t)
	ctx := shortContext(t)
	if err := endsSoon(t, "the probe", func() error { return probe(ctx, &goph.Client{Client: client}, DefaultMaxOutput) }); err == nil {
		t.Error("a probe whose session never opened succeeded")
	}
}

// Close must not wait on a host that drops every packet once SFTP is in
// use: sftp's own Close waits for the server's answer, which never comes.
func TestCloseWithSFTPOnDeadLink(t *testing.T) {
	c := deadSFTPConn(t)
	endsSoon(t, "Close after the link died", c.Close)
}

// sftpServer is an SSH server with the SFTP subsystem over a unix socket;
// once drop is set, the server sends nothing more, as a host that drops
// every packet.
func sftpServer(t *testing.T) (*ssh.Client, *atomic.Bool) {
	drop := &atomic.Bool{}
	client := unixServer(t, func(conn net.Conn, srv *ssh.ServerConfig) {
		_, chans, reqs, err := ssh.NewServerConn(&droppingConn{Conn: conn, drop: drop}, srv)
		if err != nil {
			return
		}
		go ssh.DiscardRequests(reqs)
		for nc := range chans {
			go serveSFTP(nc)
		}
	})
	return client, drop
}

func serveSFTP(nc ssh.NewChannel) {
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	for req := range reqs {
		req.Reply(req.Type == "subsystem", nil)
		if req.Type == "subsystem" {
			if s, err := sftp.NewServer(ch); err == nil {
				go s.Serve()
			}
		}
	}
}

// droppingConn swallows what the server writes once drop is set.
type droppingConn struct {
	net.Conn
	drop *atomic.Bool
}

func (d *droppingConn) Write(p []byte) (int, error) {
	if d.drop.Load() {
		return len(p), nil
	}
	return d.Conn.Write(p)
}

// A host that lets us in and never answers the SFTP start: a file read
// still ends with its context (one Ctrl-C), and Close does not wait on
// the start either.
func TestSFTPEndsWithContextOnSilentHost(t *testing.T) {
	client := silentServer(t)
	c := testConn(client)
	ctx := shortContext(t)
	waiting := make(chan error, 1)
	go func() {
		_, err := c.ReadFile(t.Context(), "/etc/hosts")
		waiting <- err
	}()
	err := endsSoon(t, "the read", func() error {
		_, err := c.ReadFile(ctx, "/etc/hostname")
		return err
	})
	if err == nil {
		t.Error("a read from a silent host succeeded")
	}
	endsSoon(t, "Close during an unanswered SFTP start", c.Close)
	if err := endsSoon(t, "the read waiting on the start after Close", func() error { return <-waiting }); err == nil {
		t.Error("a read on a closed connection succeeded")
	}
}

// Once SFTP is up, a host that drops every packet does not hold a read
// past its context.
func TestSFTPReadEndsWithContextOnDeadLink(t *testing.T) {
	c := deadSFTPConn(t)
	ctx := shortContext(t)
	err := endsSoon(t, "the read", func() error {
		_, err := c.ReadFile(ctx, "/etc/hostname")
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the context's deadline", err)
	}
	c.Close()
}

// SFTP ends with --command-timeout as a command does, not only with the
// task's context: a host whose SFTP stalls must not hold a read, and with
// it the whole run, for good. (Writes are a command, bound the same way.)
func TestSFTPEndsWithCommandTimeout(t *testing.T) {
	c := deadSFTPConn(t)
	c.cmdTimeout = 200 * time.Millisecond
	err := endsSoon(t, "the read", func() error {
		_, err := c.ReadFile(t.Context(), "/etc/hostname")
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "--command-timeout") {
		t.Errorf("got %v, want the command timeout", err)
	}
	c.Close()
}

// A host that refuses the SFTP subsystem (no Subsystem line in its
// sshd_config) is not unreachable: SFTP is tried once, then reads go to
// commands.
func TestRefusedSFTPIsNotUnreachable(t *testing.T) {
	client := unixServer(t, func(conn net.Conn, srv *ssh.ServerConfig) {
		_, chans, reqs, err := ssh.NewServerConn(conn, srv)
		if err != nil {
			return
		}
		go ssh.DiscardRequests(reqs)
		for nc := range chans {
			ch, reqs, err := nc.Accept()
			if err != nil {
				continue
			}
			go func() {
				for req := range reqs {
					req.Reply(false, nil) // no subsystem, no exec
				}
				ch.Close()
			}()
		}
	})
	c := testConn(client)
	for range 2 {
		if _, err := c.sftpClient(); !errors.Is(err, errNoSFTP) {
			t.Fatalf("sftpClient: %v, want errNoSFTP", err)
		}
	}
	var unreachable *UnreachableError
	if _, err := c.ReadFile(t.Context(), "/etc/hostname"); err == nil || errors.As(err, &unreachable) && strings.Contains(err.Error(), "sftp") {
		t.Errorf("ReadFile: %v; want the read to go to a command, not the host unreachable for want of SFTP", err)
	}
}
