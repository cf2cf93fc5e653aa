package tests

import (
	"slices"
	"strings"
	"testing"

	"remedy/lua/shell"
	"remedy/tests/lab/labkit"
)

// TestLockoutOnLab breaks sshd.move_port at each step on a host of each
// firewall profile and checks from outside, with a fresh SSH login, that
// the host still takes logins on the old port, or on the new one where
// the move got that far: never on neither. A host runs its drills one
// after the other, the hosts run side by side. The drills reuse the sshd
// move tests' lab helpers.
func TestLockoutOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: len(labkit.Profiles), Profiles: labkit.Profiles})
	s := newSSHDLab(t, lab)
	for _, h := range lab.Hosts {
		t.Run(h.Profile, func(t *testing.T) {
			t.Parallel()
			for _, d := range s.drills() {
				s.resetDrill(t, h)
				t.Run(d.name, func(t *testing.T) { d.run(t, h) })
			}
		})
	}
}

type lockoutDrill struct {
	name string
	run  func(*testing.T, labkit.Host)
}

// drills are in an order that lets each start from the host's original
// state: the connection is lost last, as the revert it leaves stays armed
// on the host for two minutes after the lost run's last push.
func (s *sshdLab) drills() []lockoutDrill {
	return []lockoutDrill{
		{"validation fails", s.drillValidation},
		{"reload fails", s.drillReload},
		{"new port unreachable after the firewall change", s.drillUnreachable},
		{"connection lost right after the firewall change", s.drillConnectionLost},
		{"a rerun before the lost run's firewall revert fires", s.drillPendingRevert},
		{"connection lost and the new port dropped once phase 2 closed 22", s.drillLostAfterPhase2},
		{"connection lost once sshd listens on the new port alone", s.drillLostAfterMove},
	}
}

// resetDrill puts sshd back on its original config on 22 and removes
// every fault a drill left: the sshd and ss wrappers, the drop table, the
// marks.
func (s *sshdLab) resetDrill(t *testing.T, h labkit.Host) {
	t.Helper()
	s.sh(t, h.Name, "rm -f /usr/local/sbin/sshd /usr/local/sbin/ss /run/remedy-drill-*; nft delete table inet remedy_drill 2>/dev/null; true")
	s.reset(t, h)
}

// drillWrapper installs an sshd wrapper in /usr/local/sbin, which comes
// before /usr/sbin in an SSH session's PATH: remedy's `sshd -T` and
// `sshd -t` go through it, the running daemon (started and re-executed by
// its absolute path) does not.
func (s *sshdLab) drillWrapper(t *testing.T, h labkit.Host, body string) {
	t.Helper()
	script := "#!/bin/sh\n# remedy lockout drill\n" + body + "exec /usr/sbin/sshd \"$@\"\n"
	s.sh(t, h.Name, "mkdir -p /usr/local/sbin && printf %s "+shell.Quote(script)+" > /usr/local/sbin/sshd && chmod 755 /usr/local/sbin/sshd")
}

// drillValidation fails `sshd -t`, which the move runs only after phase
// 1's write (the current config is checked by the sshd -T it reads).
func (s *sshdLab) drillValidation(t *testing.T, h labkit.Host) {
	s.drillWrapper(t, h, `if [ "$1" = "-t" ]; then
  n=$(($(cat /run/remedy-drill-count 2>/dev/null || echo 0) + 1)); echo $n > /run/remedy-drill-count
  echo "drill: validation fails" >&2; exit 1
fi
`)
	s.drill(t, h, "drill: validation fails", "rolled back")
	if got := s.sh(t, h.Name, "cat /run/remedy-drill-count"); got != "1\n" {
		t.Errorf("%s: sshd -t ran %q times through the drill, want 1", h.Name, got)
	}
}

// drillReload points `sshd -T`'s pidfile at a file that does not exist, so
// the reload (SIGHUP to the pid in it) fails, and so does the rollback's.
func (s *sshdLab) drillReload(t *testing.T, h labkit.Host) {
	s.drillWrapper(t, h, `if [ "$1" = "-T" ]; then
  /usr/sbin/sshd "$@" | sed 's|^pidfile .*|pidfile /run/remedy-drill-missing.pid|'; exit
fi
`)
	s.drill(t, h, "remedy-drill-missing.pid", "reloading sshd failed", "port 22 answers")
}

