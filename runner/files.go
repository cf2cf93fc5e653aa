package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/pkg/sftp"

	"remedy/lua/shell"
)

// ReadFile reads path over SFTP, or with cat: under become, through sudo
// or su, and on a host whose SFTP subsystem is missing or refused (no
// Subsystem line in sshd_config, no sftp-server), as Ansible falls back
// to its own transfer there. A file larger than maxOutput is not read
// past it: a host decides how large its files are, and says so only as
// it sends them.
func (c *Conn) ReadFile(ctx context.Context, path string) ([]byte, error) {
	if c.become != nil {
		return c.readWithCat(ctx, path)
	}
	var data []byte
	err := c.withSFTP(ctx, func(fsys *sftp.Client) error {
		f, err := fsys.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		data, err = io.ReadAll(io.LimitReader(f, int64(c.maxOutput)+1))
		if err == nil && int64(len(data)) > int64(c.maxOutput) {
			data = nil
			return &OutputLimitError{Limit: c.maxOutput, File: true}
		}
		return err
	})
	if errors.Is(err, errNoSFTP) {
		return c.readWithCat(ctx, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// readWithCat reads path with cat, bounded by maxOutput as any command.
func (c *Conn) readWithCat(ctx context.Context, path string) ([]byte, error) {
	out, err := c.Exec(ctx, shell.Join(shell.ReadFileArgv(path)...), nil)
	var limit *OutputLimitError
	switch {
	case errors.As(err, &limit):
		return nil, fmt.Errorf("read %s: %w", path, &OutputLimitError{Limit: limit.Limit, File: true})
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	case out.ExitCode == shell.MissingFile:
		return nil, fmt.Errorf("read %s: %w", path, fs.ErrNotExist)
	case out.ExitCode != 0:
		return nil, fmt.Errorf("read %s: exit %d: %s", path, out.ExitCode, firstLine(out.Stderr))
	}
	return out.Stdout, nil
}

// withSFTP runs f with the host's SFTP client and returns when ctx ends
// or --command-timeout passes, answered or not, as a command does: SFTP
// requests take no context, and a host that stops answering would hold a
// Ctrl-C, or the whole run. A request left behind ends when the
// connection closes.
func (c *Conn) withSFTP(ctx context.Context, f func(*sftp.Client) error) error {
	ctx, cancel := c.withCommandTimeout(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		fsys, err := c.sftpClient()
		if err == nil {
			err = f(fsys)
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// errNoSFTP marks a host whose SFTP subsystem could not be started:
// files are read with commands there, and the host stays reachable. A
// connection that is really gone fails those commands as unreachable.
var errNoSFTP = errors.New("no sftp subsystem")

// sftpClient starts the host's one SFTP client on first use. A start
// that fails is not tried again on this connection.
func (c *Conn) sftpClient() (*sftp.Client, error) {
	c.sftpStart.Lock()
	defer c.sftpStart.Unlock()
	c.mu.Lock()
	s, client, missing := c.sftp, c.link.client, c.sftpMissing
	c.mu.Unlock()
	if s != nil {
		return s, nil
	}
	if missing != nil {
		return nil, missing
	}
	s, err := client.NewSftp()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.link.client != client {
		// Closed or moved to another port while it started: its link is
		// closed already, so closing it does not wait.
		if s != nil {
			s.Close()
		}
		return nil, &UnreachableError{Host: c.target.Name, Err: errors.New("start sftp: the connection closed")}
	}
	if err != nil {
		c.sftpMissing = fmt.Errorf("%w: %w", errNoSFTP, err)
		return nil, c.sftpMissing
	}
	c.sftp = s
	return s, nil
}
