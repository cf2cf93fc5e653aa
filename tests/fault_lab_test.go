package tests

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// TestFaultsOnLab runs a playbook over hosts that each meet a different
// fault while it runs: each fault must be reported on its own host with a
// message that names it, the healthy host must finish as if nothing
// happened, and no host may be left with a half-written file. The host
// that goes silent has a run of its own: a run that never ends must not
// hide the other faults' results.
func TestFaultsOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: len(faultRoles), Profiles: []string{"nftables", "none"}})
	f := &faultLab{remedyRunner: remedyRunner{bin: buildRemedy(t), lab: lab, home: t.TempDir()}}
	f.hosts = map[string]labkit.Host{}
	for i, role := range faultRoles {
		f.hosts[role.name] = lab.Hosts[i]
		f.sh(t, lab.Hosts[i].Name, "mkdir -p "+faultDir)
	}
	t.Run("sshd killed, silent listener, command timeout, full filesystem", func(t *testing.T) {
		f.faults(t, "healthy", "sshd killed", "silent listener", "command timeout", "filesystem full")
	})
	t.Run("a host drops every packet mid-run", func(t *testing.T) {
		f.faults(t, "healthy", "packets dropped")
	})
}

// faultRole is what happens to one host during the run, the remote sleep
// that marks the moment to inject it, and what its result must say.
type faultRole struct {
	name, sleep string
	status      string         // the host's status for the task that meets the fault
	msg         *regexp.Regexp // in the host's error or that task's message
}

var faultRoles = []faultRole{
	{"healthy", "1.404", "", nil},
	{"sshd killed", "6.101", "unreachable", regexp.MustCompile(`(?i)connection|EOF|closed|reset`)},
	{"packets dropped", "6.202", "unreachable|failed", regexp.MustCompile(`(?i)timed? ?out|deadline`)},
	{"silent listener", "1.404", "unreachable", regexp.MustCompile(`(?i)handshake|timed? ?out|banner`)},
	{"command timeout", "30.303", "failed", regexp.MustCompile(`(?i)timed? ?out|timeout`)},
	{"filesystem full", "1.404", "failed", regexp.MustCompile(`(?i)no space|ENOSPC|disk quota|full`)},
}

func faultRoleNamed(name string) faultRole {
	return faultRoles[slices.IndexFunc(faultRoles, func(r faultRole) bool { return r.name == name })]
}

// faultConfig is the file every host writes; faultOriginal what it held.
const (
	faultDir      = "/etc/remedy-fault"
	faultConfig   = faultDir + "/app.conf"
	faultOriginal = "original=1\n"
	silentPort    = 2222
	faultTimeout  = 8 * time.Second // --command-timeout
)

// faultPlaybook writes a config bigger than the full host's filesystem
// has room for, runs the host's sleep, then writes a second file.
const faultPlaybook = `return { name = "faults", hosts = "all", tasks = {
  { name = "write config", run = function(v)
      file.write { path = "` + faultConfig + `", content = string.rep("new=1\n", 20000), mode = "0644" }
    end },
  { name = "long", run = function(v) cmd.query({ "sleep", v.sleep_for }) end },
  { name = "after", run = function() file.write { path = "` + faultDir + `/after.conf", content = "after\n" } end },
} }`

type faultLab struct {
	remedyRunner
	hosts map[string]labkit.Host // by role name
}

// faultDeadline bounds a run with faults: every fault here has a timeout
// (--timeout 3s, --command-timeout 8s) well inside it.
const faultDeadline = 30 * time.Second