// drillUnreachable rejects TCP to the new port, in a table of its own
// ahead of the profile's firewall, as soon as phase 1 has written
// sshd_config: the firewall change took effect, yet no login gets through.
// (A reset, not a drop: each login is refused at once rather than after
// --timeout, and the move rolls back when its 20s of retries are up;
// TestSSHDMoveOnLab drops.)
func (s *sshdLab) drillUnreachable(t *testing.T, h labkit.Host) {
	s.drillWatcher(t, h, `grep -rqs '^Port 33001' /etc/ssh/sshd_config /etc/ssh/sshd_config.d`,
		`nft add table inet remedy_drill; nft add chain inet remedy_drill in '{ type filter hook input priority -300; }'; nft add rule inet remedy_drill in tcp dport 33001 reject with tcp reset`)
	s.drill(t, h, "33001", "rolled back")
	s.drillFired(t, h)
}

// drillConnectionLost kills, by pid, remedy's SSH sessions on the host the
// moment any firewall rule names the new port: remedy loses its connection
// right after the firewall change.
func (s *sshdLab) drillConnectionLost(t *testing.T, h labkit.Host) {
	if h.Profile == "none" {
		t.Skip("no firewall: the move changes none")
	}
	s.closeMovedPort(t, h)
	s.watchFirewallChange(t, h)
	s.drill(t, h)
	s.drillFired(t, h)
}

// watchFirewallChange kills remedy's sessions once a revert is armed and a
// rule names 33001: after the change, before the controller's new login
// can disarm the revert.
func (s *sshdLab) watchFirewallChange(t *testing.T, h labkit.Host) {
	t.Helper()
	s.drillWatcher(t, h, `ls /run/remedy-revert-*/pid >/dev/null 2>&1 && { nft list ruleset; iptables-legacy-save; } 2>/dev/null | grep -q 33001`,
		killSessions)
}

// drillLostAfterMove kills remedy's session on 22 once phase 2 has left
// sshd on 33001 alone: the move completed on the host, remedy cannot roll
// back over a lost connection, and the host must take logins on 33001.
func (s *sshdLab) drillLostAfterMove(t *testing.T, h labkit.Host) {
	s.drillWatcher(t, h, sshdOnMovedAlone, killSessions)
	doc := s.remedy(t, s.lab.Inventory, "run", sshdMovePlaybook(t, false), "-l", h.Name)
	status, msg, _ := doc.task(h.Name, "move")
	// The session may die just after remedy moved its connection: then
	// the move succeeds, which is as good.
	t.Logf("%s (%s): %s: %s", h.Name, h.Profile, status, msg)
	s.drillFired(t, h)
	s.assertNotLockedOut(t, h)
	if err := s.login(h.Addr, movedPort); err != nil {
		t.Errorf("%s: the move completed on the host, yet a fresh login on %d fails: %v", h.Name, movedPort, err)
	}
}

// sshdOnMovedAlone holds on the host once phase 2 has left sshd listening
// on the new port alone. It names ss by its path, past the drill's
// wrapper.
const sshdOnMovedAlone = `/usr/bin/ss -Htlnp | grep '"sshd"' | grep -q ':33001 ' && ! /usr/bin/ss -Htlnp | grep '"sshd"' | grep -q ':22 '`

// killSessions kills, by pid, the sshd processes of remedy's sessions on 22.
const killSessions = `/usr/bin/ss -Htnp state established '( sport = :22 )' | grep -o 'pid=[0-9]*' | cut -d= -f2 | xargs -r kill -KILL`

