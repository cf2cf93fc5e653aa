package tests

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The sleep the secrets playbook runs on every host in the watched run:
// long enough to snapshot every process's arguments and environment while
// remedy works, and a duration no other test uses. The other runs sleep 0.
const secretsSleep = "6.173"

// secretsPlaybook changes a file (a diff to show), runs a long command,
// fails on one host (a retry file to write) and has a failing check (an
// audit report with findings).
const secretsPlaybook = `return {
  name = "security: secrets", hosts = "all",
  tasks = {
    { name = "write", run = function()
        file.write { path = "/etc/remedy-secrets.conf", content = "written " .. os.time() .. "\n", mode = "0600" }
      end },
    { name = "long", run = function(v) cmd.query({ "sleep", v.secrets_sleep or "0" }) end },
    { name = "fail on one host", run = function() expect(host.name ~= "%s", "failed on purpose") end },
  },
  checks = {
    { name = "a finding", severity = "low", run = function() expect(false, "found on purpose") end },
  },
}`

// canaryPasswords makes the ops user's password a canary, logs in with it
// (ansible_password) and becomes root with it (ansible_become_password),
// then searches every output format, every file remedy wrote on either side
// and every process's arguments and environment, taken while a task runs,
// for it.
func (s *securityLab) canaryPasswords(t *testing.T) {
	canary := "canary-" + s.token + "-Pw"
	for _, h := range s.visible() {
		if out, err := s.lab.Exec(context.Background(), h.Name, "sh", "-c", `echo "$1:$2" | chpasswd`, "sh", s.lab.OpsUser, canary); err != nil {
			t.Fatalf("%s: chpasswd: %v: %s", h.Name, err, out)
		}
	}
	invFile := s.passwordInventory(t, canary, canary)
	pb := runnerFile(t, "secrets.lua", fmt.Sprintf(secretsPlaybook, s.visible()[0].Name))
	out := t.TempDir() // reports, retry files and remedy's TMPDIR
	common := []string{"-i", invFile, "-b", "--known-hosts", s.lab.KnownHosts, "-vvv"}
	runs := [][]string{
		append([]string{"run", pb, "-o", "text", "-D", "--retry-file", filepath.Join(out, "retry.text")}, common...),
		append([]string{"run", pb, "-o", "json", "--retry-file", filepath.Join(out, "retry.json")}, common...),
		append([]string{"run", pb, "-o", "junit"}, common...),
		append([]string{"audit", pb, "--report", filepath.Join(out, "audit.html")}, common...),
		append([]string{"audit", pb, "--report", filepath.Join(out, "audit.md")}, common...),
		{"inventory", "-i", invFile, "--list"},
		{"inventory", "-i", invFile, "--host", s.visible()[0].Name},
	}
	var seen bytes.Buffer
	for i, args := range runs {
		if i == 0 {
			args = append(args, "-e", "secrets_sleep="+secretsSleep)
		}
		res, procs := s.runWatched(t, out, i == 0, args...)
		if res.code != 2 && res.code != 3 && res.code != 0 {
			t.Fatalf("remedy %s: want a run that logs in and becomes root: %s", args[0], res)
		}
		seen.WriteString(res.stdout + res.stderr + procs)
	}
	if !strings.Contains(seen.String(), "sleep "+secretsSleep) {
		t.Fatalf("no process snapshot caught the long task running")
	}
	for _, f := range reportFiles(t, out) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seen.Write(b)
	}
	for _, h := range s.visible() {
		files, _ := s.lab.Exec(context.Background(), h.Name, "sh", "-c",
			`grep -rlaF -e "$1" -e "$2" /tmp /root /home /etc /run /var/tmp 2>/dev/null; true`, "sh", canary, base64.StdEncoding.EncodeToString([]byte(canary)))
		if len(bytes.TrimSpace(files)) > 0 {
			t.Errorf("%s: files on the host hold the password: %s", h.Name, files)
		}
	}
	assertNoCanary(t, "remedy's output, reports, retry files and process table", seen.String(), canary)
}

// passwordInventory logs in as ops with an SSH password and a sudo
// password, no key.
func (s *securityLab) passwordInventory(t *testing.T, password, becomePassword string) string {
	t.Helper()
	var inv strings.Builder
	fmt.Fprintf(&inv, "[all:vars]\nansible_user=%s\nansible_password=%s\nansible_become_password=%s\n[targets]\n", s.lab.OpsUser, password, becomePassword)
	for _, h := range s.visible() {
		fmt.Fprintf(&inv, "%s ansible_host=%s\n", h.Name, h.Addr)
	}
	return runnerFile(t, "passwords.ini", inv.String())
}

