package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"remedy/lua/shell"
	"remedy/tests/lab/labkit"
)

const becomePlaybook = `return {
  name = "runner lab: become", hosts = "all",
  tasks = {
    { name = "uid", run = function() return cmd.query({"id", "-u"}).stdout end },
    { name = "write as root", run = function()
        file.write { path = "/root/remedy-become.txt", content = "written through sudo\n", mode = "0600" }
      end },
    { name = "read as root", run = function() return file.read("/root/remedy-become.txt") end },
  },
}`

// opsInventory logs in as the lab's ops user, who needs a password for
// sudo; password is ansible_become_password, or none when empty.
func (r *remedyRunner) opsInventory(t *testing.T, password string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[all:vars]\nansible_user=%s\nansible_ssh_private_key_file=%s\n", r.lab.OpsUser, r.lab.Key)
	if password != "" {
		fmt.Fprintf(&b, "ansible_become_password='%s'\n", password)
	}
	b.WriteString("[targets]\n")
	for _, h := range r.visible()[:2] {
		fmt.Fprintf(&b, "%s ansible_host=%s\n", h.Name, h.Addr)
	}
	return runnerFile(t, "ops.ini", b.String())
}

func (r *remedyRunner) becomePassword(t *testing.T) {
	pb := runnerFile(t, "become.lua", becomePlaybook)
	inv := r.opsInventory(t, r.lab.OpsPassword)
	res := r.run(t, "run", pb, "-i", inv, "-b", "--known-hosts", r.lab.KnownHosts, "-vvv")
	if res.code != 0 || !strings.Contains(res.stdout, "sudo -k -S -p ''") || strings.Count(res.stdout, "changed: [") != 2 {
		t.Fatalf("want exit 0, commands run through sudo -S and the file written on both hosts: %s", res)
	}
	if strings.Contains(res.stdout+res.stderr, r.lab.OpsPassword) {
		t.Fatalf("the become password appears in remedy's output at -vvv")
	}
	res = r.run(t, "run", pb, "-i", inv, "-b", "--known-hosts", r.lab.KnownHosts, "-o", "json")
	if res.code != 0 {
		t.Fatalf("want exit 0: %s", res)
	}
	doc := parseRunJSON(t, res)
	for _, lh := range r.visible()[:2] {
		h := doc.host(t, lh.Name)
		if h.Facts == nil || h.Facts.User != r.lab.OpsUser || h.Facts.Root {
			t.Errorf("%s: facts %+v, want the connection user %s, not root", h.Name, h.Facts, r.lab.OpsUser)
		}
		// The second run finds the file as it should be.
		if got := h.statuses(); got != "Gathering Facts=ok uid=ok write as root=ok read as root=ok" {
			t.Errorf("%s: %s", h.Name, got)
		}
		if strings.TrimSpace(h.msg("uid")) != "0" || h.msg("read as root") != "written through sudo\n" {
			t.Errorf("%s: uid %q, read back %q", h.Name, h.msg("uid"), h.msg("read as root"))
		}
		out, err := r.lab.Exec(context.Background(), lh.Name, "stat", "-c", "%U %a", "/root/remedy-become.txt")
		if err != nil || strings.TrimSpace(string(out)) != "root 600" {
			t.Errorf("%s: the file written through sudo: %q, %v", lh.Name, out, err)
		}
	}
}

func (r *remedyRunner) wrongBecomePassword(t *testing.T) {
	const wrong = "not-the-ops-password"
	pb := runnerFile(t, "become.lua", becomePlaybook)
	res := r.run(t, "run", pb, "-i", r.opsInventory(t, wrong), "-b", "--known-hosts", r.lab.KnownHosts, "-vvv")
	if res.code != 2 || !strings.Contains(res.stdout, "refused the password") {
		t.Fatalf("want exit 2 and sudo's refusal: %s", res)
	}
	if strings.Contains(res.stdout+res.stderr, wrong) {
		t.Fatalf("the become password appears in remedy's output at -vvv")
	}
	// Without any password, sudo -n cannot run: the host fails saying -K.
	res = r.run(t, "run", pb, "-i", r.opsInventory(t, ""), "-b", "--known-hosts", r.lab.KnownHosts)
	if res.code != 2 || !strings.Contains(res.stdout, "-K") {
		t.Fatalf("no password: want exit 2 and a hint at -K: %s", res)
	}
}

