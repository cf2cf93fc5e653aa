package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"remedy/tests/lab/labkit"
)

// What a host sends back is data remedy bounds and shows, never obeys:
// a host that streams without end into a command, through sudo, or from
// a file is stopped at --max-output with the controller's memory flat,
// and escape sequences in its output, errors and files reach the
// operator's terminal and reports as visible escapes.
func TestHostOutputOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 1, Profiles: []string{"nftables"}})
	h := &hostOutputLab{remedyRunner: remedyRunner{bin: buildRemedy(t), lab: lab, home: t.TempDir()}, host: lab.Hosts[0]}
	h.sh(t, "truncate -s 2G "+hugeFile)
	t.Run("2 GiB into a command and from a file, as root over SFTP", h.floodAsRoot)
	t.Run("2 GiB into a command and from a file, through sudo", h.floodThroughSudo)
	t.Run("--max-output raises the limit", h.raisedLimit)
	t.Run("escape sequences are shown, not obeyed", h.escapes)
	t.Run("a host's error on stderr is shown, not obeyed", h.hostErrorOnStderr)
}

type hostOutputLab struct {
	remedyRunner
	host labkit.Host
}

// hugeFile is a sparse 2 GiB file in the host's own /tmp.
const hugeFile = "/tmp/remedy-huge"

// maxControllerRSS is the most memory remedy may hold while hosts send it
// 2 GiB: a fraction of what they send.
const maxControllerRSS = 512 << 20

// floodPlaybook streams 2 GiB into one command, then reads a 2 GiB file;
// both fail, and the host must still answer afterwards.
const floodPlaybook = `return { name = "floods", hosts = "all", tasks = {
  { name = "stream", ignore_errors = true, run = function() cmd.query { "sh", "-c", "head -c 2G /dev/zero" } end },
  { name = "huge file", ignore_errors = true, run = function() return #file.read("` + hugeFile + `") end },
  { name = "after", run = function() return cmd.query({ "echo", "alive" }).stdout end },
} }`

const (
	streamStopped = "sh -c 'head -c 2G /dev/zero': more than 8MiB of output (raise the limit with --max-output): the command was stopped"
	fileStopped   = "read " + hugeFile + ": larger than 8MiB (raise the limit with --max-output): reading stopped there"
)

func (h *hostOutputLab) floodAsRoot(t *testing.T) {
	res, rss := h.runMeasured(t, "run", runnerFile(t, "flood.lua", floodPlaybook), "-i", h.inventory(t, false), "-o", "json")
	h.assertFlat(t, rss, res)
	doc := parseRunJSON(t, res)
	got := doc.host(t, h.host.Name)
	if got.statuses() != "Gathering Facts=ok stream=failed huge file=failed after=ok" || got.msg("after") != "alive\n" {
		t.Fatalf("want both floods failed and the host still answering: %s\n%s", got.statuses(), res)
	}
	// Each message starts with the playbook line that failed.
	if !strings.HasSuffix(got.msg("stream"), ": "+streamStopped) || !strings.HasSuffix(got.msg("huge file"), ": "+fileStopped) {
		t.Errorf("messages:\n%q\n%q\nwant\n%q\n%q", got.msg("stream"), got.msg("huge file"), streamStopped, fileStopped)
	}
}