// faults runs the playbook on the hosts of the given roles, injecting each
// role's fault, and checks what each host reports and holds afterwards.
func (f *faultLab) faults(t *testing.T, roles ...string) {
	var injectors []func(context.Context) error
	for _, role := range roles {
		if role != "filesystem full" {
			f.sh(t, f.hosts[role].Name, fmt.Sprintf("printf '%s' > %s && rm -f %s/after.conf", faultOriginal, faultConfig, faultDir))
		}
		switch role {
		case "filesystem full":
			f.fillFilesystem(t, f.hosts[role])
		case "silent listener":
			defer f.silentListener(t, f.hosts[role])()
		case "sshd killed":
			injectors = append(injectors, func(ctx context.Context) error { return f.atSleep(ctx, role, f.killSSHD) })
		case "packets dropped":
			injectors = append(injectors, func(ctx context.Context) error { return f.atSleep(ctx, role, f.dropPackets) })
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), faultDeadline)
	defer cancel()
	cmd := f.command(ctx, "run", runnerFile(t, "faults.lua", faultPlaybook), "-i", f.inventory(t, roles), "--known-hosts", f.lab.KnownHosts,
		"-o", "json", "--timeout", "3s", "--command-timeout", faultTimeout.String())
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	injected := make(chan error, len(injectors))
	for _, inject := range injectors {
		go func() { injected <- inject(ctx) }()
	}
	err := cmd.Wait()
	res := runResult{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	for range injectors {
		if ierr := <-injected; ierr != nil {
			t.Errorf("injecting a fault: %v", ierr)
		}
	}
	if exit, ok := err.(*exec.ExitError); ok {
		res.code = exit.ExitCode()
	}
	t.Logf("exit %d after %v", res.code, res.took.Round(time.Millisecond))
	if ctx.Err() != nil {
		t.Fatalf("remedy did not finish within %v: a fault left it waiting forever: %s", faultDeadline, res)
	}
	if res.code != 4 && res.code != 2 {
		t.Fatalf("want exit 4 (unreachable hosts) or 2 (failed hosts): %s", res)
	}
	f.assertReported(t, parseRunJSON(t, res), roles)
	f.assertFilesWhole(t, roles)
	waitForRemote(t, "sleep "+faultRoles[4].sleep, 0)
}

// inventory lists the six hosts, each with its sleep; the silent
// listener's host is dialled on the port where nothing ever speaks SSH.
func (f *faultLab) inventory(t *testing.T, roles []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[all:vars]\nansible_user=root\nansible_ssh_private_key_file=%s\n[lab]\n", f.lab.Key)
	for _, name := range roles {
		role := faultRoleNamed(name)
		h := f.hosts[name]
		fmt.Fprintf(&b, "%s ansible_host=%s sleep_for=%s", h.Name, h.Addr, role.sleep)
		if name == "silent listener" {
			fmt.Fprintf(&b, " ansible_port=%d", silentPort)
		}
		b.WriteString("\n")
	}
	return runnerFile(t, "faults.ini", b.String())
}

func (f *faultLab) sh(t *testing.T, host, script string) string {
	t.Helper()
	out, err := f.lab.Exec(context.Background(), host, "sh", "-c", script)
	if err != nil {
		t.Fatalf("%s: %s: %v", host, script, err)
	}
	return string(out)
}

// fillFilesystem mounts a tiny tmpfs over the config's directory, inside
// the host's mount namespace only, with the original config in it, and
// fills the rest.
func (f *faultLab) fillFilesystem(t *testing.T, h labkit.Host) {
	f.sh(t, h.Name, fmt.Sprintf(`set -e; mount -t tmpfs -o size=64k remedy-fault %[1]s
printf '%[2]s' > %[3]s
dd if=/dev/zero of=%[1]s/filler bs=4k 2>/dev/null || true`, faultDir, faultOriginal, faultConfig))
}

// silentListener accepts TCP on the host and never says a word: an SSH
// client waits there for a banner that never comes.
func (f *faultLab) silentListener(t *testing.T, h labkit.Host) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.lab.Exec(ctx, h.Name, "socat", "-u", fmt.Sprintf("TCP-LISTEN:%d,reuseaddr,fork", silentPort), "OPEN:/dev/null")
	}()
	for deadline := time.Now().Add(10 * time.Second); f.lab.Reach(h.Addr, "tcp", silentPort, time.Second) != nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the silent listener does not accept on %d", h.Name, silentPort)
		}
	}
	return func() {
		cancel()
		<-done
	}
}

