package revert

import (
	"strings"
	"testing"
	"time"

	"remedy/lua/shell"
)

// TestPlan checks the command lines a revert arms with, per init system.
// The systemd-run line is checked as text only: the lab has no systemd,
// so that it keeps the timer past logind's KillUserProcesses is for a
// lab of VMs booted with systemd to prove.
func TestPlan(t *testing.T) {
	tests := []struct {
		init, timer string
	}{
		{"none", `sh -c 'setsid -f sh -c "$0" </dev/null >/dev/null 2>&1' 'd=/run/remedy-revert-t1; echo $$ > "$d/pid"; sleep 60; restore; rm -rf "$d"'`},
		{"sysv", `sh -c 'setsid -f sh -c "$0" </dev/null >/dev/null 2>&1' 'd=/run/remedy-revert-t1; echo $$ > "$d/pid"; sleep 60; restore; rm -rf "$d"'`},
		// systemd expands $ in the command line: each is doubled, so that
		// sh gets the script as it is.
		{"systemd", `systemd-run --quiet --collect --unit=remedy-revert-t1 '--description=remedy timed revert' sh -c 'd=/run/remedy-revert-t1; echo $$$$ > "$$d/pid"; sleep 60; restore; rm -rf "$$d"'`},
	}
	for _, tt := range tests {
		t.Run(tt.init, func(t *testing.T) {
			r, err := Plan(tt.init, "t1", time.Minute, "save", "restore")
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Arm) != 2 {
				t.Fatalf("arm: %q", r.Arm)
			}
			if got, want := shell.Join(r.Arm[0]...), `sh -c 'set -e; d=/run/remedy-revert-t1; rm -rf "$d"; mkdir -m 700 "$d"; save'`; got != want {
				t.Errorf("save:\n%s\nwant:\n%s", got, want)
			}
			if got := shell.Join(r.Arm[1]...); got != tt.timer {
				t.Errorf("timer:\n%s\nwant:\n%s", got, tt.timer)
			}
			if got := shell.Join(r.Disarm[0]...); !strings.Contains(got, `kill "$(cat "$d/pid")"`) {
				t.Errorf("disarm: %s", got)
			}
		})
	}
	for _, bad := range []struct {
		token string
		after time.Duration
	}{{"a b", time.Minute}, {"", time.Minute}, {"t", time.Millisecond}} {
		if _, err := Plan("none", bad.token, bad.after, "s", "r"); err == nil {
			t.Errorf("Plan(%q, %s): no error", bad.token, bad.after)
		}
	}
}
