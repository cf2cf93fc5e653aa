package lua

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"remedy/lua/remote"
)

// localHost is a real Host on this machine: commands run with sh -c in a
// temporary directory, files are read and written with the os package.
// Module tests run against it without SSH.
type localHost struct {
	name string
	dir  string
	port int
}

func newLocalHost(t *testing.T) *localHost {
	t.Helper()
	return &localHost{name: "local", dir: t.TempDir(), port: 22}
}

func (h *localHost) Name() string { return h.name }

func (h *localHost) Exec(ctx context.Context, cmd string, stdin []byte) (remote.Output, error) {
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	c.Dir = h.dir
	// Kill the whole process group on cancellation, so a child such as
	// sleep does not keep the output pipes (and Wait) open.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return remote.Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: ee.ExitCode()}, nil
	}
	if err != nil {
		return remote.Output{}, fmt.Errorf("sh -c: %w", err)
	}
	return remote.Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, nil
}

func (h *localHost) ReadFile(ctx context.Context, path string) ([]byte, error) {
	return os.ReadFile(path)
}

// Probe connects to port on the loopback address: the local stand-in for
// dialling the host afresh.
func (h *localHost) Probe(ctx context.Context, port int) error {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return c.Close()
}

func (h *localHost) MovePort(ctx context.Context, port int) error {
	if err := h.Probe(ctx, port); err != nil {
		return err
	}
	h.port = port
	return nil
}

// Port is the port MovePort last moved to; 22, SSH's own, before.
func (h *localHost) Port() int { return h.port }
