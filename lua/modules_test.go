package lua

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"remedy/lua/remote"
)

// onlyResult runs src on h and returns its single result.
func onlyResult(t *testing.T, h remote.Host, src string, o RunOptions) remote.Result {
	t.Helper()
	rs, err := runPlaybook(t, h, src, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("want one result, got %+v", rs)
	}
	return rs[0]
}

// task wraps a task body into a one-task playbook; v.dir is the host's
// temp dir.
func task(body string) string {
	return "return { tasks = { { name = \"t\", run = function(v)\n" + body + "\nend } } }"
}

func dirVars(h *localHost) RunOptions {
	return RunOptions{Vars: map[string]any{"dir": h.dir}}
}

func TestFileWriteCheckModeChangesNothing(t *testing.T) {
	h := newLocalHost(t)
	target := filepath.Join(h.dir, "sshd_config")
	before := []byte("Port 22\nPermitRootLogin yes\n")
	if err := os.WriteFile(target, before, 0o600); err != nil {
		t.Fatal(err)
	}
	src := task(`file.write { path = v.dir .. "/sshd_config", content = "Port 22\nPermitRootLogin no\n" }`)
	o := dirVars(h)
	o.Check = true
	r := onlyResult(t, h, src, o)
	if r.Status != remote.StatusChanged || !strings.Contains(r.Diff, "-PermitRootLogin yes\n+PermitRootLogin no") ||
		!strings.HasPrefix(r.Msg, target+": new content, backup "+target+".remedy-") {
		t.Fatalf("check mode: %+v", r)
	}
	after, _ := os.ReadFile(target)
	if string(after) != string(before) {
		t.Fatalf("check mode changed the file: %q", after)
	}
	entries, _ := os.ReadDir(h.dir)
	if len(entries) != 1 {
		t.Fatalf("check mode left files behind: %v", entries)
	}
}

