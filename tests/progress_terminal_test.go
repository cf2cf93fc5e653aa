package tests

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"remedy/lua/shell"
)

// At 500 hosts on a 100-column terminal the progress line stays one line
// within the width, counts every host to the end, and is gone before the
// recap. The hosts are 500 inventory names for a closed port on the
// loopback address: each is unreachable at once, so the run is the
// progress line's worst case (500 hosts done in a burst) and needs no lab.
func TestProgressAt500HostsOnTerminal(t *testing.T) {
	bin := buildRemedy(t)
	var inv strings.Builder
	for i := 1; i <= 500; i++ {
		fmt.Fprintf(&inv, "node-%03d.rack%02d.fleet.example.com ansible_host=127.0.0.1 ansible_port=1\n", i, i%20)
	}
	hosts := runnerFile(t, "hosts.ini", inv.String())
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	line := "stty cols 100 rows 40; " + shell.Join(bin, "run", pb, "-i", hosts, "--summary-only") + "; echo exit=$?"
	tm := startOnTerminal(t, ctx, line, isolatedEnv(t.TempDir()))
	if err := tm.cmd.Wait(); err != nil {
		t.Fatalf("script: %v\n%s", err, tm.out)
	}
	out := tm.out.String()
	if !strings.Contains(out, "exit=4") {
		t.Fatalf("want exit 4 (every host unreachable):\n%s", out)
	}
	drawn := progressLines.FindAllString(out, -1)
	if len(drawn) < 500 {
		t.Fatalf("the progress line was drawn %d times, want at least once per host:\n%q", len(drawn), out)
	}
	for _, l := range drawn {
		if n := len([]rune(strings.TrimPrefix(l, "\r\x1b[K"))); n > 99 {
			t.Errorf("a progress line of %d columns on a 100-column terminal: %q", n, l)
			break
		}
	}
	if last := drawn[len(drawn)-1]; last != "\r\x1b[K500/500 done: ok=0 changed=0 failed=0 unreachable=500 | 0 running" {
		t.Errorf("the last progress line is %q", last)
	}
	// While hosts ran, the longest running were named, their names cut
	// to fit.
	if !strings.Contains(out, " running: node-0") && !strings.Contains(out, " run: node-0") {
		t.Errorf("no progress line named a running host:\n%q", drawn[:min(20, len(drawn))])
	}
	_, after, _ := strings.Cut(out, "PLAY RECAP")
	if after == "" || strings.Contains(after, " done: ") || strings.Count(after, ": ok=0") != 500 {
		t.Errorf("the recap is not the 500 hosts alone:\n%s", after)
	}
}

// progressLines are the progress line's draws: erase the line, then the
// counts, up to the next carriage return or newline.
var progressLines = regexp.MustCompile("\r\x1b\\[K[0-9]+/[0-9]+ [^\r\n]*")
