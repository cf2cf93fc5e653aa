package runner

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// passwordServer is an in-memory sshd that takes only a password, by the
// password and keyboard-interactive methods, and remembers every one it
// was sent.
type passwordServer struct {
	key      ssh.Signer
	password string
	sock     string

	mu   sync.Mutex
	sent []string
}

func newPasswordServer(t *testing.T, password string) *passwordServer {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	key, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	s := &passwordServer{key: key, password: password, sock: filepath.Join(t.TempDir(), "sshd.sock")}
	l, err := net.Listen("unix", s.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go s.serve(l)
	return s
}

func (s *passwordServer) serve(l net.Listener) {
	check := func(pw string) (*ssh.Permissions, error) {
		s.mu.Lock()
		s.sent = append(s.sent, pw)
		s.mu.Unlock()
		if pw != s.password {
			return nil, errors.New("wrong password")
		}
		return nil, nil
	}
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) { return check(string(pw)) },
		KeyboardInteractiveCallback: func(_ ssh.ConnMetadata, ask ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			answers, err := ask("", "", []string{"Password: "}, []bool{false})
			if err != nil {
				return nil, err
			}
			return check(answers[0])
		},
	}
	cfg.AddHostKey(s.key)
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			if c, _, reqs, err := ssh.NewServerConn(conn, cfg); err == nil {
				go ssh.DiscardRequests(reqs)
				c.Close()
			}
		}()
	}
}

func (s *passwordServer) passwordsSent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sent...)
}

// asHost is a connection over a unix socket that says it reaches
// 198.18.0.5:22, the address known_hosts looks its key up by.
type asHost struct{ net.Conn }

func (asHost) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.ParseIP("198.18.0.5"), Port: 22} }

// login dials the server as the host at 198.18.0.5:22 with -k's password.
func (s *passwordServer) login(t *testing.T, keys *HostKeys, scope []string) error {
	t.Helper()
	unix, err := net.DialTimeout("unix", s.sock, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn := asHost{unix}
	d := &dialer{creds: &Credentials{Password: s.password}, keys: keys, timeout: 10 * time.Second}
	e := Endpoint{Addr: "198.18.0.5", Port: 22, User: "ops", KnownHosts: scope}
	c, _, err := d.handshake(context.Background(), conn, "h1", e, nil)
	if err == nil {
		c.Close()
	}
	return err
}

// A password goes only to a host whose key the operator's known_hosts
// held before this run: not to one trusted on first use, nor to one only
// a file the inventory names vouches for. The server must not see it.
func TestPasswordWithheldFromUnverifiedHosts(t *testing.T) {
	srv := newPasswordServer(t, "canary-password")
	line := knownhosts.Line([]string{"198.18.0.5"}, srv.key.PublicKey())

	record := filepath.Join(t.TempDir(), "known_hosts")
	tofu, err := NewHostKeys([]string{record}, record, true)
	if err != nil {
		t.Fatal(err)
	}
	err = srv.login(t, tofu, nil)
	if err == nil || !strings.Contains(err.Error(), "accepted on first use") || !strings.Contains(err.Error(), record) {
		t.Errorf("trusted on first use: err = %v, want the password withheld, saying why and where the key is", err)
	}

	scoped, err := NewHostKeys([]string{filepath.Join(t.TempDir(), "empty")}, record, false)
	if err != nil {
		t.Fatal(err)
	}
	err = srv.login(t, scoped, []string{writeKnownHosts(t, line)})
	if err == nil || !strings.Contains(err.Error(), "which the inventory names") {
		t.Errorf("vouched for by the inventory's file only: err = %v, want the password withheld", err)
	}
	if sent := srv.passwordsSent(); len(sent) != 0 {
		t.Fatalf("the server was sent %d passwords from unverified logins", len(sent))
	}

	// The next run finds the key recorded on first use, and logs in.
	verified, err := NewHostKeys([]string{record}, record, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.login(t, verified, nil); err != nil {
		t.Errorf("key in the operator's known_hosts: %v", err)
	}
	if sent := srv.passwordsSent(); len(sent) != 1 {
		t.Errorf("the server was sent %d passwords, want 1", len(sent))
	}
}
