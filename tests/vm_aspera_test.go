package tests

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"remedy/tests/vmlab/vmkit"
)

// TestVMAsperaServer runs the built-in aspera-server playbook on a booted
// Debian VM of each profile, then reboots it for real and checks every
// requirement from outside, as a client would find it: a fresh SSH login
// on the new port (on 22 only where it is kept), datagrams echoed by
// listeners on the FASP range and the Vlink port, connects to the HTTP
// fallback ports; from inside the egress-restricted VMs, the licensing
// domain, whose address changed before the reboot: only the refresh
// timer remedy installed, fired by systemd at boot, lets the new address
// out. remedy's own audit after the reboot must find nothing to do.
//
// Each VM is a lab of its own, three at a time (vmsAtOnce; make test
// runs the tier with -parallel 3, go test's default being the number of
// cores): when one is done the next boots. Each VM then runs the drills
// of its profile from its snapshot (vmServer.then).
func TestVMAsperaServer(t *testing.T) {
	s := newVMSuite(t)
	all := " udp_concurrency=10 http_fallback=both vlinks=true"
	cases := []vmServer{
		{profile: "nftables+egress", vars: "alee=true" + all, alee: true, then: []vmDrill{s.powerOffDrill}},
		{profile: "ufw+egress", vars: "alee=true keep_legacy_22=true" + all, alee: true, keep22: true, then: []vmDrill{s.refuseDisabledUnit("ufw.service")}},
		{profile: "iptables+egress", vars: "alee=true keep_legacy_22=true" + all, alee: true, keep22: true, then: []vmDrill{s.refuseWithoutLoader}},
		// As most fleets run it: ops logs in and sudo, with its password,
		// makes it root for every command (root still runs the move on
		// this profile in revertOutlivesSession).
		{profile: "ssh-socket", vars: all, user: "ops", then: []vmDrill{s.revertOutlivesSession}},
		// Debian's policy lets sshd bind any port >= 1024: 922 needs
		// ssh_port_t, which the move must give it, for good.
		{profile: "selinux+egress", vars: "alee=true ssh_port=922" + all, alee: true, sshPort: 922, undomain: true},
		{profile: "firewalld+egress", vars: "alee=true" + all, alee: true, undomain: true},
	}
	// REMEDY_VM_ONLY=p1,p2 runs only those profiles' VMs.
	if only := os.Getenv("REMEDY_VM_ONLY"); only != "" {
		cases = slices.DeleteFunc(cases, func(c vmServer) bool { return !slices.Contains(strings.Split(only, ","), c.profile) })
	}
	turns := make(chan struct{}, vmsAtOnce)
	for _, c := range cases {
		if c.sshPort == 0 {
			c.sshPort = asperaPort
		}
		t.Run(c.profile, func(t *testing.T) {
			t.Parallel()
			turns <- struct{}{}
			t.Cleanup(func() { <-turns }) // after the lab is down: cleanups run last first
			l := vmkit.New(t, vmkit.Options{Profiles: []string{c.profile}})
			c.vm = l.VMs[0]
			if !t.Run("run, reboot, check from outside", func(t *testing.T) { s.asperaServer(t, l, c) }) {
				return
			}
			if c.undomain {
				t.Run("firewall.remove undoes allow_domain, through a reboot", func(t *testing.T) { s.removeDomain(t, l, c) })
			}
			for _, d := range c.then {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				err := l.Reset(ctx, c.vm.Name)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				d(t, l, c.vm)
			}
		})
	}
}

// vmsAtOnce bounds the VMs the tier runs at once: each takes a core while
// it boots or remedy runs on it, and the machine has two.
const vmsAtOnce = 3

// vmServer is one VM's case: its profile, the playbook's variables and
// what must hold after the reboot.
type vmServer struct {
	profile string
	vars    string // -e
	sshPort int    // ssh_port; 33001 when 0
	keep22  bool
	alee    bool
	// undomain: then firewall.remove takes the run's allow_domain out
	// (removeDomain), on the lanes with no drill, so no VM boots for it.
	undomain bool
	user     string    // logs in and becomes root with -b and its sudo password; root logs in when empty
	then     []vmDrill // run after the case, each from the VM's snapshot
	vm       vmkit.VM
}

