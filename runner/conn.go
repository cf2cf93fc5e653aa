package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"remedy/lua"
	"remedy/lua/shell"
)

// Conn is one host's SSH connection for a whole run. Every command is a
// session on it; files go through one SFTP client, or through sudo
// commands under become. It satisfies lua.Host.
type Conn struct {
	target     Target
	dialer     *dialer
	become     *become
	cmdTimeout time.Duration
	trace      func(Command)

	mu   sync.Mutex
	link *link
	sftp *sftp.Client
}

// connect dials t and, with become, finds out how its sudo behaves.
func connect(ctx context.Context, t Target, d *dialer, be *Become, cmdTimeout time.Duration, trace func(Command)) (*Conn, error) {
	l, err := d.dial(ctx, t)
	if err != nil {
		return nil, &UnreachableError{Host: t.Name, Err: err}
	}
	c := &Conn{target: t, dialer: d, link: l, cmdTimeout: cmdTimeout, trace: trace}
	if be != nil {
		if c.become, err = setupBecome(ctx, t.Name, *be, c.runRaw); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Name is the host's inventory name.
func (c *Conn) Name() string { return c.target.Name }

// Close ends the SFTP client, the connection and its bastions.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sftp != nil {
		c.sftp.Close()
		c.sftp = nil
	}
	c.link.close()
	return nil
}

// Exec runs cmd, through sudo under become, and reports it to the trace.
func (c *Conn) Exec(ctx context.Context, cmd string, stdin []byte) (lua.Output, error) {
	line := cmd
	if c.become != nil {
		line, stdin = c.become.wrap(cmd, stdin)
	}
	start := time.Now()
	out, err := c.run(ctx, line, stdin)
	if c.trace != nil {
		c.trace(Command{Host: c.target.Name, Line: line, Stdout: out.Stdout, Stderr: out.Stderr,
			ExitCode: out.ExitCode, Err: err, Duration: time.Since(start)})
	}
	return out, err
}

// runRaw is run without its output, for setupBecome.
func (c *Conn) runRaw(ctx context.Context, line string, stdin []byte) (int, []byte, error) {
	out, err := c.run(ctx, line, stdin)
	return out.ExitCode, out.Stderr, err
}

// run runs one command line in a new session. When ctx ends first, the
// remote command's process group gets SIGTERM and its session is closed.
func (c *Conn) run(ctx context.Context, line string, stdin []byte) (lua.Output, error) {
	if c.cmdTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cmdTimeout)
		defer cancel()
	}
	sess, err := c.client().NewSession()
	if err != nil {
		return lua.Output{}, &UnreachableError{Host: c.target.Name, Err: fmt.Errorf("new session: %w", err)}
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	errw := &pgidWriter{out: &stderr}
	sess.Stdout, sess.Stderr = &stdout, errw
	if stdin != nil {
		sess.Stdin = bytes.NewReader(stdin)
	}
	if err := sess.Start(announcePGID(line)); err != nil {
		return lua.Output{}, &UnreachableError{Host: c.target.Name, Err: fmt.Errorf("start command: %w", err)}
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		c.killGroup(errw.group())
		sess.Close()
		select {
		case <-done:
		case <-time.After(killTimeout):
		}
		return lua.Output{ExitCode: -1}, fmt.Errorf("%s: command stopped: %w", c.target.Name, context.Cause(ctx))
	}
	errw.flush()
	out := lua.Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	return c.exitStatus(out, err)
}

// exitStatus reads how a command ended: its exit code, or a lost
// connection, which makes the host unreachable.
func (c *Conn) exitStatus(out lua.Output, err error) (lua.Output, error) {
	var exit *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return out, nil
	case errors.As(err, &exit):
		out.ExitCode = exit.ExitStatus()
		if exit.Signal() != "" {
			return out, fmt.Errorf("%s: command killed by SIG%s", c.target.Name, exit.Signal())
		}
		return out, nil
	case errors.As(err, &missing), errors.Is(err, io.EOF):
		return out, &UnreachableError{Host: c.target.Name, Err: fmt.Errorf("connection lost during a command: %w", err)}
	default:
		return out, fmt.Errorf("%s: command: %w", c.target.Name, err)
	}
}

func (c *Conn) client() *ssh.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.link.client
}

// ReadFile reads path over SFTP, or with cat through sudo under become.
func (c *Conn) ReadFile(ctx context.Context, path string) ([]byte, error) {
	if c.become != nil {
		return c.readWithSudo(ctx, path)
	}
	fsys, err := c.sftpClient()
	if err != nil {
		return nil, err
	}
	f, err := fsys.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", c.target.Name, path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", c.target.Name, path, err)
	}
	return data, nil
}

