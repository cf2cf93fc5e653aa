package runner

import (
	"context"
	"fmt"

	"github.com/melbahja/goph"
)

// Probe dials the host afresh on port, through the same bastions and with
// the same credentials, and runs a command there.
func (c *Conn) Probe(ctx context.Context, port int) error {
	cl, err := c.dialPort(ctx, port)
	if err != nil {
		return fmt.Errorf("probe port %d: %w", port, err)
	}
	if err := probe(ctx, cl); err != nil {
		return fmt.Errorf("probe port %d: %w", port, err)
	}
	return nil
}

// probe runs true on a fresh connection and closes it. Closing it when
// ctx ends is what bounds the probe: goph opens the session without a
// context, and its SIGINT on cancel is refused on root logins.
func probe(ctx context.Context, cl *goph.Client) error {
	defer cl.Close()
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer stop()
	if out, err := cl.RunContext(ctx, "true"); err != nil {
		return fmt.Errorf("run true: %w: %s", err, firstLine(out))
	}
	return nil
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