// drillLostAfterPhase2 kills remedy's session on 22 once phase 2 has
// left sshd on 33001 alone, and at the same moment drops TCP to 33001 in
// a table of its own: the new port stops answering between phase 1's
// login and phase 2's. remedy can roll back over neither; the revert
// armed before phase 2 must put sshd back on 22 by itself (its timer is
// brought forward). An ss wrapper holds remedy's wait for the new port
// until the drill has fired, so remedy cannot finish the move first and
// be locked out by the drill itself.
func (s *sshdLab) drillLostAfterPhase2(t *testing.T, h labkit.Host) {
	wrapper := "#!/bin/sh\n# remedy lockout drill: hold remedy's reads until the drill fired\nif " + sshdOnMovedAlone +
		"; then\n  for i in $(seq 100); do [ -e /run/remedy-drill-fired ] && break; sleep 0.1; done\nfi\nexec /usr/bin/ss \"$@\"\n"
	s.sh(t, h.Name, "mkdir -p /usr/local/sbin && printf %s "+shell.Quote(wrapper)+" > /usr/local/sbin/ss && chmod 755 /usr/local/sbin/ss")
	s.drillWatcher(t, h, sshdOnMovedAlone, killSessions+`; nft add table inet remedy_drill; nft add chain inet remedy_drill in '{ type filter hook input priority -300; }'; nft add rule inet remedy_drill in tcp dport 33001 drop`)
	doc := s.remedy(t, s.lab.Inventory, "run", sshdMovePlaybook(t, false), "-l", h.Name)
	status, msg, _ := doc.task(h.Name, "move")
	t.Logf("%s (%s): %s: %s", h.Name, h.Profile, status, msg)
	s.drillFired(t, h)
	s.fireReverts(t, h)
	s.assertNotLockedOut(t, h)
	if err := s.login(h.Addr, 22); err != nil {
		t.Errorf("%s: the revert of phase 2 did not bring 22 back: %v", h.Name, err)
	}
}

// fireReverts brings every timed revert pending on the host forward (a
// deadline long past: the timer reads it every second; killing its
// one-second sleeps by pid raced their ending) and waits until each has
// run.
func (s *sshdLab) fireReverts(t *testing.T, h labkit.Host) {
	t.Helper()
	s.sh(t, h.Name, `for d in /run/remedy-revert-*; do
  [ -f "$d/deadline" ] && echo 0 > "$d/deadline"
done
for i in $(seq 300); do ls -d /run/remedy-revert-* >/dev/null 2>&1 || exit 0; sleep 0.1; done
echo "the revert did not finish" >&2; exit 1`)
}

// drillPendingRevert reruns the move while the revert the lost run armed
// is still pending: the rerun finds 33001 open, so it changes no firewall
// rule and arms no revert of its own, and moves sshd to 33001 alone. Then
// the pending revert is brought forward (its sleep killed, by pid) and
// restores the rules from before the lost run. The host must still take
// logins on 33001.
func (s *sshdLab) drillPendingRevert(t *testing.T, h labkit.Host) {
	if h.Profile == "none" {
		t.Skip("no firewall: the move arms no revert")
	}
	// The lost run's sessions die while the controller's new login may
	// already be under way; when that login won and disarmed, lose one
	// again.
	for try := 0; s.sh(t, h.Name, "ls -d /run/remedy-revert-* 2>/dev/null; true") == ""; try++ {
		if try == 3 {
			t.Fatalf("%s: no revert pending after three lost runs", h.Name)
		}
		s.resetDrill(t, h)
		s.closeMovedPort(t, h)
		s.watchFirewallChange(t, h)
		s.remedy(t, s.lab.Inventory, "run", sshdMovePlaybook(t, false), "-l", h.Name)
	}
	s.resetDrill(t, h)
	doc := s.remedy(t, s.lab.Inventory, "run", sshdMovePlaybook(t, false), "-l", h.Name)
	status, msg, _ := doc.task(h.Name, "move")
	t.Logf("%s (%s): rerun: %s: %s", h.Name, h.Profile, status, msg)
	s.fireReverts(t, h)
	// The revert restored the rules from before the lost run: 33001 is
	// closed, where sshd now listens alone.
	s.assertNotLockedOut(t, h)
}

