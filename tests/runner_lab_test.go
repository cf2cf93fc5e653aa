package tests

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// The runner's lab tests share one lab: a host of every profile plus
// hidden hosts reachable only through the first. Each subtest runs the
// real remedy binary, as an operator would, and checks its exit code and
// parsed output.
func TestRunnerOnLab(t *testing.T) {
	// A dozen hidden hosts: more than sshd's MaxStartups lets log in to
	// their bastion at once.
	lab := labkit.New(t, labkit.Options{Hosts: len(labkit.Profiles), Hidden: 12})
	r := &remedyRunner{bin: buildRemedy(t), lab: lab, home: t.TempDir()}
	t.Run("every profile, read-only", r.everyProfile)
	t.Run("unknown host key refused, then trusted on first use", r.unknownKey)
	t.Run("changed host key refused", r.changedKey)
	t.Run("known_hosts named for one host vouch for no other", r.knownHostsScopedToTheirHost)
	t.Run("new keys recorded only in the operator's known_hosts", r.newKeysRecordedForTheOperator)
	t.Run("passwords only to hosts the operator's known_hosts vouch for", r.passwordsOnlyToVouchedHosts)
	t.Run("hostile inventory refused before any connection", r.hostileInventoryRefusedBeforeConnecting)
	t.Run("key in ssh-agent", r.sshAgent)
	t.Run("password asked once with -k", r.askPass)
	t.Run("become with a password as ops", r.becomePassword)
	t.Run("become password asked once with -K", r.askBecomePass)
	t.Run("wrong become password", r.wrongBecomePassword)
	t.Run("ProxyJump to a hidden host", r.proxyJump)
	t.Run("serial batches", r.serialBatches)
	t.Run("max-fail-percent stops later batches", r.maxFailPercent)
	t.Run("audit as JUnit", r.auditJUnit)
	t.Run("Ctrl-C mid-run", r.interrupt)
	t.Run("--update-inventory after sshd moved", r.updateInventory)
	// Last: it stops a host's sshd for good.
	t.Run("stopped sshd is unreachable, the others finish", r.stoppedSSHD)
}

const readOnlyPlaybook = `return {
  name = "runner lab: read-only", hosts = "all",
  tasks = {
    { name = "uid", run = function() return cmd.query({"id", "-u"}).stdout end },
    { name = "sshd_config", run = function()
        local c = file.read("/etc/ssh/sshd_config")
        expect(c ~= nil, "no sshd_config")
        return #c .. " bytes"
      end },
  },
}`

type remedyRunner struct {
	bin  string
	lab  *labkit.Lab
	home string // HOME for remedy: no ~/.ssh of the tester's
}

// runResult is one remedy invocation.
type runResult struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

func (res runResult) String() string {
	return "exit " + strconv.Itoa(res.code) + "\nstdout:\n" + res.stdout + "\nstderr:\n" + res.stderr
}

func (r *remedyRunner) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.bin, args...)
	cmd.Env = r.env()
	return cmd
}

func (r *remedyRunner) env() []string { return isolatedEnv(r.home) }

func (r *remedyRunner) run(t *testing.T, args ...string) runResult {
	t.Helper()
	res, _ := r.runMeasured(t, args...)
	return res
}

// runMeasured is run, and remedy's peak resident memory in bytes as the
// kernel counted it for the process.
func (r *remedyRunner) runMeasured(t *testing.T, args ...string) (runResult, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := r.command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	return runFinished(t, err, stdout, stderr, time.Since(start)), cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
}

func runFinished(t *testing.T, err error, stdout, stderr bytes.Buffer, took time.Duration) runResult {
	t.Helper()
	res := runResult{stdout: stdout.String(), stderr: stderr.String(), took: took}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("remedy: %v", err)
	}
	return res
}

func runnerFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// visible are the lab hosts reachable from the machine.
func (r *remedyRunner) visible() []labkit.Host {
	return slices.DeleteFunc(slices.Clone(r.lab.Hosts), func(h labkit.Host) bool { return h.Hidden })
}

func (r *remedyRunner) hidden(t *testing.T) labkit.Host {
	i := slices.IndexFunc(r.lab.Hosts, func(h labkit.Host) bool { return h.Hidden })
	if i < 0 {
		t.Fatal("the lab has no hidden host")
	}
	return r.lab.Hosts[i]
}

func parseRunJSON(t *testing.T, res runResult) jsonRun {
	t.Helper()
	return decodeRun(t, []byte(res.stdout), res.String())
}

func (doc jsonRun) host(t *testing.T, name string) jsonHost {
	t.Helper()
	i := slices.IndexFunc(doc.Hosts, func(h jsonHost) bool { return h.Name == name })
	if i < 0 {
		t.Fatalf("%s missing from the JSON", name)
	}
	return doc.Hosts[i]
}

func (h jsonHost) statuses() string {
	var parts []string
	for _, task := range h.Tasks {
		parts = append(parts, task.Name+"="+task.Status)
	}
	return strings.Join(parts, " ")
}

func (h jsonHost) msg(task string) string {
	for _, x := range h.Tasks {
		if x.Name == task {
			return x.Msg
		}
	}
	return ""
}

func (r *remedyRunner) everyProfile(t *testing.T) {
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	res := r.run(t, "run", pb, "-i", r.lab.Inventory, "-l", "!hidden", "--known-hosts", r.lab.KnownHosts, "-o", "json")
	if res.code != 0 {
		t.Fatalf("want exit 0: %s", res)
	}
	doc := parseRunJSON(t, res)
	t.Logf("read-only playbook over %d lab hosts: %v wall time", len(doc.Hosts), res.took.Round(time.Millisecond))
	if len(doc.Hosts) != len(r.visible()) || doc.Playbook != "runner lab: read-only" {
		t.Fatalf("JSON has playbook %q and %d hosts, want %d", doc.Playbook, len(doc.Hosts), len(r.visible()))
	}
	for _, lh := range r.visible() {
		h := doc.host(t, lh.Name)
		if h.Facts == nil || h.Facts.Firewall != lh.Profile || !h.Facts.Root || h.Facts.User != "root" {
			t.Errorf("%s (%s profile): facts %+v", lh.Name, lh.Profile, h.Facts)
		}
		if got := h.statuses(); got != "Gathering Facts=ok uid=ok sshd_config=ok" || h.Stats.OK != 3 {
			t.Errorf("%s: tasks %s, stats %+v", lh.Name, got, h.Stats)
		}
		if strings.TrimSpace(h.msg("uid")) != "0" {
			t.Errorf("%s: id -u said %q", lh.Name, h.msg("uid"))
		}
	}
}
