package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/melbahja/goph"
	"golang.org/x/crypto/ssh"

	"remedy/lua/remote"
)

// UnreachableError says a host could not be reached, refused to let us
// in, or its connection died: the host stops there, as in Ansible. Its
// message leaves the host out, as every error of a Conn does: the runner
// names the host once where it shows a result or a host's error.
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string { return e.Err.Error() }
func (e *UnreachableError) Unwrap() error { return e.Err }

// Is lets package lua, which cannot import runner, see the host is gone.
func (e *UnreachableError) Is(target error) bool { return target == remote.ErrUnreachable }

// dialer opens SSH connections with one run's credentials, host key
// check and connect timeout, pacing the handshakes.
type dialer struct {
	creds    *Credentials
	keys     *HostKeys
	timeout  time.Duration
	pace     *pacer // nil: every handshake starts at once
	bastions bastions
}

// link is a connection to a target and the bastions it goes through; the
// bastions stay open as long as a target's connection uses them. The
// target's client is a goph.Client, which sessions and SFTP start from;
// it was dialled here, as goph cannot dial through a bastion.
type link struct {
	client  *goph.Client
	via     *ssh.Client   // the last bastion, or nil
	hostKey ssh.PublicKey // the target's key, verified when it was dialled
	// withheld says why no password (-k, -K, ansible_password,
	// ansible_become_password) may go to the target: its key was not
	// vouched for by an operator's known_hosts file. Nil: they may.
	withheld error
	release  func() // lets go of the bastions
}

func (l *link) close() {
	l.client.Close()
	l.release()
}

// dial connects to t through its jumps, each hop dialled over the one
// before it and shared with the other hosts behind the same bastions.
func (d *dialer) dial(ctx context.Context, t Target) (*link, error) {
	var keys []string
	release := func() {
		for i := len(keys) - 1; i >= 0; i-- {
			d.bastions.release(keys[i])
		}
	}
	var via *ssh.Client
	for i, hop := range t.Jumps {
		key, prev := chainKey(t.Jumps[:i+1]), via
		c, err := d.bastions.acquire(ctx, key, func() (*ssh.Client, error) {
			c, _, err := d.dialVia(ctx, prev, hop.hostPort(), hop, nil)
			return c, err
		})
		if err != nil {
			release()
			return nil, fmt.Errorf("bastion %s: %w", hop.hostPort(), err)
		}
		keys = append(keys, key)
		via = c
	}
	c, hostKey, err := d.dialVia(ctx, via, t.Name, t.Endpoint, nil)
	if err != nil {
		release()
		return nil, err
	}
	return &link{client: &goph.Client{Client: c}, via: via, hostKey: hostKey,
		withheld: d.keys.withheldFrom(hostKey), release: release}, nil
}

// connectingKey carries the hook a host's dials call once the pacer lets
// a handshake start, as net/http/httptrace carries its hooks: the dial
// is three calls below the fan-out that knows the observer.
type connectingKey struct{}

// withConnecting returns ctx with f as its hook; f runs once, at the
// host's first handshake (its first bastion's, if it has any).
func withConnecting(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, connectingKey{}, sync.OnceFunc(f))
}

// connecting calls ctx's hook, if it has one.
func connecting(ctx context.Context) {
	if f, ok := ctx.Value(connectingKey{}).(func()); ok {
		f()
	}
}

// dialVia opens a TCP stream to e, directly or through the via bastion,
// and runs the SSH handshake on it, within the connect timeout counted
// from when the pacer lets it start. It returns the host key it
// verified: against known_hosts, or, when pin is set, against the key the
// host already showed on another port. A handshake that timed out or was
// reset among others doing the same is tried once more, under the
// window the pacer shrank meanwhile: the host was crowded out, not gone.
func (d *dialer) dialVia(ctx context.Context, via *ssh.Client, name string, e Endpoint, pin ssh.PublicKey) (*ssh.Client, ssh.PublicKey, error) {
	for try := 1; ; try++ {
		// A pinned key: the host is connected already, and dials again.
		ticket, err := d.pace.acquire(ctx, pin != nil)
		if err != nil {
			return nil, nil, fmt.Errorf("waiting to connect to %s: %w", e.hostPort(), err)
		}
		connecting(ctx)
		c, key, connected, err := d.attempt(ctx, via, name, e, pin)
		outcome := handshakeDone
		switch {
		case err == nil:
		case connected && ctx.Err() == nil && overloaded(err):
			outcome = handshakeOverload
		default:
			outcome = handshakeOther
		}
		crowded := d.pace.release(ticket, outcome, d.timeout)
		if outcome != handshakeOverload || !crowded || try == 2 {
			return c, key, err
		}
	}
}

