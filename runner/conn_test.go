package runner

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"path/filepath"
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
	c := &Conn{target: Target{Name: "h1"}, link: &link{client: &goph.Client{Client: client}, release: func() {}}}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.run(ctx, "true", nil)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a command whose session never opened succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the command outlived its context by 10 s")
	}
}

// silentServer is an SSH server over a unix socket that lets the client in
// and then never answers a channel open, as a frozen sshd does.
func silentServer(t *testing.T) *ssh.Client {
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
		if _, _, reqs, err := ssh.NewServerConn(conn, srv); err == nil {
			go ssh.DiscardRequests(reqs)
		}
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
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- probe(ctx, &goph.Client{Client: client}) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a probe whose session never opened succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the probe outlived its context by 10 s")
	}
}

// Close must not wait on a host that drops every packet once SFTP is in
// use: sftp's own Close waits for the server's answer, which never comes.
func TestCloseWithSFTPOnDeadLink(t *testing.T) {
	client, drop := sftpServer(t)
	c := &Conn{target: Target{Name: "h1"}, link: &link{client: &goph.Client{Client: client}, release: func() {}}}
	if _, err := c.sftpClient(); err != nil {
		t.Fatal(err)
	}
	drop.Store(true)
	done := make(chan struct{})
	go func() {
		c.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waits 10 s after the link died")
	}
}

// sftpServer is an SSH server with the SFTP subsystem over a unix socket;
// once drop is set, the server sends nothing more, as a host that drops
// every packet.
func sftpServer(t *testing.T) (*ssh.Client, *atomic.Bool) {
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
	drop := &atomic.Bool{}
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		t.Cleanup(func() { conn.Close() })
		_, chans, reqs, err := ssh.NewServerConn(&droppingConn{Conn: conn, drop: drop}, srv)
		if err != nil {
			return
		}
		go ssh.DiscardRequests(reqs)
		for nc := range chans {
			go serveSFTP(nc)
		}
	}()
	cfg := &ssh.ClientConfig{User: "root", HostKeyCallback: ssh.FixedHostKey(signer.PublicKey()), Timeout: 5 * time.Second}
	client, err := ssh.Dial("unix", l.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
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
	c := &Conn{target: Target{Name: "h1"}, link: &link{client: &goph.Client{Client: client}, release: func() {}}}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 2)
	go func() {
		_, err := c.ReadFile(ctx, "/etc/hostname")
		done <- err
	}()
	go func() { done <- c.WriteFile(t.Context(), "/tmp/x", []byte("x"), 0o644) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a read from a silent host succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the read outlived its context by 10 s")
	}
	closed := make(chan struct{})
	go func() {
		c.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits on an SFTP start the host never answers")
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("a write to a closed connection succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the write still waits 10 s after Close")
	}
}

// Once SFTP is up, a host that drops every packet does not hold a read
// past its context.
func TestSFTPReadEndsWithContextOnDeadLink(t *testing.T) {
	client, drop := sftpServer(t)
	c := &Conn{target: Target{Name: "h1"}, link: &link{client: &goph.Client{Client: client}, release: func() {}}}
	if _, err := c.sftpClient(); err != nil {
		t.Fatal(err)
	}
	drop.Store(true)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.ReadFile(ctx, "/etc/hostname")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want the context's deadline", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the read outlived its context by 10 s")
	}
	c.Close()
}
