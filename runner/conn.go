package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/melbahja/goph"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// Conn is one host's SSH connection for a whole run. Every command is a
// session on it; files go through one SFTP client, or through sudo
// commands under become. It satisfies remote.Host.
type Conn struct {
	target     Target
	dialer     *dialer
	become     *become
	cmdTimeout time.Duration
	maxOutput  Size // what one command or file read may bring back
	trace      func(recap.Command)

	mu   sync.Mutex
	link *link
	sftp *sftp.Client
	// sftpMissing is why the SFTP client did not start, once it did not.
	sftpMissing error
	closed      bool
	// sftpStart serialises starting the SFTP client without holding mu:
	// Close must not wait on a host that never answers the start.
	sftpStart sync.Mutex
}

// connect dials t and, with become, finds out how its sudo behaves.
// maxOutput 0 is DefaultMaxOutput.
func connect(ctx context.Context, t Target, d *dialer, be *Become, cmdTimeout time.Duration, maxOutput Size, trace func(recap.Command)) (*Conn, error) {
	l, err := d.dial(ctx, t)
	if err != nil {
		return nil, &UnreachableError{Host: t.Name, Err: err}
	}
	if maxOutput <= 0 {
		maxOutput = DefaultMaxOutput
	}
	c := &Conn{target: t, dialer: d, link: l, cmdTimeout: cmdTimeout, maxOutput: maxOutput, trace: trace}
	if be != nil {
		if c.become, err = setupBecome(ctx, *be, l.withheld, c.runRaw); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Name is the host's inventory name.
func (c *Conn) Name() string { return c.target.Name }

// Close ends the connection, its bastions and the SFTP client. The
// connection goes first: sftp's Close waits for the server to confirm,
// which a host that drops every packet never does (the run hung there).
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.link.close()
	if c.sftp != nil {
		c.sftp.Close()
		c.sftp = nil
	}
	return nil
}

// Exec runs cmd, through sudo or su under become, and reports it to the
// trace.
func (c *Conn) Exec(ctx context.Context, cmd string, stdin []byte) (remote.Output, error) {
	line := cmd
	if c.become != nil {
		line, stdin = c.become.wrap(cmd, stdin)
	}
	start := time.Now()
	out, err := c.run(ctx, line, stdin)
	if c.become != nil && err == nil {
		var started bool
		if out.Stderr, started = c.become.commandStderr(out.Stderr); !started {
			err = fmt.Errorf("%w: %s to %s did not run the command (exit %d): %s", ErrBecome, c.become.method, c.become.user, out.ExitCode, firstLine(out.Stderr))
		}
	}
	if c.trace != nil {
		c.trace(recap.Command{Host: c.target.Name, Line: line, Stdout: out.Stdout, Stderr: out.Stderr,
			ExitCode: out.ExitCode, Err: err, Duration: time.Since(start)})
	}
	return out, err
}

// runRaw is run without its output, for setupBecome.
func (c *Conn) runRaw(ctx context.Context, line string, stdin []byte) (int, []byte, error) {
	out, err := c.run(ctx, line, stdin)
	return out.ExitCode, out.Stderr, err
}

// run runs one command line in a new session. When ctx ends first, or
// the command's stdout and stderr together pass maxOutput, the remote
// command's process group gets SIGTERM and its session is closed: a host
// that streams without end is stopped, not drained.
func (c *Conn) run(ctx context.Context, line string, stdin []byte) (remote.Output, error) {
	return c.runSession(ctx, line, stdin, c.killGroup)
}

// runSession is run with the way to stop a process group: nil for the
// kill command itself, whose session is only closed, so a host that
// answers a kill with more of the same cannot make kills without end.
func (c *Conn) runSession(ctx context.Context, line string, stdin []byte, kill func(pgid int)) (remote.Output, error) {
	ctx, cancel := c.withCommandTimeout(ctx)
	defer cancel()
	// goph's Cmd is a session whose Start sends "Path Args"; the context
	// stop below is ours, as goph's only signals and does not wait.
	sess, err := c.command(ctx, announcePGID(line))
	if ctx.Err() != nil {
		return remote.Output{ExitCode: -1}, fmt.Errorf("command not started: %w", context.Cause(ctx))
	}
	if err != nil {
		return remote.Output{}, &UnreachableError{Host: c.target.Name, Err: fmt.Errorf("new session: %w", err)}
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	budget := newOutputBudget(c.maxOutput)
	errw := &pgidWriter{out: budgetWriter{budget, &stderr}}
	sess.Stdout, sess.Stderr = budgetWriter{budget, &stdout}, errw
	if stdin != nil {
		sess.Stdin = bytes.NewReader(stdin)
	}
	if err := sess.Start(); err != nil {
		return remote.Output{}, &UnreachableError{Host: c.target.Name, Err: fmt.Errorf("start command: %w", err)}
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-budget.over:
		stopSession(sess, kill, errw.group(), done)
		return remote.Output{ExitCode: -1}, &OutputLimitError{Limit: c.maxOutput}
	case <-ctx.Done():
		stopSession(sess, kill, errw.group(), done)
		return remote.Output{ExitCode: -1}, fmt.Errorf("command stopped: %w", context.Cause(ctx))
	}
	if budget.spent() {
		// It ended as its output passed the limit: what came is cut short.
		return remote.Output{ExitCode: -1}, &OutputLimitError{Limit: c.maxOutput}
	}
	errw.flush()
	out := remote.Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	return c.exitStatus(out, err)
}

// withCommandTimeout bounds one command or SFTP request by
// --command-timeout.
func (c *Conn) withCommandTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.cmdTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, c.cmdTimeout, fmt.Errorf("timed out after %s (--command-timeout): %w", c.cmdTimeout, context.DeadlineExceeded))
}