// attempt is one try of dialVia; connected says the TCP stream was open
// when it failed.
//
// --timeout is how long the host may leave us without an answer: the
// TCP connect, and then each wait for the server's next bytes, restart
// its clock. A host that drops packets or never sends a banner is given
// up after --timeout, as before; one that answers slowly, step by step,
// as a host does whose CPU is busy (an overloaded controller or lab, a
// host mid-backup), is not cut off half-way through its key exchange.
// The whole handshake is still bounded, by handshakeSpan times
// --timeout, so a server that trickles bytes cannot hold a place for
// ever.
func (d *dialer) attempt(parent context.Context, via *ssh.Client, name string, e Endpoint, pin ssh.PublicKey) (_ *ssh.Client, _ ssh.PublicKey, connected bool, _ error) {
	expired := &timeoutError{timeout: d.timeout}
	span := time.Duration(handshakeSpan) * d.timeout
	ctx, stop := context.WithTimeoutCause(parent, span, fmt.Errorf("the handshake went on past %s (%d times --timeout): %w", span, handshakeSpan, context.DeadlineExceeded))
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	clock := time.AfterFunc(d.timeout, func() { cancel(expired) })
	defer clock.Stop()
	addr := e.hostPort()
	var conn net.Conn
	var err error
	if via == nil {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = via.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("connect to %s: %w", addr, connectError(parent, ctx, err, expired))
	}
	clock.Reset(d.timeout)
	c, key, err := d.handshake(ctx, &answering{Conn: conn, ctx: ctx, clock: clock, timeout: d.timeout}, name, e, pin)
	return c, key, true, err
}

// handshakeSpan bounds one handshake attempt, in --timeout: a host that
// answers within --timeout each time, but never finishes, is given up.
const handshakeSpan = 6

// answering restarts an attempt's --timeout clock each time the server
// sends something, until the attempt ends.
type answering struct {
	net.Conn
	ctx     context.Context
	clock   *time.Timer
	timeout time.Duration
}

func (a *answering) Read(b []byte) (int, error) {
	n, err := a.Conn.Read(b)
	if n > 0 && a.ctx.Err() == nil {
		a.clock.Reset(a.timeout)
	}
	return n, err
}

// connectError is why a TCP connect under the attempt context failed. A
// connect the attempt cut short fails in net's own words: "operation was
// canceled", or "i/o timeout" where net's deadline, which it derives from
// the attempt's, noticed first (when --timeout was a deadline, the two
// expired at the same instant, and chance chose the wording). Either way
// the host ran out of time, and says so one way.
func connectError(parent, attempt context.Context, err, expired error) error {
	if parent.Err() != nil {
		return context.Cause(parent)
	}
	if attempt.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return expired
	}
	return err
}

// handshake closes conn when ctx ends first: a channel through a bastion
// has no deadlines, so this is what bounds a silent server. A password is
// offered only once the host key check has said one may go there.
func (d *dialer) handshake(ctx context.Context, conn net.Conn, name string, e Endpoint, pin ssh.PublicKey) (*ssh.Client, ssh.PublicKey, error) {
	addr := e.hostPort()
	check := d.keys.check(name, e, pin)
	auth, err := d.creds.methods(e, check.password)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	cfg := &ssh.ClientConfig{
		User:              e.User,
		Auth:              auth,
		HostKeyCallback:   check.verify,
		HostKeyAlgorithms: check.algorithms(addr),
		Timeout:           d.timeout,
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if !stop() {
		if err == nil {
			c.Close()
		}
		return nil, nil, fmt.Errorf("ssh handshake with %s: %w", addr, context.Cause(ctx))
	}
	if err != nil {
		conn.Close()
		var keyErr *HostKeyError
		if errors.As(err, &keyErr) {
			return nil, nil, keyErr
		}
		if check.key != nil && errors.Is(err, check.withheld) {
			return nil, nil, check.withheld
		}
		return nil, nil, fmt.Errorf("ssh handshake with %s as %s: %w", addr, e.User, err)
	}
	return ssh.NewClient(c, chans, reqs), check.key, nil
}

// timeoutError is a hop's TCP connect or SSH handshake that got no
// answer within --timeout. It is a context.DeadlineExceeded, which the
// pacer reads as a hint of load after the TCP connect.
type timeoutError struct{ timeout time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no answer within %s (--timeout)", e.timeout)
}

func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