// vmDrill is a test run on a VM reset to its snapshot.
type vmDrill func(t *testing.T, l *vmkit.Lab, vm vmkit.VM)

// The ports the variables above open, besides SSH.
var (
	vmUDP = append(portRange(asperaPort, asperaPort+9), 55001)
	vmTCP = []int{8443, 8080}
)

// vmSuite is what the VM tests share: remedy's binary and HOME.
type vmSuite struct {
	bin, home string
}

func newVMSuite(t *testing.T) *vmSuite {
	vmkit.RequireVM(t)
	return &vmSuite{bin: buildRemedy(t), home: t.TempDir()}
}

// remedy runs the binary with -o json against the lab's inventory. Under
// emulation with three VMs busy, firewalld's run took over 6 minutes in
// CI when each change started firewall-cmd (2-4 s a start) and ended in
// a reload (4m03s alone); over firewalld's D-Bus it takes 1m26s alone:
// the bound is for a hung run, not for a slow one.
func (s *vmSuite) remedy(t *testing.T, l *vmkit.Lab, op *operator, args ...string) (jsonRun, int) {
	t.Helper()
	return runRemedy(t, s.bin, s.home, 10*time.Minute, append(args, "-i", l.Inventory, "--known-hosts", op.knownHosts, vmTimeout)...)
}

// vmTimeout is --timeout for a VM: under emulation, beside another VM
// booting and a third running its playbook, a VM's sshd once sent no
// banner for 10 s, the default (firewalld+egress: "ssh handshake with
// 198.18.4.10:22: no answer within 10s (--timeout)", passing on the run
// after). A sysadmin gives a host known to be that slow a longer
// --timeout; the default's own behaviour is tested on the lab.
const vmTimeout = "--timeout=30s"

