package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/melbahja/goph"
)

// Probe dials the host afresh on port, through the same bastions and with
// the same credentials, and runs a command there, within
// --command-timeout as every command.
func (c *Conn) Probe(ctx context.Context, port int) error {
	cl, err := c.dialPort(ctx, port)
	if err != nil {
		return fmt.Errorf("probe port %d: %w", port, err)
	}
	ctx, cancel := c.withCommandTimeout(ctx)
	defer cancel()
	if err := probe(ctx, cl, c.maxOutput); err != nil {
		return fmt.Errorf("probe port %d: %w", port, err)
	}
	return nil
}

// probe runs true on a fresh connection and closes it. Closing it when
// ctx ends is what bounds the probe: goph opens the session without a
// context, and its SIGINT on cancel is refused on root logins. Closing it
// is also what stops a true that answers with more than limit.
func probe(ctx context.Context, cl *goph.Client, limit Size) error {
	defer cl.Close()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer stop()
	sess, err := cl.NewSession()
	if err != nil {
		return fmt.Errorf("run true: %w", contextCause(ctx, err))
	}
	defer sess.Close()
	var stderr bytes.Buffer
	budget := newOutputBudget(limit)
	sess.Stdout, sess.Stderr = budgetWriter{budget, io.Discard}, budgetWriter{budget, &stderr}
	go func() {
		select {
		case <-budget.over:
			cancel(&OutputLimitError{Limit: limit})
		case <-ctx.Done():
		}
	}()
	if err := sess.Run("true"); err != nil {
		return fmt.Errorf("run true: %w: %s", contextCause(ctx, err), firstLine(stderr.Bytes()))
	}
	return nil
}

// contextCause is why ctx ended, when it has, else err: closing the
// connection makes a session fail with a plain EOF.
func contextCause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// MovePort switches the connection to port: later commands and files use
// a new connection there, and the old one is closed.
func (c *Conn) MovePort(ctx context.Context, port int) error {
	cl, err := c.dialPort(ctx, port)
	if err != nil {
		return fmt.Errorf("move to port %d: %w", port, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.link.client.Close() // first, as in Close
	if c.sftp != nil {
		c.sftp.Close()
		c.sftp = nil
	}
	c.link.client = cl
	c.target.Port = port
	return nil
}

// Port is the port the connection is on now: the target's, from the
// inventory, -e or ssh config, until MovePort moves it.
func (c *Conn) Port() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.target.Port
}

// dialPort dials the host on another port. The host must show the key it
// showed on the open connection: known_hosts has no entry for a port sshd
// has only just started listening on, and this is the same host.
func (c *Conn) dialPort(ctx context.Context, port int) (*goph.Client, error) {
	e := c.target.Endpoint
	e.Port = port
	c.mu.Lock()
	via, key := c.link.via, c.link.hostKey
	c.mu.Unlock()
	cl, _, err := c.dialer.dialVia(ctx, via, c.target.Name, e, key)
	if err != nil {
		return nil, err
	}
	return &goph.Client{Client: cl}, nil
}
