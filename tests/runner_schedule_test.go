package tests

import (
	"bytes"
	"cmp"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// timedPlaybook records when each host starts and ends, by the hosts'
// shared clock, with a pause between.
const timedPlaybook = `return {
  name = "runner lab: timed", hosts = "all",
  tasks = {
    { name = "start", run = function() return cmd.query({"date", "+%s.%N"}).stdout end },
    { name = "pause", run = function(v)
        expect(v.lab_profile ~= v.fail_profile, "failing on purpose on %s", v.lab_profile)
        cmd.query({"sleep", "0.3"})
      end },
    { name = "end", run = function() return cmd.query({"date", "+%s.%N"}).stdout end },
  },
}`

type hostSpan struct {
	host       string
	start, end float64
}

func batchSpans(t *testing.T, doc jsonRun) []hostSpan {
	t.Helper()
	var out []hostSpan
	for _, h := range doc.Hosts {
		start, err1 := strconv.ParseFloat(strings.TrimSpace(h.msg("start")), 64)
		end, err2 := strconv.ParseFloat(strings.TrimSpace(h.msg("end")), 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: start %q end %q", h.Name, h.msg("start"), h.msg("end"))
		}
		out = append(out, hostSpan{h.Name, start, end})
	}
	slices.SortFunc(out, func(a, b hostSpan) int { return cmp.Compare(a.start, b.start) })
	return out
}

func (r *remedyRunner) serialBatches(t *testing.T) {
	pb := runnerFile(t, "timed.lua", timedPlaybook)
	res := r.run(t, "run", pb, "-i", r.lab.Inventory, "-l", "!hidden", "--known-hosts", r.lab.KnownHosts, "--serial", "2", "-o", "json")
	if res.code != 0 {
		t.Fatalf("want exit 0: %s", res)
	}
	s := batchSpans(t, parseRunJSON(t, res))
	if len(s) != len(r.visible()) {
		t.Fatalf("%d hosts ran, want %d", len(s), len(r.visible()))
	}
	// Batches of two: each batch starts after the one before has ended.
	for i := 2; i < len(s); i += 2 {
		prevEnd := max(s[i-2].end, s[i-1].end)
		if s[i].start < prevEnd {
			t.Errorf("%s started at %.3f, before batch %d ended at %.3f", s[i].host, s[i].start, i/2, prevEnd)
		}
	}
}

func (r *remedyRunner) maxFailPercent(t *testing.T) {
	pb := runnerFile(t, "timed.lua", timedPlaybook)
	first := r.visible()[0]
	res := r.run(t, "run", pb, "-i", r.lab.Inventory, "-l", "!hidden", "--known-hosts", r.lab.KnownHosts,
		"--serial", "2", "--max-fail-percent", "0", "-e", "fail_profile="+first.Profile, "-o", "json")
	if res.code != 2 {
		t.Fatalf("want exit 2: %s", res)
	}
	doc := parseRunJSON(t, res)
	if len(doc.Hosts) != 2 || len(doc.NotRun) != len(r.visible())-2 {
		t.Fatalf("want the first batch of 2 run and the rest not run, got %d run, not run %v", len(doc.Hosts), doc.NotRun)
	}
	if h := doc.host(t, first.Name); h.Stats.Failed != 1 {
		t.Errorf("%s: %s", h.Name, h.statuses())
	}
}

func (r *remedyRunner) interrupt(t *testing.T) {
	// A remote sleep no other test runs, to find it among the machine's
	// processes afterwards.
	const sleep = "41.25"
	pb := runnerFile(t, "slow.lua", `return { name = "runner lab: slow", hosts = "all", tasks = {
	  { name = "sleep", run = function() cmd.query({"sleep", "`+sleep+`"}) end },
	  { name = "never", run = function() cmd.query({"true"}) end },
	} }`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := r.command(ctx, "run", pb, "-i", r.lab.Inventory, "-l", "!hidden", "--known-hosts", r.lab.KnownHosts, "--forks", "3")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Three forks: three hosts sleep at once.
	waitForRemote(t, "sleep "+sleep, 3)
	start := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	res := runFinished(t, cmd.Wait(), stdout, stderr, time.Since(start))
	if res.code != 99 || res.took > 10*time.Second {
		t.Fatalf("after SIGINT: want exit 99 soon, got it after %v: %s", res.took, res)
	}
	if !strings.Contains(res.stdout, "PLAY RECAP") || strings.Contains(res.stdout, "TASK [never]") {
		t.Errorf("want a recap of what ran, and no task after the interrupted one: %s", res)
	}
	if strings.Contains(res.stdout, "unreachable=1") || strings.Contains(res.stdout, "UNREACHABLE") {
		t.Errorf("an interrupted host is not unreachable: %s", res)
	}
	waitForRemote(t, "sleep "+sleep, 0)
}

// waitForRemote waits until exactly n processes run cmdline (the lab's
// hosts share the machine's process table).
func waitForRemote(t *testing.T, cmdline string, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := countProcesses(cmdline)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d processes run %q, want %d", got, cmdline, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func countProcesses(cmdline string) int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && string(bytes.TrimRight(bytes.ReplaceAll(b, []byte{0}, []byte(" ")), " ")) == cmdline {
			n++
		}
	}
	return n
}

// sshdPID finds the sshd listening on port 22 inside a lab host.
func (r *remedyRunner) sshdPID(t *testing.T, host string) int {
	t.Helper()
	out, err := r.lab.Exec(context.Background(), host, "ss", "-Hltnp", "sport = :22")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(out), "pid=")
	digits, _, _ := strings.Cut(rest, ",")
	pid, err := strconv.Atoi(digits)
	if err != nil {
		t.Fatalf("%s: no sshd on port 22 in %q", host, out)
	}
	return pid
}

func (r *remedyRunner) stoppedSSHD(t *testing.T) {
	victim := r.visible()[2]
	// The pid is the host's own (its PID namespace): signal it from inside.
	pid := strconv.Itoa(r.sshdPID(t, victim.Name))
	ctx := context.Background()
	if _, err := r.lab.Exec(ctx, victim.Name, "kill", "-TERM", pid); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := r.lab.Exec(ctx, victim.Name, "kill", "-0", pid); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: sshd %s survives SIGTERM", victim.Name, pid)
		}
	}
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	retry := filepath.Join(t.TempDir(), "retry")
	res := r.run(t, "run", pb, "-i", r.lab.Inventory, "-l", "!hidden", "--known-hosts", r.lab.KnownHosts, "--retry-file", retry)
	if res.code != 4 {
		t.Fatalf("want exit 4: %s", res)
	}
	if got, err := os.ReadFile(retry); err != nil || string(got) != victim.Name+"\n" {
		t.Errorf("retry file: %q, %v; want the unreachable host alone", got, err)
	}
	for _, h := range r.visible() {
		want := "ok=3    changed=0    unreachable=0    failed=0"
		if h.Name == victim.Name {
			want = "ok=0    changed=0    unreachable=1    failed=0"
		}
		if !recapHas(res.stdout, h.Name, want) {
			t.Errorf("recap for %s: want %q: %s", h.Name, want, res)
		}
	}
}

func recapHas(out, host, want string) bool {
	_, recap, _ := strings.Cut(out, "PLAY RECAP")
	for _, l := range strings.Split(recap, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == host {
			return strings.Contains(l, want)
		}
	}
	return false
}
