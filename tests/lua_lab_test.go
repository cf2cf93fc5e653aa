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

// The Lua runtime's lab tests: playbooks run by the real remedy binary
// over SSH against lab hosts, with the results read from -o json and the
// hosts inspected directly through the lab.
func TestLuaOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 2, Profiles: []string{"nftables", "none"}})
	l := &luaLab{lab: lab, bin: buildRemedy(t), home: t.TempDir()}
	l.ops = l.opsInventory(t)
	t.Run("check mode changes nothing and reports the diff", l.checkMode)
	t.Run("a write then its repeat: changed, then ok", l.writeRepeat)
	t.Run("a failing validator leaves the original", l.failingValidator)
	t.Run("handlers fire once", l.handlersOnce)
	t.Run("tags select", l.tagsSelect)
	t.Run("log and print reach the text output", l.logLines)
	t.Run("net resolves and reaches from the host", l.netFromHost)
	t.Run("examples: no port open to the world beyond the policy", l.openPorts)
	t.Run("examples: no password logins", l.example("examples/password-authentication", "PasswordAuthentication is no"))
	t.Run("examples: root login refused while remedy is root", l.rootGuard)
	// Last: after it, root can no longer log in to the lab hosts.
	t.Run("examples: PermitRootLogin no", l.example("examples/permit-root-login", "root cannot log in over SSH"))
	t.Run("examples: the reloaded sshd refuses root", l.rootRefused)
}

type luaLab struct {
	lab  *labkit.Lab
	bin  string
	home string
	ops  string // an inventory logging in as the lab's ops user, with its sudo password
}

// remedy runs the binary on every lab host with -o json and returns the
// parsed document and the exit code.
func (l *luaLab) remedy(t *testing.T, args ...string) (jsonRun, int) {
	t.Helper()
	return l.remedyWith(t, l.lab.Inventory, args...)
}

// remedyAsOps runs remedy logged in as ops, becoming root with sudo.
func (l *luaLab) remedyAsOps(t *testing.T, args ...string) (jsonRun, int) {
	t.Helper()
	return l.remedyWith(t, l.ops, append(args, "-b")...)
}

func (l *luaLab) remedyWith(t *testing.T, inventory string, args ...string) (jsonRun, int) {
	t.Helper()
	doc, code := runRemedy(t, l.bin, l.home, 2*time.Minute, append(args, "-i", inventory, "--known-hosts", l.lab.KnownHosts)...)
	if len(doc.Hosts) != len(l.lab.Hosts) {
		t.Fatalf("remedy %v: %d hosts in the output, want %d\n%s", args, len(doc.Hosts), len(l.lab.Hosts), doc.out)
	}
	return doc, code
}

