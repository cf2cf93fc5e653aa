package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"remedy/lua/shell"
	"remedy/tests/vmlab/vmkit"
)

// The power-off drill: the plug is pulled (qemu killed) after each step
// of a firewall change and of an SSH move that changed what is on the
// disk, the VM boots again from that disk, and SSH must answer on the old
// port or the new one, never on neither.
//
// Which steps: a power cut keeps the disk and loses everything else (the
// live ruleset, the running sshd, the timed reverts under /run), so two
// steps that leave the same disk boot the same machine. A gate on the VM
// runs each command remedy's session asks for (a forced command of the
// key remedy logs in with) and, before it, fingerprints the files under
// /etc, /var/lib/selinux and /usr/local changed since the drill began:
// each change of the fingerprint is a step's write, and its count is the
// same in every run (the reads between, however many, change nothing). A
// recording run counts the writes and names the file each wrote; then,
// for each, the VM is reset to its snapshot, remedy runs again, and the
// gate holds the command after that write (the write synced, as a cut
// right then would find it) and says so on the serial console, where the
// test pulls the plug.

// drillPlaybook is an SSH move, whose first step is a firewall change:
// tcp/33001 opened under a timed revert, then written to what boot loads.
const drillPlaybook = `return {
  name = "power-off drill",
  hosts = "all",
  tasks = {
    { name = "move", run = function() sshd.move_port { to = 33001 } end },
  },
}
`

// drillGate is the forced command of the drill's key: see above. It
// keeps its state in /run/remedy-drill: start (the reference time), last
// (the last fingerprint), changes (their count), hold (the change to hold
// after; 0 never), log (each change's number and the file it wrote last,
// by the inode change time a rename sets).
const drillGate = `#!/bin/sh
# remedy power-off drill gate (tests/vm_poweroff_test.go)
d=/run/remedy-drill
exec 9>"$d/lock"
flock 9
fp=$(find /etc /var/lib/selinux /usr/local -xdev -newer "$d/start" -printf '%p %s %T@\n' 2>/dev/null | sort | md5sum)
if [ "$fp" != "$(cat "$d/last")" ]; then
	n=$(($(cat "$d/changes") + 1))
	echo "$n" >"$d/changes"
	echo "$fp" >"$d/last"
	echo "$n $(find /etc /var/lib/selinux /usr/local -xdev -type f -newer "$d/start" -printf '%C@ %p\n' | sort -n | tail -n1 | cut -d' ' -f2)" >>"$d/log"
	if [ "$n" = "$(cat "$d/hold")" ]; then
		sync
		echo "remedy-drill: change $n held" >/dev/ttyS0
		exec sleep infinity
	fi
fi
exec 9>&-
exec "${SHELL:-/bin/sh}" -c "$SSH_ORIGINAL_COMMAND"
`

const drillGatePath = "/usr/local/sbin/remedy-drill-gate"

// powerOffDrill records the drill playbook's writes on the VM, then pulls
// the plug after each.
func (s *vmSuite) powerOffDrill(t *testing.T, l *vmkit.Lab, vm vmkit.VM) {
	d := newDrill(t, l, vm)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	if err := d.arm(ctx, 0); err != nil {
		t.Fatal(err)
	}
	doc, code := runRemedy(t, s.bin, s.home, 5*time.Minute, "run", d.playbook, "-i", d.inventory, "--known-hosts", d.op.knownHosts)
	if code != 0 {
		t.Fatalf("recording run: exit %d, want 0\n%s", code, doc.out)
	}
	if err := l.SetSSHPort(vm.Name, asperaPort); err != nil {
		t.Fatal(err)
	}
	// The last command's write, if any, has no command after it to hold:
	// the gate counts it when run once more.
	if _, err := l.Exec(ctx, vm.Name, "env", "SSH_ORIGINAL_COMMAND=true", drillGatePath); err != nil {
		t.Fatal(err)
	}
	log, err := l.Exec(ctx, vm.Name, "cat", "/run/remedy-drill/log")
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	steps := strings.Split(strings.TrimSpace(string(log)), "\n")
	if len(steps) < 3 {
		t.Fatalf("the recording run made %d writes, want at least 3 (the firewall's boot file, sshd's two phases):\n%s", len(steps), log)
	}
	t.Logf("%d steps write to the disk:\n%s", len(steps), log)
	for i, step := range steps {
		n := i + 1
		last := n == len(steps)
		_, made, _ := strings.Cut(step, " ")
		t.Run(fmt.Sprintf("after write %d", n), func(t *testing.T) {
			t.Logf("the plug is pulled after the write of %s", made)
			d.cut(t, s, n, last)
		})
	}
}

