package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// sshAgent authenticates when neither the inventory nor the command line
// names a key: the lab key is only in an ssh-agent.
func (r *remedyRunner) sshAgent(t *testing.T) {
	labkit.RequireTools(t, "ssh-agent", "ssh-add")
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		agent.Process.Kill()
		agent.Wait()
	})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ssh-agent did not create its socket")
		}
	}
	add := exec.Command("ssh-add", r.lab.Key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v: %s", err, out)
	}
	h := r.visible()[0]
	inv := runnerFile(t, "agent.ini", fmt.Sprintf("%s ansible_host=%s ansible_user=root\n", h.Name, h.Addr))
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	args := []string{"run", pb, "-i", inv, "--known-hosts", r.lab.KnownHosts}

	if res := r.run(t, args...); res.code != 4 || !strings.Contains(res.stdout, "unable to authenticate") {
		t.Fatalf("without the agent: want exit 4, no way to authenticate: %s", res)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := r.command(ctx, args...)
	cmd.Env = append(cmd.Env, "SSH_AUTH_SOCK="+sock)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "ok=3") {
		t.Fatalf("with the key in ssh-agent: %v\n%s", err, out)
	}
}
