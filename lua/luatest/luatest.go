// Package luatest runs playbooks in tests without SSH: LocalHost is a
// managed host on this machine, and Run and Only load a playbook snippet
// and run it there as the CLI would, with the libraries shipped with
// remedy. Module tests and the engine's own use it; a test that needs
// every module links them with a blank import of remedy/lua/modules/all.
package luatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"remedy/lua"
	"remedy/lua/remote"
	"remedy/playbooks"
)

// LocalHost is a real Host on this machine: commands run with sh -c in a
// temporary directory, files are read with the os package.
type LocalHost struct {
	HostName string
	Dir      string
	port     int
}

// NewLocalHost returns a LocalHost named "local" in a new temporary
// directory, its connection on port 22.
func NewLocalHost(t testing.TB) *LocalHost {
	t.Helper()
	return &LocalHost{HostName: "local", Dir: t.TempDir(), port: 22}
}

func (h *LocalHost) Name() string { return h.HostName }

func (h *LocalHost) Exec(ctx context.Context, cmd string, stdin []byte) (remote.Output, error) {
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	c.Dir = h.Dir
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

func (h *LocalHost) ReadFile(ctx context.Context, path string) ([]byte, error) {
	return os.ReadFile(path)
}

// Probe connects to port on the loopback address: the local stand-in for
// dialling the host afresh.
func (h *LocalHost) Probe(ctx context.Context, port int) error {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return c.Close()
}

func (h *LocalHost) MovePort(ctx context.Context, port int) error {
	if err := h.Probe(ctx, port); err != nil {
		return err
	}
	h.port = port
	return nil
}

// Port is the port MovePort last moved to; 22, SSH's own, before.
func (h *LocalHost) Port() int { return h.port }

// DirVars are run options giving the playbook the host's directory as
// v.dir.
func (h *LocalHost) DirVars() lua.RunOptions {
	return lua.RunOptions{Vars: map[string]any{"dir": h.Dir}}
}

// Shipped is where require finds the libraries shipped with remedy, as
// the CLI passes them.
var Shipped = lua.LoadOptions{Shipped: lua.Dir{FS: playbooks.Lib, Name: playbooks.LibName}}

// Builtin is the source of a built-in playbook, as the CLI finds it.
func Builtin(name string) lua.Source {
	b, _ := playbooks.Lookup(name)
	return lua.Source{Text: b.Source, Name: b.File, Dir: lua.Dir{FS: b.Dir, Name: b.DirName}}
}

// WritePlaybook writes src as a playbook file, site.lua in a temporary
// directory.
func WritePlaybook(t testing.TB, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "site.lua")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Load loads a playbook file as the CLI does.
func Load(path string, luaPath ...string) (*lua.Playbook, error) {
	src, err := lua.ReadFile(path)
	if err != nil {
		return nil, err
	}
	o := Shipped
	o.LuaPath = luaPath
	return lua.Load(src, o)
}

// Run loads src and runs it on h, returning every result.
func Run(t testing.TB, h remote.Host, src string, o lua.RunOptions) ([]remote.Result, error) {
	t.Helper()
	p, err := Load(WritePlaybook(t, src))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	var got []remote.Result
	err = p.Run(context.Background(), h, o, func(r remote.Result) { got = append(got, r) })
	return got, err
}

// Only runs src on h and returns its single result.
func Only(t testing.TB, h remote.Host, src string, o lua.RunOptions) remote.Result {
	t.Helper()
	rs, err := Run(t, h, src, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("want one result, got %+v", rs)
	}
	return rs[0]
}

// Task wraps a task body into a one-task playbook; the body sees v.
func Task(body string) string {
	return "return { tasks = { { name = \"t\", run = function(v)\n" + body + "\nend } } }"
}

// Statuses renders results as "name=status ...".
func Statuses(rs []remote.Result) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Name+"="+string(r.Status))
	}
	return strings.Join(s, " ")
}

// random are the names remedy draws at random on a host: a timed
// revert's token, a write's private directory and its backup.
var random = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`remedy-revert-(fw|sshd)-[0-9a-f]{12}`), "remedy-revert-$1-TOKEN"},
	{regexp.MustCompile(`\.remedy-[0-9a-f]{16}\b`), ".remedy-RANDOM"},
	{regexp.MustCompile(`\.remedy-\d{8}T\d{6}Z-[0-9a-f]{16}\.bak`), ".remedy-TIME.bak"},
}

// Masked replaces the names remedy draws at random (revert tokens,
// private directories, backups) with fixed words, so that planned
// commands and messages compare.
func Masked(s string) string {
	for _, r := range random {
		s = r.re.ReplaceAllString(s, r.with)
	}
	return s
}