func (l *luaLab) opsInventory(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[all:vars]\nansible_user=%s\nansible_ssh_private_key_file=%s\nansible_become_password='%s'\n[lab]\n",
		l.lab.OpsUser, l.lab.Key, l.lab.OpsPassword)
	for _, h := range l.lab.Hosts {
		fmt.Fprintf(&b, "%s ansible_host=%s\n", h.Name, h.Addr)
	}
	p := filepath.Join(t.TempDir(), "ops.ini")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (l *luaLab) playbook(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pb.lua")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sh runs a shell command as root inside a lab host.
func (l *luaLab) sh(t *testing.T, host, script string) string {
	t.Helper()
	out, err := l.lab.Exec(context.Background(), host, "sh", "-c", script)
	if err != nil {
		t.Fatalf("%s: %s: %v\n%s", host, script, err, out)
	}
	return string(out)
}

// eachHost asserts a status line for every lab host.
func (l *luaLab) eachHost(t *testing.T, doc jsonRun, want string) {
	t.Helper()
	for _, h := range l.lab.Hosts {
		if got := doc.statuses(h.Name); got != want {
			t.Errorf("%s: got %q, want %q", h.Name, got, want)
		}
	}
}

const luaWriteFilePlaybook = `return { tasks = { { name = "write", run = function(v)
	file.write { path = "/etc/remedy-lua-test.conf", content = "listen 33001\nmode strict\n", mode = "0640" }
end } } }`

func (l *luaLab) checkMode(t *testing.T) {
	before := "listen 22\nmode strict\n"
	for _, h := range l.lab.Hosts {
		l.sh(t, h.Name, "printf 'listen 22\\nmode strict\\n' > /etc/remedy-lua-test.conf && chmod 0644 /etc/remedy-lua-test.conf")
	}
	doc, _ := l.remedy(t, "run", l.playbook(t, luaWriteFilePlaybook), "-C", "-D")
	l.eachHost(t, doc, "write=changed")
	for _, h := range l.lab.Hosts {
		if d := doc.diff(h.Name, "write"); !strings.Contains(d, "-listen 22\n+listen 33001\n") {
			t.Errorf("%s: check mode diff %q", h.Name, d)
		}
		got := l.sh(t, h.Name, "cat /etc/remedy-lua-test.conf; stat -c %a /etc/remedy-lua-test.conf; ls -a /etc | grep -c remedy-lua-test")
		if got != before+"644\n1\n" {
			t.Errorf("%s: check mode touched the file or left files: %q", h.Name, got)
		}
	}
}

func (l *luaLab) writeRepeat(t *testing.T) {
	pb := l.playbook(t, luaWriteFilePlaybook)
	first, code := l.remedy(t, "run", pb)
	l.eachHost(t, first, "write=changed")
	second, code2 := l.remedy(t, "run", pb)
	l.eachHost(t, second, "write=ok")
	if code != 0 || code2 != 0 {
		t.Errorf("exit codes %d, %d; want 0, 0", code, code2)
	}
	for _, h := range l.lab.Hosts {
		got := l.sh(t, h.Name, "cat /etc/remedy-lua-test.conf; stat -c %a /etc/remedy-lua-test.conf; cat /etc/remedy-lua-test.conf.remedy-*.bak")
		if got != "listen 33001\nmode strict\n640\nlisten 22\nmode strict\n" {
			t.Errorf("%s: file, mode and backup: %q", h.Name, got)
		}
	}
}

func (l *luaLab) failingValidator(t *testing.T) {
	before := map[string]string{}
	for _, h := range l.lab.Hosts {
		before[h.Name] = l.sh(t, h.Name, "cat /etc/ssh/sshd_config")
	}
	doc, code := l.remedy(t, "run", l.playbook(t, `return { tasks = { { name = "break sshd", run = function(v)
	local cfg = file.read("/etc/ssh/sshd_config")
	file.write { path = "/etc/ssh/sshd_config", content = cfg .. "PermitRootLogin perhaps\n", validate = "/usr/sbin/sshd -t -f %s" }
end } } }`))
	l.eachHost(t, doc, "break sshd=failed")
	if code == 0 {
		t.Error("a failed task exited 0")
	}
	for _, h := range l.lab.Hosts {
		for _, x := range doc.Hosts {
			if x.Name == h.Name && len(x.Tasks) > 0 && !strings.Contains(x.Tasks[len(x.Tasks)-1].Msg, "perhaps") {
				t.Errorf("%s: the failure does not quote sshd -t: %q", h.Name, x.Tasks[len(x.Tasks)-1].Msg)
			}
		}
		if got := l.sh(t, h.Name, "cat /etc/ssh/sshd_config"); got != before[h.Name] {
			t.Errorf("%s: sshd_config changed", h.Name)
		}
		if left := l.sh(t, h.Name, "ls -a /etc/ssh | grep -c remedy || true"); left != "0\n" {
			t.Errorf("%s: temporary files left in /etc/ssh: %s", h.Name, left)
		}
	}
}

func (l *luaLab) handlersOnce(t *testing.T) {
	doc, _ := l.remedy(t, "run", l.playbook(t, `return {
	tasks = {
		{ name = "one", notify = "note", run = function() cmd.run({"sh", "-c", "echo one >> /tmp/remedy-lua-tasks"}) end },
		{ name = "two", notify = "note", run = function() cmd.run({"sh", "-c", "echo two >> /tmp/remedy-lua-tasks"}) end },
		{ name = "three", notify = "unused", run = function() cmd.query({"true"}) end },
	},
	handlers = {
		{ name = "note", run = function() cmd.run({"sh", "-c", "echo fired >> /tmp/remedy-lua-handler"}) end },
		{ name = "unused", run = function() cmd.run({"sh", "-c", "echo wrong >> /tmp/remedy-lua-handler"}) end },
	},
}`))
	l.eachHost(t, doc, "one=changed two=changed three=ok note=changed")
	for _, h := range l.lab.Hosts {
		if got := l.sh(t, h.Name, "cat /tmp/remedy-lua-handler"); got != "fired\n" {
			t.Errorf("%s: handler log %q", h.Name, got)
		}
	}
}

func (l *luaLab) tagsSelect(t *testing.T) {
	pb := l.playbook(t, `return { tasks = {
	{ name = "fw", tags = "fw", run = function() cmd.query({"true"}) end },
	{ name = "ssh", tags = {"ssh"}, run = function() cmd.query({"true"}) end },
	{ name = "both", tags = {"fw", "ssh"}, run = function() cmd.query({"true"}) end },
} }`)
	doc, _ := l.remedy(t, "run", pb, "--tags", "ssh")
	l.eachHost(t, doc, "ssh=ok both=ok")
	doc, _ = l.remedy(t, "run", pb, "--skip-tags", "ssh")
	l.eachHost(t, doc, "fw=ok")
}

// example runs a built-in example playbook as ops with sudo: an audit
// finds the drift and changes nothing, a run fixes it and reloads sshd, a
// second run changes nothing, and sshd still answers.
func (l *luaLab) example(name, check string) func(t *testing.T) {
	return func(t *testing.T) {
		before := map[string]string{}
		for _, h := range l.lab.Hosts {
			before[h.Name] = l.sh(t, h.Name, "cat /etc/ssh/sshd_config")
		}
		audit, _ := l.remedyAsOps(t, "run", name, "-C")
		for _, h := range l.lab.Hosts {
			if s := audit.statuses(h.Name); !strings.Contains(s, check+"=failed") || !strings.Contains(s, "=changed") {
				t.Errorf("%s: audit %q: want a would-change task and a failed check", h.Name, s)
			}
			if got := l.sh(t, h.Name, "cat /etc/ssh/sshd_config"); got != before[h.Name] {
				t.Errorf("%s: the audit changed sshd_config", h.Name)
			}
		}
		fix, _ := l.remedyAsOps(t, "run", name)
		again, _ := l.remedyAsOps(t, "run", name)
		for _, h := range l.lab.Hosts {
			s := fix.statuses(h.Name)
			if !strings.Contains(s, "reload sshd=changed") || !strings.Contains(s, check+"=ok") {
				t.Errorf("%s: fix %q: want the reload and a passing check", h.Name, s)
			}
			s = again.statuses(h.Name)
			if !strings.Contains(s, check+"=ok") || strings.Contains(s, "changed") || strings.Contains(s, "failed") {
				t.Errorf("%s: second run %q: want the check passing and nothing changed", h.Name, s)
			}
			if err := l.lab.Reach(h.Addr, "tcp", 22, 5*time.Second); err != nil {
				t.Errorf("%s: sshd does not answer after the reload: %v", h.Name, err)
			}
		}
	}
}

// rootGuard: connected as root, the PermitRootLogin example refuses to
// lock remedy out, leaves sshd_config alone and still reports the finding.
func (l *luaLab) rootGuard(t *testing.T) {
	doc, _ := l.remedy(t, "run", "examples/permit-root-login")
	l.eachHost(t, doc, "remedy does not log in as root=failed sshd_config says PermitRootLogin no=skipped root cannot log in over SSH=failed")
}

// rootRefused proves the reload reached the running sshd, not just the
// file: root's key no longer gets in.
func (l *luaLab) rootRefused(t *testing.T) {
	doc, code := l.remedy(t, "run", l.playbook(t, `return { tasks = { { name = "id", run = function() cmd.query({"id"}) end } } }`))
	for _, h := range doc.Hosts {
		if !h.Unreachable || !strings.Contains(h.Error, "unable to authenticate") {
			t.Errorf("%s: root logged in after PermitRootLogin no: unreachable %v, %q", h.Name, h.Unreachable, h.Error)
		}
	}
	if code != 4 {
		t.Errorf("exit %d, want 4 (unreachable)", code)
	}
}

// openPorts: with a listener on tcp/8080 everywhere, the host without a
// firewall has it open to the world and the nftables host (drop policy)
// does not; once -e adds it to the policy list, both pass.
func (l *luaLab) openPorts(t *testing.T) {
	for _, h := range l.lab.Hosts {
		stop, err := l.lab.Listen(h.Name, "tcp", 8080)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	const check = "no port open to the world beyond the policy list"
	doc, _ := l.remedy(t, "run", "examples/no-open-ports")
	for _, h := range l.lab.Hosts {
		want := "=ok"
		if h.Profile == "none" {
			want = "=failed"
			if m := doc.msg(h.Name, check); !strings.Contains(m, "tcp/8080 from 203.0.113.1 (accept") {
				t.Errorf("%s: finding %q does not name tcp/8080", h.Name, m)
			}
		}
		if got := doc.statuses(h.Name); got != check+want {
			t.Errorf("%s (%s): %q, want %q", h.Name, h.Profile, got, check+want)
		}
	}
	extra := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(extra, []byte(`{"allowed_ports": ["tcp/22", "tcp/8080"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	doc, _ = l.remedy(t, "run", "examples/no-open-ports", "-e", "@"+extra)
	l.eachHost(t, doc, check+"=ok")
}

// netFromHost: net.resolve uses the host's own resolver (its hosts file
// points the licensing domain at the lab's stand-in) and net.reach
// connects from the host itself.
func (l *luaLab) netFromHost(t *testing.T) {
	doc, _ := l.remedy(t, "run", l.playbook(t, `return { tasks = { { name = "net", run = function(v)
	local addrs = net.resolve("`+labkit.LicenseDomain+`")
	local ok = net.reach { host = "`+labkit.LicenseDomain+`", port = 443, timeout = 3 }
	local shut = net.reach { host = addrs[1], port = 444, timeout = 3 }
	expect(ok.ok, "443 not reached: %s", ok.err)
	expect(not shut.ok, "444 reached")
	return addrs[1] .. " via " .. ok.via
end } } }`))
	l.eachHost(t, doc, "net=ok")
	for _, h := range l.lab.Hosts {
		if got := doc.msg(h.Name, "net"); got != l.lab.License+" via bash" {
			t.Errorf("%s: %q, want %q", h.Name, got, l.lab.License+" via bash")
		}
	}
}

func (l *luaLab) logLines(t *testing.T) {
	pb := l.playbook(t, `return { tasks = { { name = "say", run = function()
  log("marker", host.name)
  print("printed")
end } } }`)
	out, err := exec.Command(l.bin, "run", pb, "-i", l.lab.Inventory, "--known-hosts", l.lab.KnownHosts).CombinedOutput()
	if err != nil {
		t.Fatalf("remedy run: %v\n%s", err, out)
	}
	for _, h := range l.lab.Hosts {
		for _, want := range []string{"[" + h.Name + "] marker\t" + h.Name + "\n", "[" + h.Name + "] printed\n"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	}
}
