package tests

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"remedy/lua/shell"
	"remedy/tests/lab/labkit"
)

// revertWindow is the window the remedy these tests build reverts after:
// short enough to outlast in seconds.
const revertWindow = 12 * time.Second

// TestRevertWindowOnLab moves sshd on a host whose phase 2 is slowed past
// the timed revert's window, step by step (each step well within it), as a
// sudo that asks PAM for every command slows a real host: the controller
// keeps proving it is there, so the move must complete and no revert may
// fire. On a second host the controller is killed mid-way through the same
// slow phase 2: the host must revert by itself within the window, and SSH
// answer on 22 again. remedy is built with the window shortened (see
// revert.testWindow).
func TestRevertWindowOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 2, Profiles: []string{"nftables", "iptables-nft"}})
	s := newSSHDLab(t, lab)
	s.bin = buildRemedyWindow(t, revertWindow)
	for _, h := range lab.Hosts {
		s.slowPhase2(t, h)
	}
	t.Run("a slow move that keeps proving life completes", func(t *testing.T) {
		t.Parallel()
		h := lab.Hosts[0]
		start := time.Now()
		doc := s.remedy(t, s.lab.Inventory, "run", sshdMovePlaybook(t, false), "-l", h.Name)
		took := time.Since(start)
		status, msg, _ := doc.task(h.Name, "move")
		t.Logf("%s (%s): %s in %s: %s", h.Name, h.Profile, status, took.Round(100*time.Millisecond), msg)
		if status != "changed" {
			t.Fatalf("%s: the slow move did not complete: %s: %s", h.Name, status, msg)
		}
		if phase2 := s.phase2Took(t, h); phase2 <= revertWindow {
			t.Fatalf("%s: phase 2 took %s, not past the %s window: the drill proves nothing", h.Name, phase2, revertWindow)
		}
		// A revert still armed would fire within the window.
		time.Sleep(revertWindow + 3*time.Second)
		s.expectSSH(t, h, movedPort)
		if out := s.sh(t, h.Name, "ls -d /run/remedy-revert-* 2>/dev/null; true"); out != "" {
			t.Errorf("%s: a revert is left on the host: %s", h.Name, out)
		}
	})
	t.Run("a controller gone silent mid-move is reverted within the window", func(t *testing.T) {
		t.Parallel()
		h := lab.Hosts[1]
		killed := s.killRemedyInPhase2(t, h)
		if s.login(h.Addr, 22) == nil {
			t.Fatalf("%s: SSH answers on 22 once phase 2 closed it: the drill proves nothing", h.Name)
		}
		for s.login(h.Addr, 22) != nil {
			if time.Since(killed) > revertWindow+5*time.Second {
				t.Fatalf("%s: SSH does not answer on 22 %s after the controller went silent: the revert did not fire", h.Name, time.Since(killed).Round(time.Second))
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Logf("%s: SSH answers on 22 again %s after the controller went silent", h.Name, time.Since(killed).Round(100*time.Millisecond))
		for i := 0; s.sh(t, h.Name, "ls -d /run/remedy-revert-* 2>/dev/null; true") != ""; i++ {
			if i == 50 {
				t.Fatalf("%s: the revert did not finish", h.Name)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if ports := s.sshdPorts(t, h.Name); !slices.Contains(ports, 22) {
			t.Errorf("%s: sshd listens on %v after the revert, want 22 among them", h.Name, ports)
		}
	})
}

// buildRemedyWindow builds remedy with the timed revert's window set to
// window.
func buildRemedyWindow(t *testing.T, window time.Duration) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "remedy")
	cmd := exec.Command("go", "build", "-o", bin, "-ldflags=-X=remedy/lua/revert.testWindow="+window.String(), "remedy/cmd/remedy")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// phase2Step is how long each slowed step of phase 2 takes: sshd -t, and
// the wait for sshd to listen on the new port alone. Two of them outlast
// the window, each leaves room in it.
const phase2Step = 7 * time.Second

// slowPhase2 installs sshd and ss wrappers in /usr/local/sbin (before
// /usr/sbin in an SSH session's PATH) that, while the revert of phase 2 is
// armed, take phase2Step before running: `sshd -t` after the write and the
// ss of the wait for the new port. The first marks when phase 2 began.
func (s *sshdLab) slowPhase2(t *testing.T, h labkit.Host) {
	t.Helper()
	secs := int(phase2Step / time.Second)
	armed := `ls -d /run/remedy-revert-sshd-* >/dev/null 2>&1`
	sshdW := "#!/bin/sh\n# remedy revert window drill\nif [ \"$1\" = -t ] && " + armed + "; then\n  [ -e /run/remedy-drill-phase2 ] || cut -d. -f1 /proc/uptime > /run/remedy-drill-phase2\n  sleep " +
		strconv.Itoa(secs) + "\nfi\nexec /usr/sbin/sshd \"$@\"\n"
	ssW := "#!/bin/sh\n# remedy revert window drill\nif " + armed + "; then sleep " + strconv.Itoa(secs) + "; cut -d. -f1 /proc/uptime > /run/remedy-drill-listened; fi\nexec /usr/bin/ss \"$@\"\n"
	s.sh(t, h.Name, "mkdir -p /usr/local/sbin && printf %s "+shell.Quote(sshdW)+" > /usr/local/sbin/sshd && printf %s "+shell.Quote(ssW)+
		" > /usr/local/sbin/ss && chmod 755 /usr/local/sbin/sshd /usr/local/sbin/ss && rm -f /run/remedy-drill-*")
	t.Cleanup(func() {
		s.sh(t, h.Name, "rm -f /usr/local/sbin/sshd /usr/local/sbin/ss /run/remedy-drill-*")
	})
}

// phase2Took is how long phase 2 ran on the host: from its sshd -t to the
// end of its last wait for the new port.
func (s *sshdLab) phase2Took(t *testing.T, h labkit.Host) time.Duration {
	t.Helper()
	f := strings.Fields(s.sh(t, h.Name, "cat /run/remedy-drill-phase2 /run/remedy-drill-listened"))
	if len(f) != 2 {
		t.Fatalf("%s: phase 2 left no marks: %q", h.Name, f)
	}
	return time.Duration(upto(t, f[1])-upto(t, f[0])) * time.Second
}

// killRemedyInPhase2 runs the move and kills remedy once phase 2 has left
// sshd on the new port alone, during its slowed wait for that port, and
// returns when.
func (s *sshdLab) killRemedyInPhase2(t *testing.T, h labkit.Host) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, "run", sshdMovePlaybook(t, false), "-l", h.Name, "-i", s.lab.Inventory, "--known-hosts", s.knownHosts)
	cmd.Env = isolatedEnv(s.home)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for s.sh(t, h.Name, "if "+sshdOnMovedAlone+"; then echo yes; fi") == "" {
		if ctx.Err() != nil {
			t.Fatalf("%s: phase 2 never left sshd on %d alone\nremedy:\n%s", h.Name, movedPort, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = cmd.Wait()
	t.Logf("%s: remedy killed in phase 2:\n%s", h.Name, out)
	return killed
}

func upto(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