// missingFile is readWithSudo's exit code for a file that does not exist,
// so a missing file is told from an unreadable one without parsing
// localized error messages.
const missingFile = 66

func (c *Conn) readWithSudo(ctx context.Context, path string) ([]byte, error) {
	script := `test -e "$1" || exit ` + strconv.Itoa(missingFile) + `; exec cat -- "$1"`
	out, err := c.Exec(ctx, shell.Join("sh", "-c", script, "sh", path), nil)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: read %s: %w", c.target.Name, path, err)
	case out.ExitCode == missingFile:
		return nil, fmt.Errorf("%s: read %s: %w", c.target.Name, path, fs.ErrNotExist)
	case out.ExitCode != 0:
		return nil, fmt.Errorf("%s: read %s: exit %d: %s", c.target.Name, path, out.ExitCode, firstLine(out.Stderr))
	}
	return out.Stdout, nil
}

// WriteFile writes path over SFTP, or with cat through sudo under become.
func (c *Conn) WriteFile(ctx context.Context, path string, data []byte, perm uint32) error {
	if c.become != nil {
		return c.writeWithSudo(ctx, path, data, perm)
	}
	fsys, err := c.sftpClient()
	if err != nil {
		return err
	}
	f, err := fsys.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("%s: write %s: %w", c.target.Name, path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Chmod(path, os.FileMode(perm))
	}
	if err != nil {
		return fmt.Errorf("%s: write %s: %w", c.target.Name, path, err)
	}
	return nil
}

func (c *Conn) writeWithSudo(ctx context.Context, path string, data []byte, perm uint32) error {
	script := `cat > "$1" && chmod "$2" "$1"`
	mode := strconv.FormatUint(uint64(perm&0o7777), 8)
	out, err := c.Exec(ctx, shell.Join("sh", "-c", script, "sh", path, mode), data)
	if err != nil {
		return fmt.Errorf("%s: write %s: %w", c.target.Name, path, err)
	}
	if out.ExitCode != 0 {
		return fmt.Errorf("%s: write %s: exit %d: %s", c.target.Name, path, out.ExitCode, firstLine(out.Stderr))
	}
	return nil
}

// sftpClient starts the host's one SFTP client on first use.
func (c *Conn) sftpClient() (*sftp.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sftp == nil {
		s, err := sftp.NewClient(c.link.client)
		if err != nil {
			return nil, &UnreachableError{Host: c.target.Name, Err: fmt.Errorf("start sftp: %w", err)}
		}
		c.sftp = s
	}
	return c.sftp, nil
}

// Probe dials the host afresh on port, through the same bastions and with
// the same credentials, and runs a command there.
func (c *Conn) Probe(ctx context.Context, port int) error {
	cl, err := c.dialPort(ctx, port)
	if err != nil {
		return fmt.Errorf("%s: probe port %d: %w", c.target.Name, port, err)
	}
	defer cl.Close()
	sess, err := cl.NewSession()
	if err != nil {
		return fmt.Errorf("%s: probe port %d: new session: %w", c.target.Name, port, err)
	}
	defer sess.Close()
	if err := sess.Run("true"); err != nil {
		return fmt.Errorf("%s: probe port %d: run true: %w", c.target.Name, port, err)
	}
	return nil
}

// MovePort switches the connection to port: later commands and files use
// a new connection there, and the old one is closed.
func (c *Conn) MovePort(ctx context.Context, port int) error {
	cl, err := c.dialPort(ctx, port)
	if err != nil {
		return fmt.Errorf("%s: move to port %d: %w", c.target.Name, port, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sftp != nil {
		c.sftp.Close()
		c.sftp = nil
	}
	c.link.client.Close()
	c.link.client = cl
	c.target.Port = port
	return nil
}

// dialPort dials the host on another port. The host must show the key it
// showed on the open connection: known_hosts has no entry for a port sshd
// has only just started listening on, and this is the same host.
func (c *Conn) dialPort(ctx context.Context, port int) (*ssh.Client, error) {
	e := c.target.Endpoint
	e.Port = port
	c.mu.Lock()
	via, key := c.link.last(), c.link.hostKey
	c.mu.Unlock()
	cl, _, err := c.dialer.dialVia(ctx, via, c.target.Name, e, key)
	return cl, err
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}
