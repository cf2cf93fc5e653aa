package runner

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

// stalledPort is a port on the loopback whose TCP connects never finish:
// a listener with a backlog of 0 that never accepts, its queue filled, so
// the kernel drops every later SYN, as a firewall that drops port 22 does.
func stalledPort(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return port
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatalf("%s: the listen queue took 8 connections and did not fill", addr)
	return 0
}

// A hop that runs out of --timeout says so in one wording, naming its
// address and the flag, whether its TCP connect stalled (packets to port
// 22 dropped) or its SSH handshake did (a listener that never sends a
// banner). net's connect deadline and the attempt's expire at the same
// instant, and whichever the dial noticed first used to choose the
// wording: "dial tcp ...: i/o timeout" or "no answer within ...: context
// deadline exceeded".
func TestTimeoutOneWording(t *testing.T) {
	known := writeKnownHosts(t)
	keys, err := NewHostKeys([]string{known}, known, false)
	if err != nil {
		t.Fatal(err)
	}
	silent := loopbackServer(t, func(c net.Conn) { t.Cleanup(func() { c.Close() }) })
	for _, tt := range []struct {
		name    string
		port    int
		timeout time.Duration
		tries   int // at once: the two deadlines race in each connect
		want    string
	}{
		{"packets dropped", stalledPort(t), 100 * time.Millisecond, 40, "connect to 127.0.0.1:%d: no answer within 100ms (--timeout)"},
		// Long enough for a loaded machine's connect to a listener.
		{"no banner", silent.Port, 2 * time.Second, 1, "ssh handshake with 127.0.0.1:%d: no answer within 2s (--timeout)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &dialer{creds: &Credentials{}, keys: keys, timeout: tt.timeout, pace: newPacer(DefaultMaxHandshakes)}
			errs := make(chan error, tt.tries)
			for i := range tt.tries {
				go func() {
					target := Target{Name: "h" + strconv.Itoa(i), Endpoint: Endpoint{Addr: "127.0.0.1", Port: tt.port, User: "root"}}
					c, err := connect(t.Context(), target, d, nil, time.Minute, 0, nil)
					if err == nil {
						c.Close()
					}
					errs <- err
				}()
			}
			want := fmt.Sprintf(tt.want, tt.port)
			for range tt.tries {
				err := <-errs
				if err == nil || err.Error() != want {
					t.Fatalf("err = %v, want %q", err, want)
				}
				var unreachable *UnreachableError
				if !errors.As(err, &unreachable) || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%v: want an unreachable host, and a timeout the pacer sees", err)
				}
			}
		})
	}
}

// slowWrites is a server's side of a connection that waits before each
// thing it sends, as an sshd on a busy CPU answers each step late.
type slowWrites struct {
	net.Conn
	wait time.Duration
}

func (s slowWrites) Write(b []byte) (int, error) {
	time.Sleep(s.wait)
	return s.Conn.Write(b)
}

// A host that answers every step of the handshake within --timeout is
// reached, however long the whole handshake takes: --timeout is how long
// a host may leave us without an answer. It used to bound the whole
// handshake, and a host whose sshd answered slowly on a busy machine was
// reported unreachable halfway through its key exchange.
func TestSlowAnswersWithinTimeout(t *testing.T) {
	const timeout = time.Second
	cfg, key := openSSHServer(t)
	a := loopbackServer(t, func(conn net.Conn) {
		defer conn.Close()
		serveTrue(slowWrites{Conn: conn, wait: timeout * 3 / 10}, cfg)
	})
	known := writeKnownHosts(t, knownhosts.Line([]string{knownhosts.Normalize(a.String())}, key.PublicKey()))
	keys, err := NewHostKeys([]string{known}, known, false)
	if err != nil {
		t.Fatal(err)
	}
	d := &dialer{creds: &Credentials{}, keys: keys, timeout: timeout, pace: newPacer(DefaultMaxHandshakes)}
	start := time.Now()
	c, err := connect(t.Context(), Target{Name: "h1", Endpoint: Endpoint{Addr: a.IP.String(), Port: a.Port, User: "root"}}, d, nil, time.Minute, 0, nil)
	if err != nil {
		t.Fatalf("a host that answered each step within --timeout (%v): %v", timeout, err)
	}
	defer c.Close()
	if took := time.Since(start); took <= timeout {
		t.Fatalf("the handshake took %v, not over --timeout (%v): the test shows nothing", took, timeout)
	}
	if _, err := c.Exec(t.Context(), "true", nil); err != nil {
		t.Errorf("a command on the connection: %v", err)
	}
}

// A server that keeps sending, but never finishes the handshake, is
// given up after handshakeSpan times --timeout.
func TestTricklingServerGivenUp(t *testing.T) {
	const timeout = 500 * time.Millisecond
	a := loopbackServer(t, func(conn net.Conn) {
		defer conn.Close()
		for {
			time.Sleep(timeout / 10)
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
		}
	})
	known := writeKnownHosts(t)
	keys, err := NewHostKeys([]string{known}, known, false)
	if err != nil {
		t.Fatal(err)
	}
	d := &dialer{creds: &Credentials{}, keys: keys, timeout: timeout, pace: newPacer(DefaultMaxHandshakes)}
	start := time.Now()
	_, err = connect(t.Context(), Target{Name: "h1", Endpoint: Endpoint{Addr: a.IP.String(), Port: a.Port, User: "root"}}, d, nil, time.Minute, 0, nil)
	want := fmt.Sprintf("ssh handshake with %s: the handshake went on past 3s (6 times --timeout)", a)
	if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("given up after %v", took)
	}
}