// Through sudo the file is read with cat, so both floods are commands;
// -v also keeps every command's output for the trace.
func (h *hostOutputLab) floodThroughSudo(t *testing.T) {
	res, rss := h.runMeasured(t, "run", runnerFile(t, "flood.lua", floodPlaybook), "-i", h.inventory(t, true), "--known-hosts", h.lab.KnownHosts, "-b", "-v")
	h.assertFlat(t, rss, res)
	for _, want := range []string{
		"flood.lua:2: " + streamStopped + "\n...ignoring\n",
		"flood.lua:3: " + fileStopped + "\n...ignoring\n",
		"ok: [" + h.host.Name + "] => alive",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if res.code != 0 || !strings.Contains(res.stdout, "sudo -k -S") {
		t.Errorf("want exit 0 (both failures ignored), commands through sudo: %.2000s", res)
	}
}

// assertFlat checks remedy's peak memory, and that the host runs none of
// the commands that flooded it.
func (h *hostOutputLab) assertFlat(t *testing.T, rss int64, res runResult) {
	t.Helper()
	t.Logf("peak controller RSS %d MiB, %v", rss>>20, res.took.Round(time.Millisecond))
	if rss >= maxControllerRSS {
		t.Errorf("remedy's peak RSS was %d MiB with hosts sending 2 GiB, want under %d MiB", rss>>20, maxControllerRSS>>20)
	}
	waitForRemote(t, "head -c 2G /dev/zero", 0)
	waitForRemote(t, "cat -- "+hugeFile, 0)
}

func (h *hostOutputLab) raisedLimit(t *testing.T) {
	pb := runnerFile(t, "ten.lua", `return { name = "ten MiB", hosts = "all", tasks = {
  { name = "read", run = function() return tostring(#cmd.query({ "head", "-c", "10485760", "/dev/zero" }).stdout) end },
} }`)
	inv := h.inventory(t, false)
	if res := h.run(t, "run", pb, "-i", inv, "-o", "json"); parseRunJSON(t, res).host(t, h.host.Name).statuses() != "Gathering Facts=ok read=failed" {
		t.Errorf("10 MiB within the default 8 MiB: %s", res)
	}
	res := h.run(t, "run", pb, "-i", inv, "-o", "json", "--max-output", "16M")
	if got := parseRunJSON(t, res).host(t, h.host.Name); got.statuses() != "Gathering Facts=ok read=ok" || got.msg("read") != "10485760" {
		t.Errorf("10 MiB with --max-output 16M: %s", res)
	}
}

// escapeBytes is printf's format for what a hostile host prints: a
// screen clear, a bell, a carriage return, a C1 CSI as a raw byte and as
// UTF-8, a right-to-left override, and a byte that is not UTF-8.
const escapeBytes = `\033[2J\007x\ry\233z\302\233w\342\200\256v\377u`

// escapeShown is how remedy shows them.
const escapeShown = `\x1b[2J\x07x\x0dy\x9bz\u009bw\u202ev\xffu`

const escapesFile = "/etc/remedy-escapes.conf"

const escapesPlaybook = `local esc = [[` + escapeBytes + `]]
return { name = "escapes", hosts = "all", tasks = {
  { name = "stdout", run = function() return cmd.query({ "printf", esc }).stdout end },
  { name = "diff", run = function() file.write { path = "` + escapesFile + `", content = "clean\n" } end },
  { name = "stderr", run = function() cmd.query { "sh", "-c", 'printf "$1" >&2; exit 3', "sh", esc } end },
} }`

// escapes audits a host whose command output, stderr and a file shown in
// a diff hold escape sequences, and checks every byte remedy writes: to
// the terminal at -v, as JSON with the host's error on stderr, and into
// HTML and Markdown reports.
func (h *hostOutputLab) escapes(t *testing.T) {
	h.sh(t, "printf '"+escapeBytes+"\\n' > "+escapesFile)
	pb, inv, dir := runnerFile(t, "escapes.lua", escapesPlaybook), h.inventory(t, false), t.TempDir()
	html, md := filepath.Join(dir, "audit.html"), filepath.Join(dir, "audit.md")

	res := h.run(t, "audit", pb, "-i", inv, "-v", "--report", html)
	for _, want := range []string{
		"ok: [" + h.host.Name + "] => " + escapeShown,   // a result's message
		"-" + escapeShown + "\n+clean\n",                // a diff
		"<" + h.host.Name + ">   " + escapeShown + "\n", // -v output
		": cmd.query: sh -c 'printf",                    // a failed command ...
		"exit status 3: " + escapeShown + "\n",          // ... with its stderr
		"<" + h.host.Name + "> ! " + escapeShown + "\n", // -v stderr
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, res.stdout)
		}
	}
	assertShownNotObeyed(t, "text stdout", []byte(res.stdout))
	assertShownNotObeyed(t, "text stderr", []byte(res.stderr))

	res = h.run(t, "audit", pb, "-i", inv, "-o", "json", "--report", md)
	assertShownNotObeyed(t, "json stdout", []byte(res.stdout))
	assertShownNotObeyed(t, "json stderr", []byte(res.stderr))
	doc := decodeRun(t, []byte(res.stdout), res.String())
	if len(doc.Hosts) != 1 || len(doc.Hosts[0].Tasks) < 2 {
		t.Fatalf("JSON: %s", res)
	}
	if msg := doc.Hosts[0].Tasks[1].Msg; msg != "\x1b[2J\ax\ry\ufffdz\u009bw\u202ev\ufffdu" {
		t.Errorf("JSON does not carry the exact output: %q", msg)
	}
	for _, report := range []string{html, md} {
		b, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		assertShownNotObeyed(t, filepath.Base(report), b)
	}
}