func (s *vmSuite) asperaServer(t *testing.T, l *vmkit.Lab, c vmServer) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	vm := c.vm
	op := vmOperator(t, l, c.sshPort)
	op.user = c.user
	login := s.login(t, l, c)
	doc, code := s.remedy(t, l, op, append([]string{"run", "aspera-server", "-l", vm.Name, "-e", c.vars}, login...)...)
	if code != 0 {
		t.Fatalf("run: exit %d, want 0\n%s", code, doc.out)
	}
	if c.user != "" {
		if len(doc.Hosts) != 1 || doc.Hosts[0].Facts == nil || doc.Hosts[0].Facts.User != c.user || doc.Hosts[0].Facts.Root {
			t.Errorf("run: want facts of one host logged in as %s, not root\n%s", c.user, doc.out)
		}
	}
	want := "inventory: ansible_port=" + strconv.Itoa(c.sshPort)
	if status, msg, _ := doc.task(vm.Name, "S1/S2: move SSH to ssh_port"); status != "changed" || msg != want {
		t.Errorf("move: %s %q, want changed %q", status, msg, want)
	}
	if err := l.SetSSHPort(vm.Name, c.sshPort); err != nil {
		t.Fatal(err)
	}
	vmNoPendingRevert(ctx, t, l, vm.Name)
	var licensed string
	if c.alee {
		// The domain's answer changes after the run: nothing but the
		// refresh job may let the new address out.
		var err error
		if licensed, err = l.RepointLicense(ctx, vm.Name); err != nil {
			t.Fatal(err)
		}
		if err := reachLicense(ctx, l, vm.Name, 1); err == nil {
			t.Fatalf("%s reached %s (%s) before its refresh job ran: the egress profile does not restrict it", vm.Name, vmkit.LicenseDomain, licensed)
		}
	}

	start := time.Now()
	if err := l.Reboot(ctx, vm.Name, c.sshPort, 22); err != nil {
		t.Fatal(err)
	}
	note, _ := l.BootNote(vm.Name)
	t.Logf("reboot to SSH in %s %s", time.Since(start).Round(time.Second), note)
	// The lab records the first of c.sshPort, 22 that logs in once the VM
	// answers on either: 22 here means the new port did not answer while
	// 22 did, a boot that would lock out every client of the new port.
	if port, _ := l.SSHPort(vm.Name); port != c.sshPort {
		t.Errorf("after the reboot SSH answers on %d and not on %d\n%s", port, c.sshPort, bootOrder(ctx, l, vm.Name))
	}
	if err := op.login(vm.Addr, c.sshPort); err != nil {
		t.Errorf("SSH on %d after the reboot: %v", c.sshPort, err)
	}
	vmCheck22(t, op, vm.Addr, c.keep22)
	vmReachPorts(ctx, t, l, vm)
	if c.alee {
		if err := reachLicense(ctx, l, vm.Name, 40); err != nil {
			t.Errorf("%s (now %s) after the reboot: %v", vmkit.LicenseDomain, licensed, err)
		}
		fired, err := l.Exec(ctx, vm.Name, "sh", "-c", `systemctl list-timers --all --no-legend --plain 'remedy-domain-*' | grep -c remedy-domain- ; `+
			`for u in $(systemctl list-units --all --no-legend --plain 'remedy-domain-*.timer' | cut -d' ' -f1); do systemctl show -P LastTriggerUSec "$u"; done`)
		if lines := strings.Split(strings.TrimSpace(string(fired)), "\n"); err != nil || len(lines) < 2 || lines[0] != "1" || lines[1] == "" || lines[1] == "n/a" {
			t.Errorf("the domain refresh timer after the reboot: %q %v, want one timer that fired", fired, err)
		}
		// The address let out, the job goes on to drop the stale one: on
		// ufw, `ufw delete` flushes and restores every ufw chain, seconds
		// under emulation, in which new SSH connections are dropped. The
		// audit is of the host once its boot is done.
		if _, err := l.Exec(ctx, vm.Name, "sh", "-c", `for i in $(seq 90); do
	systemctl list-units --all --no-legend --plain 'remedy-domain-*.service' | grep -q ' activating ' || exit 0
	sleep 2
done
echo "the domain refresh job still runs after 3 minutes" >&2; exit 1`); err != nil {
			t.Error(err)
		}
	}
	var audit vmAudit
	code, out := runRemedyJSON(t, s.bin, s.home, 6*time.Minute, &audit, append([]string{"audit", "aspera-server", "-l", vm.Name,
		"-e", c.vars + " ansible_port=" + strconv.Itoa(c.sshPort), "-i", l.Inventory, "--known-hosts", op.knownHosts, vmTimeout}, login...)...)
	if code != 0 {
		t.Errorf("audit after the reboot: exit %d, want 0 (compliant)\n%s", code, out)
	}
	// A namespace host has no init; this one's PID 1 is systemd.
	if len(audit.Hosts) != 1 || audit.Hosts[0].Facts == nil || audit.Hosts[0].Facts.Init != "systemd" {
		t.Errorf("audit after the reboot: want one host whose facts.init is systemd\n%s", out)
	}
}

// bootOrder is the journal of the boot so far, for the units that decide
// whether SSH answers: the firewall's, sshd's, the domain refresh job's.
func bootOrder(ctx context.Context, l *vmkit.Lab, name string) string {
	out, err := l.Exec(ctx, name, "sh", "-c", `journalctl -b -o short-monotonic --no-pager -u ssh.service -u netfilter-persistent.service -u ufw.service -u nftables.service -u firewalld.service -u 'remedy-domain-*' -u network-online.target`)
	if err != nil {
		return fmt.Sprintf("the boot's journal: %v", err)
	}
	return string(out)
}

