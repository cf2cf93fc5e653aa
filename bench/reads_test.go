package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The commands come back whole from remedy's -vv output: the fixture's
// 21 commands on h6, the first the facts script of 17 lines.
func TestHostCommandsFromRemedyOutput(t *testing.T) {
	f, err := os.Open("testdata/audit-none-vv.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmds, err := hostCommands(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 1 || len(cmds["h6"]) != 21 {
		t.Fatalf("%d hosts, %d commands on h6; want h6 alone, with 21", len(cmds), len(cmds["h6"]))
	}
	facts := cmds["h6"][0]
	if !strings.HasPrefix(facts, `sh -c 'PATH="$PATH:/usr/sbin:/sbin"; export LC_ALL=C`+"\n") || !strings.HasSuffix(facts, "\nexit 0'") ||
		strings.Count(facts, "\n") != 16 {
		t.Errorf("the facts command is not whole:\n%s", facts)
	}
	if cmds["h6"][4] != "getent ahosts api.ibmaspera.com" {
		t.Errorf("fifth command %q, want getent ahosts api.ibmaspera.com", cmds["h6"][4])
	}
}

func TestHostCommandsKeepsHostsApart(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string][]string
	}{
		{"interleaved", "<a> $ sh -c 'x\n<a> > y'\n<b> $ true\n<a> rc=0\n<a>   > not a line of the command\n<b> rc=0\n<a> $ false\n<a> rc=1\n",
			map[string][]string{"a": {"sh -c 'x\ny'", "false"}, "b": {"true"}}},
		{"output that looks like a continuation", "<a> $ cat f\n<a> rc=0\n<a>   x\n<a> > y\n",
			map[string][]string{"a": {"cat f"}}},
		{"other lines", "PLAY [x] ***\nok: [a]\n<a> $ true\n<a> rc=0\n",
			map[string][]string{"a": {"true"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hostCommands(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for h, w := range tt.want {
				if strings.Join(got[h], "|") != strings.Join(w, "|") {
					t.Errorf("%s: got %q, want %q", h, got[h], w)
				}
			}
		})
	}
	if _, err := hostCommands(strings.NewReader("PLAY [x] ***\nok: [a]\n")); err == nil {
		t.Error("output without commands (remedy without -v) was accepted")
	}
}

func TestParseBusy(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{"cpu  100 2 30 9000 50 1 2 3 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n", 1380 * time.Millisecond, true},
		{"cpu 1 0 0 5 5 0 0 0\n", 10 * time.Millisecond, true},
		{"cpu0 1 2 3 4 5 6 7 8\n", 0, false},
		{"cpu 1 2 3\n", 0, false},
		{"cpu 1 2 x 4 5 6 7 8\n", 0, false},
	}
	for _, tt := range tests {
		got, err := parseBusy([]byte(tt.in))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseBusy(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