// A host's error ends on stderr when stdout holds a JSON document: here
// the host's sudo answers with escape sequences, so become fails with
// them in its message.
func (h *hostOutputLab) hostErrorOnStderr(t *testing.T) {
	h.sh(t, "cat > /usr/local/bin/sudo <<'EOF'\n#!/bin/sh\nprintf '"+escapeBytes+"\\n' >&2\nexit 1\nEOF\nchmod 755 /usr/local/bin/sudo")
	t.Cleanup(func() { h.sh(t, "rm -f /usr/local/bin/sudo") })
	res := h.run(t, "run", runnerFile(t, "id.lua", readOnlyPlaybook), "-i", h.inventory(t, true), "--known-hosts", h.lab.KnownHosts, "-b", "-o", "json")
	if res.code != 2 || !strings.Contains(res.stderr, "become failed: sudo to root refused the password or the user (exit 1): "+escapeShown) {
		t.Errorf("want the host's sudo error, escaped, on stderr: %s", res)
	}
	assertShownNotObeyed(t, "json stdout", []byte(res.stdout))
	assertShownNotObeyed(t, "json stderr", []byte(res.stderr))
}

// assertShownNotObeyed fails when b holds anything a terminal acts on:
// a C0 control other than newline and tab, DEL, a C1 control, a
// bidirectional control, or bytes that are not UTF-8.
func assertShownNotObeyed(t *testing.T, what string, b []byte) {
	t.Helper()
	if !utf8.Valid(b) {
		t.Errorf("%s: not UTF-8", what)
	}
	for i, r := range string(b) {
		bidi := r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
		if r < 0x20 && r != '\n' && r != '\t' || r >= 0x7f && r <= 0x9f || bidi {
			t.Errorf("%s: %U reaches the terminal raw at byte %d: %q", what, r, i, b[max(0, i-40):min(len(b), i+40)])
			return
		}
	}
}

// inventory reaches the host as root, or as ops with sudo's password. The
// password goes only to a host the operator's known_hosts vouch for: runs
// as ops also pass the lab's file with --known-hosts.
func (h *hostOutputLab) inventory(t *testing.T, ops bool) string {
	user, become := "root", ""
	if ops {
		user, become = h.lab.OpsUser, fmt.Sprintf(" ansible_become_password='%s'", h.lab.OpsPassword)
	}
	return runnerFile(t, "hosts.ini", fmt.Sprintf("%s ansible_host=%s ansible_user=%s ansible_ssh_private_key_file=%s%s ansible_ssh_common_args='-o UserKnownHostsFile=%s'\n",
		h.host.Name, h.host.Addr, user, h.lab.Key, become, h.lab.KnownHosts))
}

func (h *hostOutputLab) sh(t *testing.T, script string) {
	t.Helper()
	if out, err := h.lab.Exec(context.Background(), h.host.Name, "sh", "-c", script); err != nil {
		t.Fatalf("%s: %s: %v: %s", h.host.Name, script, err, out)
	}
}
