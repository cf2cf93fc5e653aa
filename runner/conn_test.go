package runner

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/melbahja/goph"
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
