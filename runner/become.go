package runner

import (
	"context"
	"errors"
	"fmt"

	"remedy/lua/shell"
)

// ErrBecome marks a host where sudo would not run commands for us.
var ErrBecome = errors.New("become failed")

// Become runs commands as another user through sudo.
type Become struct {
	User     string // "root" when empty
	Password string // -K; empty means sudo must not ask (sudo -n)
}

// become wraps each command line for one host, once it knows whether that
// host's sudo asks for a password.
type become struct {
	user     string
	password string
	askPass  bool // sudo wants the password: it goes first on stdin
}

// wrap turns cmd into a sudo command line and its stdin. The password is
// never part of the line: sudo -S reads it, one byte at a time up to the
// newline, from stdin, and the command gets the rest. -k makes sudo ask
// every time, so the password line is always consumed and never reaches
// the command as data.
func (b *become) wrap(cmd string, stdin []byte) (string, []byte) {
	if !b.askPass {
		return shell.Join("sudo", "-n", "-u", b.user, "--", "sh", "-c", cmd), stdin
	}
	in := make([]byte, 0, len(b.password)+1+len(stdin))
	in = append(append(append(in, b.password...), '\n'), stdin...)
	return shell.Join("sudo", "-k", "-S", "-p", "", "-u", b.user, "--", "sh", "-c", cmd), in
}

// runner runs a raw command line on a host; Conn.run is the real one.
type runner func(ctx context.Context, line string, stdin []byte) (exitCode int, stderr []byte, err error)

// setupBecome finds out how sudo behaves on the host: without a password
// when it can (a NOPASSWD rule would otherwise feed the password line to
// the command), else with the operator's password, checked once here so
// a wrong one fails the host before any task runs. withheld, when set,
// says why the password must not go to this host (its key was not
// vouched for): then sudo must do without.
func setupBecome(ctx context.Context, spec Become, withheld error, run runner) (*become, error) {
	b := &become{user: spec.User, password: spec.Password}
	if b.user == "" {
		b.user = "root"
	}
	line, in := b.wrap("true", nil)
	code, _, err := run(ctx, line, in)
	if err != nil {
		return nil, fmt.Errorf("sudo -n: %w", err)
	}
	if code == 0 {
		return b, nil
	}
	if spec.Password == "" {
		return nil, fmt.Errorf("%w: sudo to %s needs a password; give it with -K (--ask-become-pass)", ErrBecome, b.user)
	}
	if withheld != nil {
		return nil, fmt.Errorf("%w: sudo to %s needs a password: %w", ErrBecome, b.user, withheld)
	}
	b.askPass = true
	line, in = b.wrap("true", nil)
	code, stderr, err := run(ctx, line, in)
	if err != nil {
		return nil, fmt.Errorf("sudo: %w", err)
	}
	if code != 0 {
		return nil, fmt.Errorf("%w: sudo to %s refused the password or the user (exit %d): %s",
			ErrBecome, b.user, code, firstLine(stderr))
	}
	return b, nil
}