// closeMovedPort removes the rule earlier drills' firewall.allow left for
// 33001, with remedy itself, so the next firewall change is a new one.
func (s *sshdLab) closeMovedPort(t *testing.T, h labkit.Host) {
	t.Helper()
	pb := sshdPlaybook(t, `return { tasks = { { name = "move", run = function()
	firewall.remove { comment = "remedy: sshd port" }
end } } }`)
	if status, msg, _ := s.remedy(t, s.lab.Inventory, "run", pb, "-l", h.Name).task(h.Name, "move"); status != "changed" && status != "ok" {
		t.Fatalf("%s: remove the 33001 rule: %s %s", h.Name, status, msg)
	}
	if out := s.sh(t, h.Name, `{ nft list ruleset; iptables-legacy-save; } 2>/dev/null | grep -c 33001; true`); out != "0\n" {
		t.Fatalf("%s: 33001 still in the firewall after firewall.remove (%s lines)", h.Name, strings.TrimSpace(out))
	}
}

// drillWatcher starts, detached on the host, a loop that runs action once
// condition holds (or gives up after 6000 tries, a minute at least).
func (s *sshdLab) drillWatcher(t *testing.T, h labkit.Host, condition, action string) {
	t.Helper()
	loop := "for i in $(seq 6000); do if " + condition + "; then " + action + "; touch /run/remedy-drill-fired; exit 0; fi; sleep 0.01; done"
	s.sh(t, h.Name, "setsid -f sh -c "+shell.Quote(loop)+" >/dev/null 2>&1")
}

// drillFired fails unless the watcher's action ran: a drill that never
// injected proves nothing.
func (s *sshdLab) drillFired(t *testing.T, h labkit.Host) {
	t.Helper()
	// The watcher polls; under load its last tick may come just after
	// remedy finished, so give it a moment before calling the drill void.
	script := "for i in $(seq 100); do test -e /run/remedy-drill-fired && { echo fired; exit 0; }; sleep 0.1; done; echo not"
	if out := s.sh(t, h.Name, script); out != "fired\n" {
		t.Errorf("%s: the drill's fault was never injected", h.Name)
	}
}

// drill runs the move and checks its outcome: the task must not succeed
// and its message holds each of want; from outside, a fresh login works on
// 22 (rolled back, or never moved) or on 33001 (the move got that far);
// sshd_config is the original unless sshd listens on 33001.
func (s *sshdLab) drill(t *testing.T, h labkit.Host, want ...string) {
	t.Helper()
	doc := s.remedy(t, s.lab.Inventory, "run", sshdMovePlaybook(t, false), "-l", h.Name)
	status, msg, _ := doc.task(h.Name, "move")
	t.Logf("%s (%s): %s: %s", h.Name, h.Profile, status, msg)
	if status == "changed" || status == "ok" {
		t.Errorf("%s: the move succeeded through the drill", h.Name)
	}
	if strings.Contains(msg, "stack traceback") {
		t.Errorf("%s: the message carries a Lua stack traceback", h.Name)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: the message does not say %q", h.Name, w)
		}
	}
	if strings.Contains(msg, "rolled back") {
		s.expectSSH(t, h, 22)
	}
	s.assertNotLockedOut(t, h)
}

// assertNotLockedOut checks a fresh login works on 22 or 33001, and that
// sshd_config is the original unless sshd listens on the new port.
func (s *sshdLab) assertNotLockedOut(t *testing.T, h labkit.Host) {
	t.Helper()
	ports := s.sshdPorts(t, h.Name)
	var working []int
	for _, p := range []int{22, movedPort} {
		if s.login(h.Addr, p) == nil {
			working = append(working, p)
		}
	}
	t.Logf("%s: sshd listens on %v; fresh logins work on %v", h.Name, ports, working)
	if len(working) == 0 {
		t.Fatalf("%s: LOCKED OUT: no fresh SSH login works on 22 or %d", h.Name, movedPort)
	}
	if !slices.Contains(ports, movedPort) {
		if got := s.sh(t, h.Name, "cat /etc/ssh/sshd_config"); got != s.original[h.Name] {
			t.Errorf("%s: sshd_config is not the original:\n%s", h.Name, got)
		}
	}
}