// askBecomePass types the password at -K's prompt, once for all hosts.
func (r *remedyRunner) askBecomePass(t *testing.T) {
	pb := runnerFile(t, "become.lua", becomePlaybook)
	got := r.runOnTerminal(t, "BECOME password: ", r.lab.OpsPassword,
		"run", pb, "-i", r.opsInventory(t, ""), "-b", "-K", "--known-hosts", r.lab.KnownHosts, "-vvv")
	if strings.Count(got, "BECOME password: ") != 1 || strings.Count(got, "ok=4") != 2 {
		t.Fatalf("want one prompt and both hosts ok through sudo:\n%s", got)
	}
	if strings.Contains(got, r.lab.OpsPassword) {
		t.Fatalf("the typed password appears in remedy's output")
	}
}

// askPass logs in as ops with the password typed at -k's prompt, once for
// all hosts, and no key.
func (r *remedyRunner) askPass(t *testing.T) {
	var inv strings.Builder
	for _, h := range r.visible()[:2] {
		fmt.Fprintf(&inv, "%s ansible_host=%s ansible_user=%s\n", h.Name, h.Addr, r.lab.OpsUser)
	}
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	got := r.runOnTerminal(t, "SSH password: ", r.lab.OpsPassword,
		"run", pb, "-i", runnerFile(t, "pw.ini", inv.String()), "-k", "--known-hosts", r.lab.KnownHosts, "-vvv")
	if strings.Count(got, "SSH password: ") != 1 || strings.Count(got, "ok=3") != 2 {
		t.Fatalf("want one prompt and both hosts ok:\n%s", got)
	}
	if strings.Contains(got, r.lab.OpsPassword) {
		t.Fatalf("the typed password appears in remedy's output")
	}
}

// runOnTerminal runs remedy on a terminal (script gives it one), types
// answer once prompt shows, and returns everything remedy printed.
func (r *remedyRunner) runOnTerminal(t *testing.T, prompt, answer string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tm := startOnTerminal(t, ctx, shell.Join(append([]string{r.bin}, args...)...), r.env())
	// Typed before remedy turns echo off, the answer would be echoed by
	// the terminal, as for a person typing ahead: wait for the prompt,
	// which comes just before, and a little more.
	tm.waitFor(t, prompt, 20*time.Second)
	time.Sleep(300 * time.Millisecond)
	fmt.Fprintln(tm.stdin, answer)
	if err := tm.cmd.Wait(); err != nil {
		t.Fatalf("remedy on a terminal: %v\n%s", err, tm.out)
	}
	return tm.out.String()
}

// terminal is a shell command line running on a terminal script(1) gives
// it: what is typed on stdin, and everything printed.
type terminal struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *syncBuffer
}

// startOnTerminal starts line on a terminal, with env (nil: this test's).
func startOnTerminal(t *testing.T, ctx context.Context, line string, env []string) *terminal {
	t.Helper()
	labkit.RequireTools(t, "script")
	tm := &terminal{cmd: exec.CommandContext(ctx, "script", "-qec", line, "/dev/null"), out: &syncBuffer{}}
	tm.cmd.Env = env
	var err error
	if tm.stdin, err = tm.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	tm.cmd.Stdout, tm.cmd.Stderr = tm.out, tm.out
	if err := tm.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return tm
}

// waitFor waits until the terminal shows text, and fails the test if it
// does not within d.
func (tm *terminal) waitFor(t *testing.T, text string, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); !strings.Contains(tm.out.String(), text); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%q never showed: %s", text, tm.out)
		}
	}
}

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
