package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"remedy/lua/shell"
	"remedy/runner/shard"
	"remedy/tests/lab/labkit"
)

// A fleet split in shards audits the same as one run: three --shard runs
// on the lab, merged by remedy report merge, give the unsharded run's
// hosts, results, recap and exit code. The same lab shows the progress
// line on a terminal (and nowhere else) and --summary-only.
func TestShardsOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 8})
	s := &shardLab{remedyRunner: remedyRunner{bin: buildRemedy(t), lab: lab, home: t.TempDir()}}
	s.inv = s.inventory(t)
	t.Run("3 shards merge to the unsharded run", s.merged)
	t.Run("progress line on a terminal only", s.progress)
	t.Run("--summary-only", s.summaryOnly)
}

type shardLab struct {
	remedyRunner
	inv string
}

// ghost is a host of the inventory whose sshd does not answer: port 1 of
// the lab's host without a firewall, which refuses the connection, so it
// is unreachable at once and for the same reason every time.
const ghost = "ghost"

// inventory is the lab's, plus the ghost.
func (s *shardLab) inventory(t *testing.T) string {
	b, err := os.ReadFile(s.lab.Inventory)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b) + fmt.Sprintf("\n[unreachable]\n%s ansible_host=%s ansible_port=1 ansible_user=root ansible_ssh_private_key_file=%s\n",
		ghost, s.open(t).Addr, s.lab.Key)
	return runnerFile(t, "inventory.ini", text)
}

// open is the lab's host without a firewall.
func (s *shardLab) open(t *testing.T) labkit.Host {
	i := slices.IndexFunc(s.lab.Hosts, func(h labkit.Host) bool { return h.Profile == "none" })
	if i < 0 {
		t.Fatal("the lab has no host without a firewall")
	}
	return s.lab.Hosts[i]
}

// auditArgs is the audit every subtest runs: the built-in Aspera server
// playbook, which finds drift and failing checks on the lab's hosts.
func (s *shardLab) auditArgs(extra ...string) []string {
	return append([]string{"audit", "aspera-server", "-i", s.inv, "--known-hosts", s.lab.KnownHosts, "-o", "json"}, extra...)
}

func (s *shardLab) merged(t *testing.T) {
	whole := s.run(t, s.auditArgs()...)
	wholeDoc := comparable(t, whole)
	names := hostNamesOf(t, whole)
	if len(names) != len(s.lab.Hosts)+1 {
		t.Fatalf("the unsharded run has %d hosts, want %d\n%s", len(names), len(s.lab.Hosts)+1, whole)
	}
	dir := t.TempDir()
	var files []string
	worst := 0
	for k := 1; k <= 3; k++ {
		spec := fmt.Sprintf("%d/3", k)
		res := s.run(t, s.auditArgs("--shard", spec)...)
		var want []string
		for _, n := range names {
			if shard.Of(n, 3) == k {
				want = append(want, n)
			}
		}
		if got := hostNamesOf(t, res); !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("--shard %s ran on %v, want %v (and some host: a merge of empty shards proves little)", spec, got, want)
		}
		worst = worstExit(worst, res.code)
		file := filepath.Join(dir, fmt.Sprintf("shard-%d.json", k))
		if err := os.WriteFile(file, []byte(res.stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}
	merged := s.run(t, append([]string{"report", "merge", "-o", "json"}, files...)...)
	if merged.code != whole.code || merged.code != worst {
		t.Errorf("merge exits %d; the unsharded run %d, the worst shard %d\n%s", merged.code, whole.code, worst, merged)
	}
	if got := comparable(t, merged); !reflect.DeepEqual(got, wholeDoc) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(wholeDoc, "", " ")
		t.Errorf("the merged shards differ from the unsharded run:\n%s\nwant\n%s", g, w)
	}
	// The text of the merge is what --summary-only prints after its PLAY
	// banner for the unsharded run: the same failures and the same recap.
	mergedText := s.run(t, append([]string{"report", "merge", "-o", "text"}, files...)...)
	summary := s.run(t, "audit", "aspera-server", "-i", s.inv, "--known-hosts", s.lab.KnownHosts, "--summary-only")
	if !strings.Contains(mergedText.stdout, "PLAY RECAP") || !strings.HasSuffix(summary.stdout, mergedText.stdout) {
		t.Errorf("merge -o text is not the unsharded --summary-only's end:\n%s\n--summary-only:\n%s", mergedText.stdout, summary.stdout)
	}
}