// stopSession kills a command's process group, when kill is not nil,
// and closes its session, waiting a little for the session to end.
func stopSession(sess *goph.Cmd, kill func(pgid int), pgid int, done <-chan error) {
	if kill != nil {
		kill(pgid)
	}
	sess.Close()
	select {
	case <-done:
	case <-time.After(killTimeout):
	}
}

// command opens a session for line, or gives up when ctx ends: a server
// that stops answering never confirms the channel, and opening one has no
// deadline of its own (a Ctrl-C hung for good on a frozen sshd).
func (c *Conn) command(ctx context.Context, line string) (*goph.Cmd, error) {
	type opened struct {
		cmd *goph.Cmd
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		cmd, err := c.client().Command(line)
		ch <- opened{cmd, err}
	}()
	select {
	case o := <-ch:
		return o.cmd, o.err
	case <-ctx.Done():
		// The open ends when the connection closes; a late session is closed.
		go func() {
			if o := <-ch; o.err == nil {
				o.cmd.Close()
			}
		}()
		return nil, context.Cause(ctx)
	}
}

// exitStatus reads how a command ended: its exit code, or a lost
// connection, which makes the host unreachable.
func (c *Conn) exitStatus(out remote.Output, err error) (remote.Output, error) {
	var exit *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return out, nil
	case errors.As(err, &exit):
		out.ExitCode = exit.ExitStatus()
		if exit.Signal() != "" {
			return out, fmt.Errorf("command killed by SIG%s", exit.Signal())
		}
		return out, nil
	case errors.As(err, &missing), errors.Is(err, io.EOF):
		return out, &UnreachableError{Host: c.target.Name, Err: fmt.Errorf("connection lost during a command: %w", err)}
	default:
		return out, fmt.Errorf("command: %w", err)
	}
}

func (c *Conn) client() *goph.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.link.client
}

// firstLine is the first line of a command's output for a message, cut
// short: a host decides how long its lines are.
func firstLine(b []byte) string {
	const max = 400
	s, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte("\n"))
	if len(s) > max {
		return string(s[:max]) + "..."
	}
	return string(s)
}