// atSleep waits until the role's host runs its sleep, then injects.
func (f *faultLab) atSleep(ctx context.Context, role string, inject func(context.Context, labkit.Host) error) error {
	for countProcesses("sleep "+faultRoleNamed(role).sleep) == 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: the sleep never started", role)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return inject(ctx, f.hosts[role])
}

var ssPid = regexp.MustCompile(`"sshd[^"]*",pid=(\d+)`)

// killSSHD kills, by pid, every sshd process holding a TCP socket in the
// host: the listener and the session remedy's task runs in. The pids are
// the host's own (its PID namespace), so the kill runs inside the host.
func (f *faultLab) killSSHD(ctx context.Context, h labkit.Host) error {
	out, err := f.lab.Exec(ctx, h.Name, "ss", "-Htanp")
	if err != nil {
		return err
	}
	// A process holding two sockets is listed twice; killed once, the
	// host's PID 1 reaps it at once and a second kill would find nothing.
	kill := []string{"kill", "-KILL"}
	for _, m := range ssPid.FindAllStringSubmatch(string(out), -1) {
		if !slices.Contains(kill, m[1]) {
			kill = append(kill, m[1])
		}
	}
	if len(kill) < 4 {
		return fmt.Errorf("%s: want the sshd listener and a session in %q", h.Name, out)
	}
	_, err = f.lab.Exec(ctx, h.Name, kill...)
	return err
}

// dropPackets makes the host drop everything in and out from now on, in a
// table of its own that runs before any firewall's.
func (f *faultLab) dropPackets(ctx context.Context, h labkit.Host) error {
	_, err := f.lab.Exec(ctx, h.Name, "sh", "-c", `nft -f - <<'EOF'
add table inet remedy_fault
add chain inet remedy_fault in { type filter hook input priority -400; policy drop; }
add chain inet remedy_fault out { type filter hook output priority -400; policy drop; }
EOF`)
	return err
}

// assertReported checks each host's outcome: the healthy host ran every
// task, each faulty one is unreachable or failed with a message naming
// its fault.
func (f *faultLab) assertReported(t *testing.T, doc jsonRun, roles []string) {
	for _, name := range roles {
		role := faultRoleNamed(name)
		h := doc.host(t, f.hosts[role.name].Name)
		text := h.Error + " " + h.statuses()
		for _, task := range h.Tasks {
			text += " " + task.Msg
		}
		t.Logf("%s (%s): unreachable %v, error %q, tasks %s", h.Name, role.name, h.Unreachable, h.Error, h.statuses())
		if role.msg == nil {
			if got := h.statuses(); got != "Gathering Facts=ok write config=changed long=ok after=changed" {
				t.Errorf("%s (%s): %s", h.Name, role.name, got)
			}
			continue
		}
		state := "failed"
		if h.Unreachable {
			state = "unreachable"
		}
		if !regexp.MustCompile("^(" + role.status + ")$").MatchString(state) {
			t.Errorf("%s (%s): %s, want %s", h.Name, role.name, state, role.status)
		}
		if !role.msg.MatchString(text) {
			t.Errorf("%s (%s): the report does not name the fault (%s): %s", h.Name, role.name, role.msg, text)
		}
	}
}

// assertFilesWhole checks every host holds the config whole, old or new,
// and no temporary file of remedy's (".app.conf.remedy-*") beside it;
// backups are meant to stay.
func (f *faultLab) assertFilesWhole(t *testing.T, roles []string) {
	for _, name := range roles {
		role := faultRoleNamed(name)
		h := f.hosts[role.name]
		got := f.sh(t, h.Name, "cat "+faultConfig)
		if got != faultOriginal && got != strings.Repeat("new=1\n", 20000) {
			t.Errorf("%s (%s): %s is half-written: %d bytes, starting %.40q", h.Name, role.name, faultConfig, len(got), got)
		}
		if role.name == "filesystem full" && got != faultOriginal {
			t.Errorf("%s (%s): the original config is gone", h.Name, role.name)
		}
		if left := f.sh(t, h.Name, "ls -A "+faultDir); strings.Contains(left, ".app.conf.remedy-") {
			t.Errorf("%s (%s): a temporary file is left in %s: %s", h.Name, role.name, faultDir, left)
		}
	}
}
