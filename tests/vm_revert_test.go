package tests

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"remedy/tests/vmlab/vmkit"
)

// revertOutlivesSession: the timed revert sshd.move_port arms before
// phase 2 closes the old port must fire after the operator's SSH session
// has ended, also where logind kills every process of a session that ends
// (KillUserProcesses=yes, with root no longer exempt: KillExcludeUsers=
// empty, so remedy can log in as root and the run stays quick). The
// moment phase 2 has left sshd on 33001 alone, a watcher on the VM kills
// the sshd of remedy's session on 22 and notes its logind session, and
// the test ends remedy: nothing can disarm the revert or roll back. Once
// logind has ended that session and its scope, the revert's unit must
// still be there; brought forward, it puts phase 1 back, and SSH answers
// on 22 again.
func (s *vmSuite) revertOutlivesSession(t *testing.T, l *vmkit.Lab, vm vmkit.VM) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	op := vmOperator(t, l, asperaPort)
	setup := `set -e
mkdir -p /etc/systemd/logind.conf.d /run/remedy-drill
printf '[Login]\nKillUserProcesses=yes\nKillExcludeUsers=\n' >/etc/systemd/logind.conf.d/remedy-drill.conf
systemctl restart systemd-logind
# The watcher: once sshd's sockets are on 33001 alone (ssh.socket holds
# them), kill the sessions on 22, note their logind sessions and say so
# on the console.
systemd-run --quiet --collect --unit=remedy-drill-watch sh -c '
alone() { ss -Htln | grep -q ":33001 " && ! ss -Htln | grep -q ":22 "; }
until alone; do sleep 0.1; done
pids=$(ss -Htnp state established "( sport = :22 )" | grep -o "pid=[0-9]*" | cut -d= -f2 | sort -u)
for p in $pids; do sed -n "s|.*/session-\\(.*\\)\\.scope\$|\\1|p" /proc/$p/cgroup; done | sort -u >/run/remedy-drill/sessions
kill -KILL $pids
echo "remedy-drill: sessions killed" >/dev/ttyS0'
test "$(busctl get-property org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager KillUserProcesses)" = "b true"`
	if _, err := l.Exec(ctx, vm.Name, "sh", "-c", setup); err != nil {
		t.Fatal(err)
	}
	from, err := l.ConsoleOffset(vm.Name)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	cmd := exec.CommandContext(runCtx, s.bin, "run", "aspera-server", "-i", l.Inventory, "-l", vm.Name, "--known-hosts", op.knownHosts)
	cmd.Env = isolatedEnv(s.home)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- cmd.Wait() }()
	err = l.AwaitConsole(ctx, vm.Name, from, "remedy-drill: sessions killed")
	stopRun()
	<-ran
	if err != nil {
		t.Fatalf("%v\nremedy:\n%s", err, out)
	}
	if err := l.SetSSHPort(vm.Name, asperaPort); err != nil {
		t.Fatal(err)
	}
	// Wait until logind has ended the session and its scope, then for the
	// revert's unit, which must have outlived it.
	check := `s=$(cat /run/remedy-drill/sessions)
[ -n "$s" ] || { echo "the watcher found no session on 22" >&2; exit 1; }
for i in $(seq 150); do
	gone=1
	for id in $s; do loginctl show-session "$id" >/dev/null 2>&1 && gone=; systemctl is-active --quiet "session-$id.scope" && gone=; done
	[ -n "$gone" ] && break
	sleep 0.2
done
[ -n "$gone" ] || { echo "session $s did not end" >&2; exit 1; }
systemctl list-units --no-legend --plain --state=active 'remedy-revert-sshd-*' | cut -d' ' -f1`
	units, err := l.Exec(ctx, vm.Name, "sh", "-c", check)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(units)) == "" {
		t.Fatalf("no remedy-revert-sshd-* unit is active once the session ended: the revert died with it\nremedy:\n%s", out)
	}
	if err := op.login(vm.Addr, 22); err == nil {
		t.Fatalf("SSH answers on 22 before the revert fired: the move did not get to phase 2\nremedy:\n%s", out)
	}
	// Bring the revert forward: a deadline long past (the timer reads it
	// every second).
	fire := `for d in /run/remedy-revert-sshd-*; do
	[ -f "$d/deadline" ] && echo 0 > "$d/deadline"
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
