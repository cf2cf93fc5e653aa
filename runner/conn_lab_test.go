package runner

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remedy/lua/shell"
	"remedy/tests/lab/labkit"
)

// TestConnOnLab drives one Conn, as root over SFTP and as ops through
// sudo, against a real sshd on a lab host without a firewall.
func TestConnOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 1, Profiles: []string{"none"}})
	host := lab.Hosts[0]
	record := filepath.Join(t.TempDir(), "known_hosts")
	keys, err := NewHostKeys([]string{lab.KnownHosts, record}, record, false)
	if err != nil {
		t.Fatal(err)
	}
	d := &dialer{creds: &Credentials{}, keys: keys, timeout: 5 * time.Second}
	open := func(t *testing.T, user string, be *Become) *Conn {
		t.Helper()
		target := Target{Name: host.Name, Endpoint: Endpoint{Addr: host.Addr, Port: 22, User: user,
			KeyFiles: []string{lab.Key}, explicitKey: true}}
		c, err := connect(t.Context(), target, d, be, 3*time.Second, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	t.Run("root over SFTP", func(t *testing.T) {
		fileRoundTrip(t, lab, host.Name, open(t, "root", nil))
	})
	t.Run("ops through sudo", func(t *testing.T) {
		fileRoundTrip(t, lab, host.Name, open(t, lab.OpsUser, &Become{Password: lab.OpsPassword}))
	})
	t.Run("exit codes, stdin and the command timeout", func(t *testing.T) {
		execBasics(t, open(t, "root", nil))
	})
	t.Run("Probe and MovePort", func(t *testing.T) {
		movePort(t, lab, host, open(t, "root", nil), record)
	})
}

func fileRoundTrip(t *testing.T, lab *labkit.Lab, host string, c *Conn) {
	ctx := t.Context()
	path := "/root/remedy-conn-" + strings.ReplaceAll(t.Name(), "/", "-")
	if _, err := c.ReadFile(ctx, path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile of a missing file: %v, want fs.ErrNotExist", err)
	}
	data := "line one\nwith 'quotes' and $dollars\n"
	if out, err := lab.Exec(ctx, host, "sh", "-c", `printf '%s' "$1" > "$2" && chmod 0600 "$2"`, "sh", data, path); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got, err := c.ReadFile(ctx, path)
	if err != nil || string(got) != data {
		t.Fatalf("read back %q, %v", got, err)
	}
}

func execBasics(t *testing.T, c *Conn) {
	ctx := t.Context()
	out, err := c.Exec(ctx, shell.Join("sh", "-c", "cat; echo err >&2; exit 3"), []byte("from stdin"))
	if err != nil || out.ExitCode != 3 || string(out.Stdout) != "from stdin" || string(out.Stderr) != "err\n" {
		t.Errorf("Exec = %+v (stdout %q, stderr %q), %v", out, out.Stdout, out.Stderr, err)
	}
	start := time.Now()
	_, err = c.Exec(ctx, shell.Join("sleep", "30.75"), nil)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Errorf("a command past the 3s command timeout: %v after %v", err, time.Since(start))
	}
	if out, _ := c.Exec(ctx, "pgrep -f '[s]leep 30.75' || true", nil); len(out.Stdout) != 0 {
		t.Errorf("the timed-out command still runs: pids %s", out.Stdout)
	}
}

func movePort(t *testing.T, lab *labkit.Lab, host labkit.Host, c *Conn, record string) {
	ctx := t.Context()
	if err := c.Probe(ctx, 2222); err == nil {
		t.Fatal("Probe of a port nothing listens on succeeded")
	}
	if _, err := lab.Exec(ctx, host.Name, "/usr/sbin/sshd", "-p", "2222"); err != nil {
		t.Fatal(err)
	}
	// The new sshd may still be starting: wait for it to listen.
	for deadline := time.Now().Add(5 * time.Second); lab.Reach(host.Addr, "tcp", 2222, time.Second) != nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second sshd does not listen on 2222")
		}
	}
	if err := c.Probe(ctx, 2222); err != nil {
		t.Fatalf("Probe of the second sshd: %v", err)
	}
	data, err := os.ReadFile(record)
	if err != nil || !strings.Contains(string(data), "["+host.Addr+"]:2222 ") {
		t.Errorf("the key on the new port was not recorded: %q, %v", data, err)
	}
	if err := c.MovePort(ctx, 2222); err != nil {
		t.Fatal(err)
	}
	out, err := c.Exec(ctx, "echo $SSH_CONNECTION", nil)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out.Stdout)), " 2222") {
		t.Errorf("after MovePort the connection is %q, %v; want port 2222", out.Stdout, err)
	}
	if got := c.Port(); got != 2222 {
		t.Errorf("after MovePort the runner reports port %d, want 2222 (HostReport.MovedPort)", got)
	}
}