type drill struct {
	l                   *vmkit.Lab
	vm                  vmkit.VM
	op                  *operator
	key, pub            string
	playbook, inventory string
}

func newDrill(t *testing.T, l *vmkit.Lab, vm vmkit.VM) *drill {
	dir := t.TempDir()
	d := &drill{l: l, vm: vm, op: vmOperator(t, l, asperaPort), key: filepath.Join(dir, "drill_ed25519"),
		playbook: filepath.Join(dir, "drill.lua"), inventory: filepath.Join(dir, "inventory.ini")}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "remedy-drill", "-f", d.key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(d.key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	d.pub = strings.TrimSpace(string(pub))
	inv := fmt.Sprintf("%s ansible_host=%s ansible_user=root ansible_ssh_private_key_file=%s\n", vm.Name, vm.Addr, d.key)
	for path, text := range map[string]string{d.playbook: drillPlaybook, d.inventory: inv} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// arm installs the gate on the VM as it is now, to hold after change hold
// (0: never), and lets the drill's key in through it.
func (d *drill) arm(ctx context.Context, hold int) error {
	script := fmt.Sprintf(`set -e
printf %%s %s >%s
chmod 755 %s
rm -rf /run/remedy-drill
mkdir -m 700 /run/remedy-drill
cd /run/remedy-drill
echo 0 >changes
echo %d >hold
: >log
printf '%%s\n' %s >>/root/.ssh/authorized_keys
touch start
sleep 1
echo "$(printf '' | md5sum)" >last`,
		shell.Quote(drillGate), drillGatePath, drillGatePath, hold,
		shell.Quote(`command="`+drillGatePath+`",no-pty,no-port-forwarding `+d.pub))
	_, err := d.l.Exec(ctx, d.vm.Name, "sh", "-c", script)
	return err
}

// cut resets the VM, runs remedy until the gate holds after change n (or
// to its end, when n is the last), pulls the plug, boots the VM from its
// disk and logs in on whichever of 22 and 33001 answers.
func (d *drill) cut(t *testing.T, s *vmSuite, n int, last bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	name := d.vm.Name
	if err := d.l.Reset(ctx, name); err != nil {
		t.Fatal(err)
	}
	hold := n
	if last {
		hold = 0
	}
	if err := d.arm(ctx, hold); err != nil {
		t.Fatal(err)
	}
	from, err := d.l.ConsoleOffset(name)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	cmd := exec.CommandContext(runCtx, s.bin, "run", d.playbook, "-i", d.inventory, "--known-hosts", d.op.knownHosts)
	cmd.Env = isolatedEnv(s.home)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- cmd.Wait() }()
	if last {
		if err := <-ran; err != nil {
			t.Fatalf("remedy: %v\n%s", err, out)
		}
		if err := d.l.SetSSHPort(name, asperaPort); err != nil {
			t.Fatal(err)
		}
		if _, err := d.l.Exec(ctx, name, "sync"); err != nil {
			t.Fatal(err)
		}
	} else if err := d.l.AwaitConsole(ctx, name, from, fmt.Sprintf("remedy-drill: change %d held", n)); err != nil {
		t.Fatalf("%v\nremedy:\n%s", err, out)
	}
	if err := d.l.PowerOff(name); err != nil {
		t.Fatal(err)
	}
	if !last {
		stopRun()
		<-ran
	}
	start := time.Now()
	if err := d.l.Start(ctx, name, 22, asperaPort); err != nil {
		t.Fatalf("after the plug was pulled after write %d, SSH answers on neither 22 nor %d: %v", n, asperaPort, err)
	}
	var answers []string
	for _, port := range []int{22, asperaPort} {
		if err := d.op.login(d.vm.Addr, port); err == nil {
			answers = append(answers, strconv.Itoa(port))
		}
	}
	if len(answers) == 0 {
		t.Fatalf("after the plug was pulled after write %d, no login on 22 or %d", n, asperaPort)
	}
	t.Logf("booted in %s; SSH answers on %s", time.Since(start).Round(time.Second), strings.Join(answers, " and "))
}