// login is what remedy needs besides the lab's inventory (where root
// logs in) to log in as c.user and become root: the user, -b, and the
// user's sudo password in a file, as an operator keeps it (-K would ask
// on a terminal).
func (s *vmSuite) login(t *testing.T, l *vmkit.Lab, c vmServer) []string {
	t.Helper()
	if c.user == "" {
		return nil
	}
	if c.user != l.OpsUser {
		t.Fatalf("the VM lab knows the sudo password of %s only, not of %s", l.OpsUser, c.user)
	}
	pw := filepath.Join(t.TempDir(), "become-password")
	if err := os.WriteFile(pw, []byte(l.OpsPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"-e", "ansible_user=" + c.user, "-b", "--become-password-file", pw}
}

// vmAudit is what the VM tests read of an audit's -o json document
// beyond jsonRun.
type vmAudit struct {
	Hosts []struct {
		Facts *struct {
			Init string `json:"init"`
		} `json:"facts"`
	} `json:"hosts"`
}

// vmNoPendingRevert: a run that succeeded left no timed revert armed, as
// its controller logged in again after each change and disarmed it. One
// still pending fires when its window ends, and restores from a directory
// the disarm removed.
func vmNoPendingRevert(ctx context.Context, t *testing.T, l *vmkit.Lab, name string) {
	t.Helper()
	out, err := l.Exec(ctx, name, "sh", "-c", `systemctl list-units --no-legend --plain --state=active 'remedy-revert-*'; ls -d /run/remedy-revert-* 2>/dev/null; true`)
	if err != nil {
		t.Fatal(err)
	}
	if pending := strings.TrimSpace(string(out)); pending != "" {
		t.Errorf("timed reverts still armed after the run succeeded:\n%s", pending)
	}
}

// reachLicense connects from inside the VM to the licensing domain as the
// VM resolves it, up to tries times two seconds apart.
func reachLicense(ctx context.Context, l *vmkit.Lab, name string, tries int) error {
	script := fmt.Sprintf(`for i in $(seq %d); do
	timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/443"' %s 2>/dev/null && exit 0
	[ $i = %d ] || sleep 2
done
echo "no TCP/443 to $(getent ahostsv4 %s | head -n1)" >&2; exit 1`, tries, vmkit.LicenseDomain, tries, vmkit.LicenseDomain)
	_, err := l.Exec(ctx, name, "sh", "-c", script)
	return err
}

// vmReachPorts starts listeners on the FASP range, the Vlink port and the
// HTTP fallback ports, and reaches each from the controller.
func vmReachPorts(ctx context.Context, t *testing.T, l *vmkit.Lab, vm vmkit.VM) {
	t.Helper()
	var ports []vmkit.Port
	for _, p := range vmUDP {
		ports = append(ports, vmkit.Port{Proto: "udp", Num: p})
	}
	for _, p := range vmTCP {
		ports = append(ports, vmkit.Port{Proto: "tcp", Num: p})
	}
	stop, err := l.ListenAll(ctx, vm.Name, ports...)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, p := range ports {
		if err := l.Reach(vm.Addr, p.Proto, p.Num, 2*time.Second); err != nil {
			t.Errorf("%s/%d from outside: %v", p.Proto, p.Num, err)
		}
	}
}

// vmCheck22: SSH still answers on 22 when kept; otherwise a connect is
// refused (nothing listens), not merely dropped.
func vmCheck22(t *testing.T, op *operator, addr string, keep22 bool) {
	t.Helper()
	if keep22 {
		if err := op.login(addr, 22); err != nil {
			t.Errorf("SSH on 22 (kept): %v", err)
		}
		return
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "22"), 3*time.Second)
	if err == nil {
		c.Close()
		t.Errorf("tcp/22 still connects")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("tcp/22: %v, want connection refused", err)
	}
}

// vmOperator is the operator of the lab's VMs: its key, and its
// known_hosts with every host key again for [addr]:port of each port
// SSH may move to.
func vmOperator(t *testing.T, l *vmkit.Lab, movedTo ...int) *operator {
	t.Helper()
	b, err := os.ReadFile(l.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if addr, key, ok := strings.Cut(line, " "); ok {
			for _, p := range movedTo {
				out += fmt.Sprintf("[%s]:%d %s\n", addr, p, key)
			}
		}
	}
	op := &operator{knownHosts: filepath.Join(t.TempDir(), "known_hosts")}
	if err := os.WriteFile(op.knownHosts, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if op.hostKeys, err = knownhosts.New(op.knownHosts); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(l.Key)
	if err != nil {
		t.Fatal(err)
	}
	if op.signer, err = ssh.ParsePrivateKey(key); err != nil {
		t.Fatal(err)
	}
	return op
}
