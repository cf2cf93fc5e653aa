package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"remedy/lua/shell"
)

// ErrBecome marks a host where sudo or su would not run commands for us.
var ErrBecome = errors.New("become failed")

// Become runs commands as another user through sudo or su.
type Become struct {
	Method   string // "sudo" (when empty) or "su"
	User     string // "root" when empty
	Password string // -K; empty means sudo or su must not ask
}

// become wraps each command line for one host, once it knows whether that
// host's sudo or su asks for a password.
type become struct {
	method   string
	user     string
	password string
	askPass  bool // the password goes first on stdin
}

// suStarted is what the command su starts writes to stderr before it
// runs the command itself. su prints its password prompt on stderr and
// has no option to leave it out, as sudo's empty -p does; what comes before
// the marker is su's and PAM's, and only what follows is the command's.
// It is also how a command that su refused is told from one that failed.
const suStarted = "BECOME-SUCCESS-remedy:"

// wrap turns cmd into a sudo or su command line and its stdin. The
// password is never part of the line: it goes first on stdin, which
// sudo -S and su (PAM, without a terminal) read up to the newline, and
// the command gets the rest. sudo's -k makes it ask every time, so the
// password line is always consumed and never reaches the command as
// data; su asks every time it asked once (setupBecome found out).
func (b *become) wrap(cmd string, stdin []byte) (string, []byte) {
	var line string
	switch {
	case b.method == "su":
		// su hands the line to the user's login shell, which needs only
		// to run printf and exec; sh runs the command, as under sudo.
		inner := shell.Join("printf", "%s", suStarted) + " >&2 && exec " + shell.Join("sh", "-c", cmd)
		line = shell.Join("su", "-c", inner, "--", b.user)
	case !b.askPass:
		return shell.Join("sudo", "-n", "-u", b.user, "--", "sh", "-c", cmd), stdin
	default:
		line = shell.Join("sudo", "-k", "-S", "-p", "", "-u", b.user, "--", "sh", "-c", cmd)
	}
	if !b.askPass {
		// Empty, not nil: su without a password line must read an end of
		// input, never wait for one.
		return line, append([]byte{}, stdin...)
	}
	in := make([]byte, 0, len(b.password)+1+len(stdin))
	return line, append(append(append(in, b.password...), '\n'), stdin...)
}

// commandStderr splits what a wrapped command wrote on stderr: under su,
// what came before suStarted is su's (started false when it never came:
// su refused); under sudo all of it is the command's.
func (b *become) commandStderr(stderr []byte) (own []byte, started bool) {
	if b.method != "su" {
		return stderr, true
	}
	before, after, ok := bytes.Cut(stderr, []byte(suStarted))
	if !ok {
		return before, false
	}
	return after, true
}

// runner runs a raw command line on a host; Conn.run is the real one.
type runner func(ctx context.Context, line string, stdin []byte) (exitCode int, stderr []byte, err error)

// setupBecome finds out how sudo or su behaves on the host: without a
// password when it can (a NOPASSWD rule would otherwise feed the password
// line to the command), else with the operator's password, checked once
// here so a wrong one fails the host before any task runs. withheld, when
// set, says why the password must not go to this host (its key was not
// vouched for): then sudo or su must do without.
func setupBecome(ctx context.Context, spec Become, withheld error, run runner) (*become, error) {
	b := &become{method: spec.Method, user: spec.User, password: spec.Password}
	if b.method == "" {
		b.method = "sudo"
	}
	if b.user == "" {
		b.user = "root"
	}
	ok, _, err := b.probe(ctx, run)
	if err != nil {
		return nil, fmt.Errorf("%s without a password: %w", b.method, err)
	}
	if ok {
		return b, nil
	}
	if spec.Password == "" {
		return nil, fmt.Errorf("%w: %s to %s needs a password; give it with -K (--ask-become-pass)", ErrBecome, b.method, b.user)
	}
	if withheld != nil {
		return nil, fmt.Errorf("%w: %s to %s needs a password: %w", ErrBecome, b.method, b.user, withheld)
	}
	b.askPass = true
	ok, why, err := b.probe(ctx, run)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.method, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s to %s refused the password or the user %s", ErrBecome, b.method, b.user, why)
	}
	return b, nil
}

// probe runs true as the user: ok when it ran, else why not.
func (b *become) probe(ctx context.Context, run runner) (ok bool, why string, err error) {
	line, in := b.wrap("true", nil)
	code, stderr, err := run(ctx, line, in)
	if err != nil {
		return false, "", err
	}
	su, started := b.commandStderr(stderr)
	if code == 0 && started {
		return true, "", nil
	}
	return false, fmt.Sprintf("(exit %d): %s", code, firstLine(su)), nil
}
