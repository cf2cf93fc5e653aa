package revert

import (
	"os"
	"os/exec"
	"path/filepath"
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
	timer := `d=/run/remedy-revert-t1; echo $$ > "$d/pid"; hard=$(($(cut -d. -f1 /proc/uptime) + 1800))
live() { now=$(cut -d. -f1 /proc/uptime) && dl=$(cat "$d/deadline") || echo 0 > "$d/deadline"; [ "$now" -lt "$hard" ] && [ "$now" -lt "$dl" ]; }
while :; do while live; do sleep 1 || echo 0 > "$d/deadline"; done; touch "$d/fired"; live || break; rm -f "$d/fired"; done
restore; rm -rf "$d"`
	tests := []struct {
		init, timer string
	}{
		{"none", shell.Join("sh", "-c", `setsid -f sh -c "$0" </dev/null >/dev/null 2>&1`, timer)},
		{"sysv", shell.Join("sh", "-c", `setsid -f sh -c "$0" </dev/null >/dev/null 2>&1`, timer)},
		// systemd expands $ in the command line: each is doubled, so that
		// sh gets the script as it is.
		{"systemd", shell.Join("systemd-run", "--quiet", "--collect", "--unit=remedy-revert-t1", "--description=remedy timed revert",
			"sh", "-c", strings.ReplaceAll(timer, "$", "$$"))},
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
			want := `sh -c 'set -e; d=/run/remedy-revert-t1; rm -rf "$d"; mkdir -m 700 "$d"; save; echo $(($(cut -d. -f1 /proc/uptime) + 61)) > "$d/next" && mv -f "$d/next" "$d/deadline"'`
			if got := shell.Join(r.Arm[0]...); got != want {
				t.Errorf("save:\n%s\nwant:\n%s", got, want)
			}
			if got := shell.Join(r.Arm[1]...); got != tt.timer {
				t.Errorf("timer:\n%s\nwant:\n%s", got, tt.timer)
			}
			if got := shell.Join(r.Disarm[0]...); !strings.Contains(got, `kill "$(cat "$d/pid")"`) {
				t.Errorf("disarm: %s", got)
			}
			// No % in what systemd reads: it would take it for a specifier.
			if tt.init == "systemd" && strings.Contains(shell.Join(r.Arm[1]...), "%") {
				t.Errorf("a %% in the systemd-run line: %s", shell.Join(r.Arm[1]...))
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

// timerRun is one revert run for real with sh, in a temporary directory
// instead of /run: restore writes the file "restored" beside it.
type timerRun struct {
	t        *testing.T
	r        Revert
	dir, out string
	armed    time.Time
}

func armFor(t *testing.T, window, max time.Duration) *timerRun {
	t.Helper()
	base := t.TempDir()
	out := filepath.Join(base, "restored")
	r, err := plan("none", filepath.Join(base, "revert"), "", window, max, `echo saved > "$d/state"`,
		`cat "$d/state" > `+shell.Quote(out))
	if err != nil {
		t.Fatal(err)
	}
	// Armed from before the arm: the deadline is written during it.
	tr := &timerRun{t: t, r: r, dir: filepath.Join(base, "revert"), out: out, armed: time.Now()}
	for _, c := range r.Arm {
		if err := tr.run(c); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, c := range r.Disarm {
			_ = exec.Command(c[0], c[1:]...).Run()
		}
	})
	return tr
}

func (tr *timerRun) run(argv []string) error {
	tr.t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return &exec.Error{Name: string(out), Err: err}
	}
	return nil
}

// waitRestored waits up to limit for the restore, and returns how long
// after arming it came; 0 when it did not.
func (tr *timerRun) waitRestored(limit time.Duration) time.Duration {
	for time.Since(tr.armed) < limit {
		if b, err := os.ReadFile(tr.out); err == nil && string(b) == "saved\n" {
			if _, err := os.Stat(tr.dir); err == nil {
				time.Sleep(200 * time.Millisecond) // the timer removes its directory next
			}
			return time.Since(tr.armed)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return 0
}

// TestTimerFiresOnSilence runs the timer for real: left alone it restores
// once its window is up, neither before nor much after.
func TestTimerFiresOnSilence(t *testing.T) {
	t.Parallel()
	tr := armFor(t, 2*time.Second, time.Minute)
	took := tr.waitRestored(6 * time.Second)
	if took == 0 {
		t.Fatal("the timer never restored")
	}
	if took < 2*time.Second {
		t.Errorf("restored %s after arming, before its 2s window", took)
	}
	if _, err := os.Stat(tr.dir); !os.IsNotExist(err) {
		t.Errorf("the revert's directory is left after the restore: %v", err)
	}
	// A push after it fired says so.
	if err := tr.run(tr.r.Extend[0]); err == nil || !strings.Contains(err.Error(), "has fired") {
		t.Errorf("a push after the revert fired: %v, want it to say it fired", err)
	}
}

// TestTimerWaitsWhilePushed pushes the deadline every second for three
// windows: the timer must not fire, and fires a window after the last
// push.
func TestTimerWaitsWhilePushed(t *testing.T) {
	t.Parallel()
	tr := armFor(t, 2*time.Second, time.Minute)
	var last time.Duration // from before the last push: it writes the deadline
	for range 6 {
		time.Sleep(time.Second)
		last = time.Since(tr.armed)
		if err := tr.run(tr.r.Extend[0]); err != nil {
			t.Fatalf("push %s after arming: %v", time.Since(tr.armed).Round(100*time.Millisecond), err)
		}
	}
	if _, err := os.Stat(tr.out); err == nil {
		t.Fatalf("restored while the controller pushed, %s after arming", time.Since(tr.armed).Round(100*time.Millisecond))
	}
	took := tr.waitRestored(last + 6*time.Second)
	if took == 0 {
		t.Fatal("the timer never restored after the pushes stopped")
	}
	if took-last < 2*time.Second {
		t.Errorf("restored %s after the last push, before its 2s window", took-last)
	}
}

// TestTimerHardLimit: a controller that keeps pushing cannot hold the
// revert past its upper bound.
func TestTimerHardLimit(t *testing.T) {
	t.Parallel()
	tr := armFor(t, 2*time.Second, 4*time.Second)
	for time.Since(tr.armed) < 8*time.Second {
		_ = tr.run(tr.r.Extend[0])
		if _, err := os.Stat(tr.out); err == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	took := tr.waitRestored(9 * time.Second)
	if took == 0 || took > 7*time.Second {
		t.Fatalf("pushed every 0.5s, the timer restored after %s, want within its 4s bound", took)
	}
}

// TestTimerDisarm: a disarmed timer never restores and leaves nothing.
func TestTimerDisarm(t *testing.T) {
	t.Parallel()
	tr := armFor(t, 2*time.Second, time.Minute)
	time.Sleep(500 * time.Millisecond)
	for _, c := range tr.r.Disarm {
		if err := tr.run(c); err != nil {
			t.Fatal(err)
		}
	}
	if tr.waitRestored(4*time.Second) != 0 {
		t.Error("the timer restored after the disarm")
	}
	if _, err := os.Stat(tr.dir); !os.IsNotExist(err) {
		t.Errorf("the revert's directory is left after the disarm: %v", err)
	}
}

// TestTimerBroughtForward: killing the timer's sleep fires it at once,
// as the lab and VM drills do.
func TestTimerBroughtForward(t *testing.T) {
	t.Parallel()
	tr := armFor(t, 30*time.Second, time.Minute)
	time.Sleep(500 * time.Millisecond)
	pid, err := os.ReadFile(filepath.Join(tr.dir, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	kill := `for c in $(ps -o pid= --ppid "$1"); do kill -KILL "$c"; done`
	if out, err := exec.Command("sh", "-c", kill, "sh", strings.TrimSpace(string(pid))).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if took := tr.waitRestored(5 * time.Second); took == 0 {
		t.Error("the timer did not restore once its sleep was killed")
	}
}