// refusedPasswords gives a wrong SSH password, then the right one (the
// canary canaryPasswords made ops's password) with a wrong sudo password:
// the refusals must not repeat what was given.
func (s *securityLab) refusedPasswords(t *testing.T) {
	wrong := "wrong-" + s.token + "-Pw"
	canary := "canary-" + s.token + "-Pw"
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	for _, c := range []struct {
		inv  string
		code int
	}{
		{s.passwordInventory(t, wrong, wrong), 4},
		{s.passwordInventory(t, canary, wrong), 2},
	} {
		for _, format := range []string{"text", "json"} {
			res := s.run(t, "run", pb, "-i", c.inv, "-b", "--known-hosts", s.lab.KnownHosts, "-vvv", "-o", format)
			if res.code != c.code {
				t.Fatalf("want exit %d: %s", c.code, res)
			}
			assertNoCanary(t, "remedy's output for a refused password", res.stdout+res.stderr, wrong)
		}
	}
}

// assertNoCanary fails when text holds the canary as is or base64-encoded.
func assertNoCanary(t *testing.T, what, text, canary string) {
	t.Helper()
	for _, form := range []string{canary, base64.StdEncoding.EncodeToString([]byte(canary))} {
		if i := strings.Index(text, form); i >= 0 {
			t.Errorf("%s hold the secret: ...%s...", what, text[max(0, i-200):min(len(text), i+len(form)+50)])
		}
	}
}

// runWatched runs remedy with its own TMPDIR under dir; when watch is set
// it snapshots the arguments and environment of every process on the
// machine (the lab hosts share its process table) and, through the lab,
// those a host sees, while the long task runs.
func (s *securityLab) runWatched(t *testing.T, dir string, watch bool, args ...string) (runResult, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := s.command(ctx, args...)
	cmd.Env = append(cmd.Env, "TMPDIR="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var procs string
	var wg sync.WaitGroup
	if watch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			procs = s.snapshotWhileSleeping(ctx)
		}()
	}
	err := cmd.Wait()
	wg.Wait()
	return runFinished(t, err, stdout, stderr, time.Since(start)), procs
}

// snapshotWhileSleeping waits until the long task runs, then returns every
// process's command line and environment, from the controller and from
// inside the first host.
func (s *securityLab) snapshotWhileSleeping(ctx context.Context) string {
	for countProcesses("sleep "+secretsSleep) == 0 {
		select {
		case <-ctx.Done():
			return ""
		case <-time.After(50 * time.Millisecond):
		}
	}
	script := `for p in /proc/[0-9]*; do tr '\0' ' ' < $p/cmdline; echo; tr '\0' '\n' < $p/environ; done 2>/dev/null`
	local, _ := exec.CommandContext(ctx, "sh", "-c", script).Output()
	remote, _ := s.lab.Exec(ctx, s.visible()[0].Name, "sh", "-c", script)
	return string(local) + string(remote)
}

// canaryPassphrase logs in as root with an encrypted key whose passphrase
// is typed at remedy's prompt, at -vvv, and searches what remedy printed.
func (s *securityLab) canaryPassphrase(t *testing.T) {
	passphrase := "passphrase-" + s.token
	key := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "remedy-security", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	h := s.visible()[0]
	if out, err := s.lab.Exec(context.Background(), h.Name, "sh", "-c", `printf '%s' "$1" >> /root/.ssh/authorized_keys`, "sh", string(pub)); err != nil {
		t.Fatalf("%s: authorize the encrypted key: %v: %s", h.Name, err, out)
	}
	inv := runnerFile(t, "passphrase.ini", fmt.Sprintf("%s ansible_host=%s ansible_user=root\n", h.Name, h.Addr))
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	got := s.runOnTerminal(t, "Enter passphrase for key '"+key+"': ", passphrase,
		"run", pb, "-i", inv, "--private-key", key, "--known-hosts", s.lab.KnownHosts, "-vvv")
	if !strings.Contains(got, "ok=3") {
		t.Fatalf("want the host ok with the encrypted key:\n%s", got)
	}
	assertNoCanary(t, "remedy's output on the terminal", got, passphrase)
}