func TestFileWriteThenRepeat(t *testing.T) {
	h := newLocalHost(t)
	target := filepath.Join(h.dir, "app.conf")
	if err := os.WriteFile(target, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := task(`return file.write { path = v.dir .. "/app.conf", content = "new\n", mode = "0640" }.backup`)
	first := onlyResult(t, h, src, dirVars(h))
	second := onlyResult(t, h, src, dirVars(h))
	if first.Status != remote.StatusChanged || second.Status != remote.StatusOK {
		t.Fatalf("first %s, second %s; want changed then ok", first.Status, second.Status)
	}
	got, _ := os.ReadFile(target)
	st, _ := os.Stat(target)
	if string(got) != "new\n" || st.Mode().Perm() != 0o640 {
		t.Fatalf("file is %q mode %o", got, st.Mode().Perm())
	}
	backup, err := os.ReadFile(first.Msg)
	if err != nil || string(backup) != "old\n" {
		t.Fatalf("backup %q: %q, %v", first.Msg, backup, err)
	}
}

func TestFileWriteFailingValidatorKeepsOriginal(t *testing.T) {
	h := newLocalHost(t)
	target := filepath.Join(h.dir, "app.conf")
	if err := os.WriteFile(target, []byte("good\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := task(`file.write { path = v.dir .. "/app.conf", content = "bad\n", validate = {"sh", "-c", "grep -q good \"$1\" || { echo invalid config >&2; exit 1; }", "sh", "%s"} }`)
	r := onlyResult(t, h, src, dirVars(h))
	if r.Status != remote.StatusFailed || !strings.Contains(r.Msg, "invalid config") || !strings.Contains(r.Msg, "site.lua:2:") || r.Host != "local" {
		t.Fatalf("want a failure naming host, file:line and the validator's complaint: %+v", r)
	}
	got, _ := os.ReadFile(target)
	entries, _ := os.ReadDir(h.dir)
	if string(got) != "good\n" || len(entries) != 1 {
		t.Fatalf("original not intact (%q) or temp left (%v)", got, entries)
	}
}

func TestFileLine(t *testing.T) {
	h := newLocalHost(t)
	target := filepath.Join(h.dir, "sshd_config")
	if err := os.WriteFile(target, []byte("#PermitRootLogin yes\nMatch User x\n  X 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := task(`file.line { path = v.dir .. "/sshd_config", regexp = "^#?PermitRootLogin", line = "PermitRootLogin no", backup = false }
	file.line { path = v.dir .. "/sshd_config", regexp = "^PasswordAuthentication", line = "PasswordAuthentication no", insertbefore = "^Match", backup = false }`)
	if r := onlyResult(t, h, src, dirVars(h)); r.Status != remote.StatusChanged {
		t.Fatalf("first: %+v", r)
	}
	if r := onlyResult(t, h, src, dirVars(h)); r.Status != remote.StatusOK {
		t.Fatalf("second: %+v", r)
	}
	got, _ := os.ReadFile(target)
	if string(got) != "PermitRootLogin no\nPasswordAuthentication no\nMatch User x\n  X 1\n" {
		t.Fatalf("got %q", got)
	}
}

func TestFileReadStat(t *testing.T) {
	h := newLocalHost(t)
	if err := os.WriteFile(filepath.Join(h.dir, "f"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := task(`local st = file.stat(v.dir .. "/f")
	expect(file.read(v.dir .. "/missing") == nil, "missing file read")
	expect(file.stat(v.dir .. "/missing") == nil, "missing file stat")
	return file.read(v.dir .. "/f") .. " " .. st.type .. " " .. st.mode .. " " .. st.size`)
	r := onlyResult(t, h, src, dirVars(h))
	if r.Status != remote.StatusOK || r.Msg != "hello file 0600 5" {
		t.Fatalf("%+v", r)
	}
}

func TestCmd(t *testing.T) {
	h := newLocalHost(t)
	for _, tc := range []struct {
		name, body string
		check      bool
		status     remote.Status
		msg        string
	}{
		{"query output", `return cmd.query({"echo", "a b; $(x)"}).stdout`, false, remote.StatusOK, "a b; $(x)\n"},
		{"query fails on non-zero", `cmd.query({"false"})`, false, remote.StatusFailed, "exit status 1"},
		{"ok_rc allows", `return tostring(cmd.query({"sh", "-c", "exit 3"}, {ok_rc = {0, 3}}).rc)`, false, remote.StatusOK, "3"},
		{"query runs in check mode", `return cmd.query({"echo", "hi"}).stdout`, true, remote.StatusOK, "hi\n"},
		{"run is a change", `cmd.run({"touch", v.dir .. "/made"})`, false, remote.StatusChanged, ""},
		{"run creates skips", `cmd.run({"touch", v.dir .. "/made"}, {creates = v.dir .. "/made"})`, false, remote.StatusOK, ""},
		{"run removes skips", `cmd.run({"rm", v.dir .. "/gone"}, {removes = v.dir .. "/gone"})`, false, remote.StatusOK, ""},
		{"run in check mode runs nothing", `cmd.run({"touch", v.dir .. "/check"})`, true, remote.StatusChanged, ""},
		{"string command refused", `cmd.query("echo hi")`, false, remote.StatusFailed, "must be a list of strings"},
		{"unknown option refused", `cmd.run({"true"}, {creats = "/x"})`, false, remote.StatusFailed, "unknown option creats"},
		{"stdin", `return cmd.query({"cat"}, {stdin = "in"}).stdout`, false, remote.StatusOK, "in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := dirVars(h)
			o.Check = tc.check
			r := onlyResult(t, h, task(tc.body), o)
			if r.Status != tc.status || !strings.Contains(r.Msg, tc.msg) {
				t.Fatalf("got %s %q, want %s %q", r.Status, r.Msg, tc.status, tc.msg)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(h.dir, "check")); err == nil {
		t.Fatal("cmd.run ran in check mode")
	}
}

func TestServiceReloadSignalsPidFile(t *testing.T) {
	h := newLocalHost(t)
	pidfile := filepath.Join(h.dir, "svc.pid")
	marker := filepath.Join(h.dir, "reloaded")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, err := h.Exec(ctx, `sh -c 'trap "echo hup > reloaded" HUP; echo $$ > svc.pid; while :; do sleep 0.05; done' >/dev/null 2>&1 &`, nil)
	if err != nil || out.ExitCode != 0 {
		t.Fatalf("start: %v %+v", err, out)
	}
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(pidfile); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidfile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				p, _ := os.FindProcess(pid)
				_ = p.Kill()
			}
		}
	})
	src := task(`expect(service.enabled { name = "svc", pidfile = v.dir .. "/svc.pid" }, "not running")
	service.reload { name = "svc", pidfile = v.dir .. "/svc.pid" }`)
	o := dirVars(h)
	o.Facts.Init = "none"
	if r := onlyResult(t, h, src, o); r.Status != remote.StatusChanged {
		t.Fatalf("%+v", r)
	}
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(marker); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the process never got SIGHUP")
}

func TestNet(t *testing.T) {
	h := newLocalHost(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	src := task(`local open = net.reach { host = "127.0.0.1", port = v.open, timeout = 2 }
	local shut = net.reach { host = "127.0.0.1", port = v.closed, timeout = 2 }
	expect(open.ok, "open port not reached: %s", open.err)
	expect(not shut.ok and shut.err ~= "", "closed port reached")
	expect(net.resolve("localhost")[1] == "127.0.0.1", "localhost")
	expect(#net.resolve("no-such-name.invalid") == 0, "invalid name resolved")
	return open.via`)
	o := RunOptions{Vars: map[string]any{"open": port, "closed": closedPort}}
	r := onlyResult(t, h, src, o)
	if r.Status != remote.StatusOK || r.Msg != "bash" {
		t.Fatalf("%+v", r)
	}
}

func TestJSONAndTemplate(t *testing.T) {
	h := newLocalHost(t)
	src := task(`local d = json.decode('{"a":[1,2,{"b":null}],"c":"x"}')
	expect(d.a[2] == 2 and d.c == "x" and d.a[3].b == nil, "decode")
	expect(json.encode({b = 1, a = {true, "s"}}) == '{"a":[true,"s"],"b":1}', "encode: %s", json.encode({b = 1, a = {true, "s"}}))
	return template("Port {{ port }} on {{ host }}", { port = v.port, host = host.name })`)
	r := onlyResult(t, h, src, RunOptions{Vars: map[string]any{"port": 33001}})
	if r.Status != remote.StatusOK || r.Msg != "Port 33001 on local" {
		t.Fatalf("%+v", r)
	}
}

// Several edits of one file in the same second each keep their own backup,
// so the first backup still holds the original.
func TestBackupsDoNotOverwriteEachOther(t *testing.T) {
	h := newLocalHost(t)
	target := filepath.Join(h.dir, "f.conf")
	if err := os.WriteFile(target, []byte("original\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := onlyResult(t, h, task(`for i = 1, 3 do file.line { path = v.dir .. "/f.conf", line = "edit " .. i } end`), dirVars(h))
	if r.Status != remote.StatusChanged {
		t.Fatalf("%+v", r)
	}
	backups, _ := filepath.Glob(target + ".remedy-*.bak")
	found := false
	for _, b := range backups {
		if got, _ := os.ReadFile(b); string(got) == "original\n" {
			found = true
		}
	}
	if len(backups) != 3 || !found {
		t.Fatalf("%d backups, original kept: %v", len(backups), found)
	}
}

// Values with a leading dash reach commands as data, or are refused with
// an error that says why; never read as an option.
func TestLeadingDashIsData(t *testing.T) {
	h := newLocalHost(t)
	for _, tc := range []struct{ name, body, want string }{
		{"resolve", `return tostring(#net.resolve("--version"))`, `net.resolve: "--version": not a host name or IP address`},
		{"reach host", `net.reach { host = "-x", port = 22 }`, `net.reach: host "-x": not a host name or IP address`},
		{"reach port", `net.reach { host = "localhost", port = "-1" }`, `net.reach: port "-1": not a port (1-65535)`},
		{"reach timeout", `net.reach { host = "localhost", port = 22, timeout = -1 }`, `net.reach: timeout -1: want seconds`},
		{"reach_command", `net.reach_command { host = "@/etc/shadow", port = 443 }`, `net.reach_command: host "@/etc/shadow": not a host name`},
		{"domain_reads", `firewall.domain_reads("-f/etc/shadow")`, `firewall.domain_reads: "-f/etc/shadow": not a domain name`},
		{"allow_domain", `firewall.allow_domain { domain = "+short" }`, `firewall.allow_domain: domain "+short": not a domain name`},
		{"allow_domain port", `firewall.allow_domain { domain = "localhost", port = 70000 }`, `firewall.allow_domain: port "70000": not a port`},
		{"pidfile", `service.reload { name = "x", pidfile = "-n" }`, `pidfile "-n": not an absolute path`},
		{"service name", `service.reload("-x")`, `"-x" is not a service name`},
		{"signal", `service.reload { name = "x", signal = "-9" }`, `signal "-9" is not a signal name`},
		{"owner", `file.write { path = v.dir .. "/o", content = "", owner = "-R" }`, `owner "-R" is not a user`},
		{"stat", `return tostring(file.stat("-L"))`, "nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := dirVars(h)
			o.Facts.Init = "none"
			r := onlyResult(t, h, task(tc.body), o)
			if !strings.Contains(r.Msg, tc.want) || optionError.MatchString(r.Msg) {
				t.Fatalf("got %s %q, want %q", r.Status, r.Msg, tc.want)
			}
		})
	}
}

var optionError = regexp.MustCompile(`invalid option|unrecognized option|illegal option|unknown option`)

// A pid file is the host's content: one holding "-1" would make kill
// signal every process it may, "0" its own process group. service.enabled
// and the reload script refuse such a file instead of obeying it; the
// script is run here with signal 0, which only asks.
func TestPidFileMustHoldAProcessID(t *testing.T) {
	h := newLocalHost(t)
	pidfile := filepath.Join(h.dir, "x.pid")
	for _, tc := range []struct {
		content string
		alive   bool
	}{{"-1", false}, {"0", false}, {"", false}, {"1 -1", false}, {"--", false}, {strconv.Itoa(os.Getpid()), true}} {
		if err := os.WriteFile(pidfile, []byte(tc.content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		o := dirVars(h)
		o.Facts.Init = "none"
		r := onlyResult(t, h, task(`return tostring(service.enabled { name = "x", pidfile = v.dir .. "/x.pid" })`), o)
		if r.Msg != strconv.FormatBool(tc.alive) {
			t.Errorf("pid file %q: service.enabled %s %q, want %v", tc.content, r.Status, r.Msg, tc.alive)
		}
		out, err := exec.Command("sh", "-c", signalScript, "sh", pidfile, "0").CombinedOutput()
		if sent := err == nil; sent != tc.alive || !tc.alive && !strings.Contains(string(out), "does not hold a process id") {
			t.Errorf("pid file %q: signal script: %v %q, want it sent: %v", tc.content, err, out, tc.alive)
		}
	}
}