// comparable is an -o json document less what differs between two runs
// of the same audit on the same hosts: times and durations, and the
// names a run draws at random or from the clock for the files and
// directories it would create (a backup's timestamp and suffix, a
// temporary directory, the firewall's revert directory).
func comparable(t *testing.T, res runResult) map[string]any {
	t.Helper()
	stable := drawnNames.ReplaceAllString(res.stdout, "<drawn>")
	stable = drawnTimes.ReplaceAllString(stable, "<time>")
	var doc map[string]any
	decodeJSON(t, []byte(stable), &doc, res.String())
	delete(doc, "started")
	delete(doc, "finished")
	var drop func(any)
	drop = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			delete(v, "duration_ms")
			for _, x := range v {
				drop(x)
			}
		case []any:
			for _, x := range v {
				drop(x)
			}
		}
	}
	drop(doc)
	return doc
}

var (
	drawnNames = regexp.MustCompile(`[0-9a-f]{12,}`)
	drawnTimes = regexp.MustCompile(`[0-9]{8}T[0-9]{6}Z`)
)

func hostNamesOf(t *testing.T, res runResult) []string {
	t.Helper()
	var names []string
	for _, h := range parseRunJSON(t, res).Hosts {
		names = append(names, h.Name)
	}
	return names
}

// worstExit ranks exit codes as a run does: 4 over 2 over 3 over 0.
func worstExit(a, b int) int {
	rank := map[int]int{0: 0, 3: 1, 2: 2, 4: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// On a terminal (script(1) gives remedy one) the text output ends with a
// live line of counts and the slowest hosts, erased before the recap;
// -o json on the same terminal, and text into a pipe, carry no trace of it.
func (s *shardLab) progress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	total := len(s.lab.Hosts) + 1
	tm := startOnTerminal(t, ctx, shell.Join(s.bin, "audit", "aspera-server", "-i", s.inv, "--known-hosts", s.lab.KnownHosts, "-f", "3")+"; echo exit=$?", s.env())
	if err := tm.cmd.Wait(); err != nil {
		t.Fatalf("script: %v\n%s", err, tm.out)
	}
	out := tm.out.String()
	if !strings.Contains(out, "exit=4") {
		t.Fatalf("want exit 4 (the ghost is unreachable):\n%s", out)
	}
	// Every host done, counted by outcome; while hosts ran, the oldest were named.
	last := fmt.Sprintf("%d/%d done: ok=", total, total)
	if !strings.Contains(out, "\r\x1b[K"+fmt.Sprintf("0/%d done: ok=0 findings=0 failed=0 unreachable=0 | 1 running: ", total)) ||
		!strings.Contains(out, last) || !strings.Contains(out, " running: ") {
		t.Errorf("no progress line with counts and running hosts on the terminal:\n%q", out)
	}
	if i := strings.Index(out, "PLAY RECAP"); i < 0 || strings.Contains(out[i:], " done: ok=") {
		t.Errorf("the progress line is left after the recap:\n%q", out)
	}
	for _, line := range terminalLines(out) {
		if strings.Contains(line, " done: ok=") {
			t.Errorf("the progress line is left on screen: %q", line)
		}
	}

	tm = startOnTerminal(t, ctx, shell.Join(append([]string{s.bin}, s.auditArgs()...)...)+"; echo exit=$?", s.env())
	if err := tm.cmd.Wait(); err != nil {
		t.Fatalf("script: %v\n%s", err, tm.out)
	}
	if out := tm.out.String(); strings.Contains(out, " done: ok=") || strings.Contains(out, "\x1b") {
		t.Errorf("-o json on a terminal holds the progress line:\n%q", out)
	}
	res := s.run(t, "audit", "aspera-server", "-i", s.inv, "--known-hosts", s.lab.KnownHosts)
	if strings.Contains(res.stdout, " done: ok=") || strings.ContainsAny(res.stdout, "\r\x1b") {
		t.Errorf("text into a pipe holds the progress line:\n%q", res.stdout)
	}
}

// terminalLines replays carriage returns and erase-line as a terminal
// does and returns the lines left on screen.
func terminalLines(out string) []string {
	var lines []string
	for _, line := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		if i := strings.LastIndex(line, "\r\x1b[K"); i >= 0 {
			line = line[i+len("\r\x1b[K"):]
		}
		lines = append(lines, line)
	}
	return lines
}

