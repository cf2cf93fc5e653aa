package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remedy/tests/vmlab/vmkit"
)

// revertOutlivesSession: the timed revert sshd.move_port arms before
// phase 2 closes the old port must fire after the operator's SSH session
// has ended, also where logind kills every process of a session that ends
// (KillUserProcesses=yes). remedy logs in as ops, a user logind does not
// exempt as it does root, and becomes root with sudo; the moment phase 2
// has left sshd on 33001 alone, a watcher on the VM kills that session's
// sshd, so remedy can neither disarm the revert nor roll back. Once
// logind has ended the session, the revert's unit must still be there;
// brought forward, it puts phase 1 back, and SSH answers on 22 again.
func (s *vmSuite) revertOutlivesSession(t *testing.T, l *vmkit.Lab, vm vmkit.VM) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	op := vmOperator(t, l, asperaPort)
	setup := `set -e
mkdir -p /etc/systemd/logind.conf.d
printf '[Login]\nKillUserProcesses=yes\n' >/etc/systemd/logind.conf.d/remedy-drill.conf
systemctl restart systemd-logind
# The watcher: once sshd's sockets are on 33001 alone (ssh.socket holds
# them), kill the sessions on 22 and say so on the console.
systemd-run --quiet --collect --unit=remedy-drill-watch sh -c '
alone() { ss -Htln | grep -q ":33001 " && ! ss -Htln | grep -q ":22 "; }
until alone; do sleep 0.1; done
ss -Htnp state established "( sport = :22 )" | grep -o "pid=[0-9]*" | cut -d= -f2 | sort -u | xargs -r kill -KILL
echo "remedy-drill: sessions killed" >/dev/ttyS0'
test "$(busctl get-property org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager KillUserProcesses)" = "b true"`
	if _, err := l.Exec(ctx, vm.Name, "sh", "-c", setup); err != nil {
		t.Fatal(err)
	}
	from, err := l.ConsoleOffset(vm.Name)
	if err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(t.TempDir(), "inventory.ini")
	line := fmt.Sprintf("%s ansible_host=%s ansible_user=%s ansible_ssh_private_key_file=%s ansible_become=true ansible_become_password=%s\n",
		vm.Name, vm.Addr, l.OpsUser, l.Key, l.OpsPassword)
	if err := os.WriteFile(inv, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	doc, code := runRemedy(t, s.bin, s.home, 5*time.Minute, "run", "aspera-server", "-i", inv, "--known-hosts", op.knownHosts)
	if err := l.AwaitConsole(ctx, vm.Name, from, "remedy-drill: sessions killed"); err != nil {
		t.Fatalf("%v\n%s", err, doc.out)
	}
	status, msg, _ := doc.task(vm.Name, "S1/S2: move SSH to ssh_port")
	t.Logf("remedy: exit %d; the move: %s %q", code, status, msg)

	if err := l.SetSSHPort(vm.Name, asperaPort); err != nil {
		t.Fatal(err)
	}
	// Wait until logind has ended ops's session, then for the revert's
	// unit, which must have outlived it.
	check := `for i in $(seq 100); do
	loginctl list-sessions --no-legend | grep -qw ops || break
	sleep 0.2
done
if loginctl list-sessions --no-legend | grep -qw ops; then echo "ops's session did not end" >&2; exit 1; fi
systemctl list-units --no-legend --plain --state=active 'remedy-revert-sshd-*' | cut -d' ' -f1`
	units, err := l.Exec(ctx, vm.Name, "sh", "-c", check)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(units)) == "" {
		t.Fatalf("no remedy-revert-sshd-* unit is active once the session ended: the revert died with it")
	}
	if err := op.login(vm.Addr, 22); err == nil {
		t.Fatalf("SSH answers on 22 before the revert fired: the move did not get to phase 2")
	}
	// Bring the revert forward: kill its sleep, by pid.
	fire := `for d in /run/remedy-revert-sshd-*; do
	[ -f "$d/pid" ] || continue
	for c in $(ps -o pid= --ppid "$(cat "$d/pid")"); do kill -KILL "$c"; done
done
for i in $(seq 300); do ls -d /run/remedy-revert-sshd-* >/dev/null 2>&1 || exit 0; sleep 0.1; done
echo "the revert did not finish" >&2; exit 1`
	if _, err := l.Exec(ctx, vm.Name, "sh", "-c", fire); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range 20 {
		if lastErr = op.login(vm.Addr, 22); lastErr == nil {
			return
		}
		time.Sleep(time.Second)
	}
	t.Errorf("the revert fired, yet SSH does not answer on 22: %v", lastErr)
}