// --summary-only prints the failures with their messages and the recap,
// and no line of a host's passing results.
func (s *shardLab) summaryOnly(t *testing.T) {
	full := s.run(t, "audit", "aspera-server", "-i", s.inv, "--known-hosts", s.lab.KnownHosts)
	sum := s.run(t, "audit", "aspera-server", "-i", s.inv, "--known-hosts", s.lab.KnownHosts, "--summary-only")
	if sum.code != full.code || sum.code != 4 {
		t.Errorf("--summary-only exits %d, the full text %d, want 4", sum.code, full.code)
	}
	for _, absent := range []string{"ok: [", "changed: [", "skipping: [", "AUDIT [", "+++ "} {
		if strings.Contains(sum.stdout, absent) {
			t.Errorf("--summary-only prints %q:\n%s", absent, sum.stdout)
		}
	}
	if !strings.Contains(sum.stdout, "FAILURES ***") || !strings.Contains(sum.stdout, "fatal: ["+ghost+"]: UNREACHABLE! =>") {
		t.Errorf("--summary-only lacks the failures:\n%s", sum.stdout)
	}
	// Every failure of the full output is in the summary, on its own line
	// or on one line for the hosts it is the same on ("fatal: 3 hosts
	// [h1, h2, h3]: FAILED! => ..."), as many failures in both; and the
	// recap is the same.
	fatal, grouped := 0, 0
	for _, line := range strings.Split(full.stdout, "\n") {
		if !strings.HasPrefix(line, "fatal: [") {
			continue
		}
		fatal++
		_, what, _ := strings.Cut(line, "]: ")
		if !strings.Contains(sum.stdout, line) && !strings.Contains(sum.stdout, "]: "+what+"\n") {
			t.Errorf("--summary-only lacks %q", line)
		}
	}
	for _, line := range strings.Split(sum.stdout, "\n") {
		var n int
		switch {
		case strings.HasPrefix(line, "fatal: ["):
			grouped++
		case strings.HasPrefix(line, "fatal: "):
			if _, err := fmt.Sscanf(line, "fatal: %d hosts [", &n); err != nil {
				t.Errorf("--summary-only line %q: %v", line, err)
			}
			grouped += n
		}
	}
	if grouped != fatal {
		t.Errorf("--summary-only tells %d failures, the full text %d:\n%s", grouped, fatal, sum.stdout)
	}
	recap := func(out string) string { _, r, _ := strings.Cut(out, "PLAY RECAP"); return r }
	if recap(sum.stdout) == "" || recap(sum.stdout) != recap(full.stdout) {
		t.Errorf("recaps differ:\n%s\nwant\n%s", recap(sum.stdout), recap(full.stdout))
	}
	if len(sum.stdout)*3 > len(full.stdout) {
		t.Errorf("--summary-only is %d bytes, the full text %d: not much of a summary", len(sum.stdout), len(full.stdout))
	}
}
