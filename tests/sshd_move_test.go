package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"remedy/lua/luatest"
	"remedy/lua/shell"
	"remedy/tests/lab/labkit"
)

// The sshd module's lab tests: sshd.move_port run by the real remedy binary
// over SSH, each outcome checked from outside the host with a fresh SSH
// login, as an operator would find it.
func TestSSHDMoveOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: len(labkit.Profiles), Profiles: labkit.Profiles})
	s := newSSHDLab(t, lab)
	t.Run("config and ports read the host", s.readsHost)
	t.Run("check mode shows the plan and changes nothing", s.checkMode)
	t.Run("a playbook's own firewall global is not what opens the port", s.ownFirewallGlobal)
	t.Run("22 to 33001 on every firewall profile, as check mode planned it", s.moveEveryProfile)
	s.resetAll(t)
	t.Run("one host each", func(t *testing.T) {
		t.Run("keep_22", s.onHost("iptables-legacy", s.keep22))
		t.Run("Port in a drop-in", s.onHost("iptables-nft", s.portInDropIn))
		t.Run("ListenAddress 0.0.0.0:22 in the main file", s.onHost("ufw", s.pinnedListenAddress))
		t.Run("an invalid config is refused before anything changes", s.onHost("none", s.invalidConfig))
		t.Run("a later firewall rule drops 33001: rollback to 22", s.onHost("nftables", s.laterDrop))
		t.Run("as ops through sudo, the first login on 33001 is refused, the next works: moved", s.onHost("firewalld", s.firstLoginRefused))
	})
}

const movedPort = 33001

type sshdLab struct {
	*operator // the lab's known_hosts, also for each host's [addr]:33001
	lab       *labkit.Lab
	bin       string
	home      string
	original  map[string]string
	checked   jsonRun // what check mode planned for the move
}

func newSSHDLab(t *testing.T, lab *labkit.Lab) *sshdLab {
	s := &sshdLab{operator: newOperator(t, lab, movedPort), lab: lab, bin: buildRemedy(t), home: t.TempDir(), original: map[string]string{}}
	for _, h := range lab.Hosts {
		s.original[h.Name] = s.sh(t, h.Name, "cat /etc/ssh/sshd_config")
	}
	return s
}

func sshdMovePlaybook(t *testing.T, keep bool) string {
	return sshdPlaybook(t, fmt.Sprintf(`return { tasks = { { name = "move", run = function(v)
	return sshd.move_port { to = %d, keep_22 = %t }.inventory
end } } }`, movedPort, keep))
}

func sshdPlaybook(t *testing.T, src string) string {
	p := filepath.Join(t.TempDir(), "pb.lua")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// remedy runs the binary with -o json and returns the parsed document.
func (s *sshdLab) remedy(t *testing.T, inventory string, args ...string) jsonRun {
	t.Helper()
	doc, _ := runRemedy(t, s.bin, s.home, 3*time.Minute, append(args, "-i", inventory, "--known-hosts", s.knownHosts)...)
	return doc
}

// sshdPorts returns the ports sshd listens on inside the host.
func (s *sshdLab) sshdPorts(t *testing.T, host string) []int {
	out := s.sh(t, host, "ss -Htlnp")
	var ports []int
	for _, m := range regexp.MustCompile(`:(\d+)\s+\S+\s+users:\(\("sshd"`).FindAllStringSubmatch(out, -1) {
		p, _ := strconv.Atoi(m[1])
		if !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	slices.Sort(ports)
	return ports
}

// expectSSH checks from outside that exactly the ports in open take logins.
func (s *sshdLab) expectSSH(t *testing.T, h labkit.Host, open ...int) {
	t.Helper()
	for _, p := range []int{22, movedPort} {
		err := s.login(h.Addr, p)
		if slices.Contains(open, p) && err != nil {
			t.Errorf("%s: a fresh SSH login on port %d fails: %v", h.Name, p, err)
		}
		if !slices.Contains(open, p) && err == nil {
			t.Errorf("%s: SSH still answers on port %d", h.Name, p)
		}
	}
	if got := s.sshdPorts(t, h.Name); !slices.Equal(got, open) {
		t.Errorf("%s: sshd listens on %v, want %v", h.Name, got, open)
	}
}

func (s *sshdLab) sh(t *testing.T, host, script string) string {
	t.Helper()
	out, err := s.lab.Exec(context.Background(), host, "sh", "-c", script)
	if err != nil {
		t.Fatalf("%s: %s: %v\n%s", host, script, err, out)
	}
	return string(out)
}

// inventoryOnPort is the lab inventory with ansible_port set for hosts:
// the change move_port asks the operator to make.
func (s *sshdLab) inventoryOnPort(t *testing.T, hosts ...string) string {
	b, err := os.ReadFile(s.lab.Inventory)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if name, _, ok := strings.Cut(l, " "); ok && slices.Contains(hosts, name) && strings.Contains(l, "ansible_host=") {
			lines[i] = l + " ansible_port=" + strconv.Itoa(movedPort)
		}
	}
	p := filepath.Join(t.TempDir(), "inventory.ini")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// reset puts a host's sshd back on its original config and port 22.
func (s *sshdLab) reset(t *testing.T, h labkit.Host) {
	t.Helper()
	s.sh(t, h.Name, "rm -f /etc/ssh/sshd_config.d/*.conf /etc/ssh/*.remedy-*.bak /etc/ssh/sshd_config.d/*.remedy-*.bak")
	s.writeAndReload(t, h, "/etc/ssh/sshd_config", s.original[h.Name])
}

func (s *sshdLab) resetAll(t *testing.T) {
	for _, h := range s.lab.Hosts {
		s.reset(t, h)
	}
}

// writeAndReload writes a file on the host, then SIGHUPs sshd and waits
// until the re-executed sshd listens on 22 alone: its sockets are new ones
// (ss -e inodes), so the wait cannot end on the old sshd's sockets.
func (s *sshdLab) writeAndReload(t *testing.T, h labkit.Host, path, content string) {
	t.Helper()
	s.writeFile(t, h, path, content)
	before := s.sshdSocketInodes(t, h.Name)
	s.sh(t, h.Name, `kill -HUP "$(cat /run/sshd.pid)"`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		now := s.sshdSocketInodes(t, h.Name)
		fresh := len(now) > 0 && !slices.ContainsFunc(now, func(i string) bool { return slices.Contains(before, i) })
		if fresh && slices.Equal(s.sshdPorts(t, h.Name), []int{22}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: sshd does not listen on 22 alone after a reload: %v", h.Name, s.sshdPorts(t, h.Name))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sshdSocketInodes returns the inodes of sshd's listening sockets.
func (s *sshdLab) sshdSocketInodes(t *testing.T, host string) []string {
	var inodes []string
	for _, line := range strings.Split(s.sh(t, host, "ss -Htlnpe"), "\n") {
		if m := regexp.MustCompile(`"sshd".* ino:(\d+)`).FindStringSubmatch(line); m != nil {
			inodes = append(inodes, m[1])
		}
	}
	return inodes
}

func (s *sshdLab) writeFile(t *testing.T, h labkit.Host, path, content string) {
	t.Helper()
	s.sh(t, h.Name, shell.Join("mkdir", "-p", filepath.Dir(path))+" && printf %s "+shell.Quote(content)+" > "+shell.Quote(path))
}

func (s *sshdLab) onHost(profile string, f func(*testing.T, labkit.Host)) func(*testing.T) {
	return func(t *testing.T) {
		t.Parallel()
		i := slices.IndexFunc(s.lab.Hosts, func(h labkit.Host) bool { return h.Profile == profile })
		if i < 0 {
			t.Fatalf("no %s host in the lab", profile)
		}
		f(t, s.lab.Hosts[i])
	}
}

func (s *sshdLab) readsHost(t *testing.T) {
	doc := s.remedy(t, s.lab.Inventory, "run", sshdPlaybook(t, `return { tasks = { { name = "move", run = function(v)
	local c, p = sshd.config(), sshd.ports()
	local l = p.listening[1]
	return string.format("%s %s %d %d %s %s", type(c.port), c.port[1], #c.listenaddress, p.configured[1], l.process, tostring(l.pid > 0))
end } } }`))
	for _, h := range s.lab.Hosts {
		if status, msg, _ := doc.task(h.Name, "move"); status != "ok" || msg != "table 22 2 22 sshd true" {
			t.Errorf("%s: %s %q", h.Name, status, msg)
		}
	}
}

func (s *sshdLab) checkMode(t *testing.T) {
	doc := s.remedy(t, s.lab.Inventory, "run", sshdMovePlaybook(t, false), "-C", "-D")
	s.checked = doc
	for _, h := range s.lab.Hosts {
		status, _, diff := doc.task(h.Name, "move")
		if status != "changed" || !strings.Contains(diff, "+Port 33001\n") {
			t.Errorf("%s: check mode: %s, diff %q", h.Name, status, diff)
		}
		planned := doc.planned(h.Name, "move")
		firewallStep := h.Profile == "none" || strings.Contains(planned, "33001")
		if !firewallStep || !strings.Contains(planned, "sshd -t") || !strings.Contains(planned, "HUP") {
			t.Errorf("%s (%s): check mode plan lacks the firewall, validation or reload step:\n%s", h.Name, h.Profile, planned)
		}
		if got := s.sh(t, h.Name, "cat /etc/ssh/sshd_config"); got != s.original[h.Name] {
			t.Errorf("%s: check mode changed sshd_config:\n%s", h.Name, got)
		}
		s.expectSSH(t, h, 22)
	}
}

// moveEveryProfile moves sshd on every host, and checks that the run did
// what check mode planned: the same commands, steps and diffs, but for
// the names drawn at random.
func (s *sshdLab) moveEveryProfile(t *testing.T) {
	doc := s.remedy(t, s.lab.Inventory, "run", sshdMovePlaybook(t, false), "-D")
	var names []string
	for _, h := range s.lab.Hosts {
		names = append(names, h.Name)
		status, msg, diff := doc.task(h.Name, "move")
		if status != "changed" || msg != "ansible_port=33001" {
			t.Errorf("%s (%s): %s %q", h.Name, h.Profile, status, msg)
		}
		s.expectSSH(t, h, movedPort)
		_, _, planDiff := s.checked.task(h.Name, "move")
		ran, planned := luatest.Masked(doc.planned(h.Name, "move")), luatest.Masked(s.checked.planned(h.Name, "move"))
		if ran != planned || diff != planDiff {
			t.Errorf("%s (%s): the run did otherwise than check mode planned:\nplanned:\n%s\nran:\n%s\nplanned diff:\n%s\ndiff:\n%s",
				h.Name, h.Profile, planned, ran, planDiff, diff)
		}
	}
	again := s.remedy(t, s.inventoryOnPort(t, names...), "run", sshdMovePlaybook(t, false))
	for _, h := range s.lab.Hosts {
		if status, msg, _ := again.task(h.Name, "move"); status != "ok" {
			t.Errorf("%s (%s): second run %s %q, want ok", h.Name, h.Profile, status, msg)
		}
	}
}

// ownFirewallGlobal replaces the firewall global before moving sshd, in
// check mode: move_port opens the port through the firewall's Go API, so
// the playbook's stand-in, which would open nothing, changes nothing.
func (s *sshdLab) ownFirewallGlobal(t *testing.T) {
	h := s.lab.Hosts[slices.IndexFunc(s.lab.Hosts, func(h labkit.Host) bool { return h.Profile == "nftables" })]
	pb := sshdPlaybook(t, fmt.Sprintf(`firewall = { allow = function() end }
return { tasks = { { name = "move", run = function()
	return sshd.move_port { to = %d }.inventory
end } } }`, movedPort))
	doc := s.remedy(t, s.lab.Inventory, "run", pb, "-C", "-l", h.Name)
	status, msg, _ := doc.task(h.Name, "move")
	if planned := doc.planned(h.Name, "move"); status != "changed" || !strings.Contains(planned, `nft add rule inet filter input 'tcp dport 33001 accept comment "remedy: sshd port 33001"'`) {
		t.Errorf("%s: with the playbook's own firewall global: %s %q, planned:\n%s\nwant the port opened in the firewall", h.Name, status, msg, planned)
	}
}

func (s *sshdLab) keep22(t *testing.T, h labkit.Host) {
	doc := s.remedy(t, s.lab.Inventory, "run", sshdMovePlaybook(t, true), "-l", h.Name)
	if status, msg, _ := doc.task(h.Name, "move"); status != "changed" {
		t.Fatalf("%s: %s %q", h.Name, status, msg)
	}
	s.expectSSH(t, h, 22, movedPort)
}

func (s *sshdLab) portInDropIn(t *testing.T, h labkit.Host) {
	const dropIn = "/etc/ssh/sshd_config.d/10-port.conf"
	s.writeAndReload(t, h, dropIn, "# site policy\nPort 22\n")
	doc := s.remedy(t, s.lab.Inventory, "run", sshdMovePlaybook(t, false), "-l", h.Name)
	if status, msg, _ := doc.task(h.Name, "move"); status != "changed" {
		t.Fatalf("%s: %s %q", h.Name, status, msg)
	}
	s.expectSSH(t, h, movedPort)
	want := "# site policy\n#Port 22  # disabled by remedy sshd.move_port\n# added by remedy sshd.move_port\nPort 33001\n"
	if got := s.sh(t, h.Name, "cat "+dropIn); got != want {
		t.Errorf("%s: the drop-in holds\n%s\nwant\n%s", h.Name, got, want)
	}
	if got := s.sh(t, h.Name, "cat /etc/ssh/sshd_config"); got != s.original[h.Name] {
		t.Errorf("%s: the main file changed although the port lives in the drop-in", h.Name)
	}
}

func (s *sshdLab) pinnedListenAddress(t *testing.T, h labkit.Host) {
	s.writeAndReload(t, h, "/etc/ssh/sshd_config", s.original[h.Name]+"ListenAddress 0.0.0.0:22\n")
	doc := s.remedy(t, s.lab.Inventory, "run", sshdMovePlaybook(t, false), "-l", h.Name)
	if status, msg, _ := doc.task(h.Name, "move"); status != "changed" {
		t.Fatalf("%s: %s %q", h.Name, status, msg)
	}
	s.expectSSH(t, h, movedPort)
	if got := s.sh(t, h.Name, "grep -c '^ListenAddress 0.0.0.0:33001$' /etc/ssh/sshd_config"); got != "1\n" {
		t.Errorf("%s: no ListenAddress 0.0.0.0:33001 line", h.Name)
	}
}

func (s *sshdLab) invalidConfig(t *testing.T, h labkit.Host) {
	broken := s.original[h.Name] + "PermitRootLogin perhaps\n"
	s.writeFile(t, h, "/etc/ssh/sshd_config", broken)
	doc := s.remedy(t, s.lab.Inventory, "run", sshdMovePlaybook(t, false), "-l", h.Name)
	if status, msg, _ := doc.task(h.Name, "move"); status != "failed" || !strings.Contains(msg, "invalid, refusing to touch it") {
		t.Errorf("%s: %s %q; want failed, refusing", h.Name, status, msg)
	}
	if got := s.sh(t, h.Name, "cat /etc/ssh/sshd_config; ls /etc/ssh | grep -c remedy || true"); got != broken+"0\n" {
		t.Errorf("%s: the invalid config was touched:\n%s", h.Name, got)
	}
	s.expectSSH(t, h, 22)
}

// firstLoginRefused refuses (TCP reset) the first fresh login on 33001
// after phase 1 has written the new port, then lets logins in: as a
// socket-activated sshd under load does when its first connection, which
// starts sshd, outlasts one try's --timeout. The move must log in again
// within its bound, not roll back at the first failed try. remedy logs in
// as ops and becomes root with sudo and ops's password, as on most
// fleets: every command of the move goes through sudo, and the fresh
// logins are ops's.
func (s *sshdLab) firstLoginRefused(t *testing.T, h labkit.Host) {
	const watcher = `for i in $(seq 600); do
	if grep -rqs '^Port 33001' /etc/ssh/sshd_config /etc/ssh/sshd_config.d; then
		nft add table inet remedy_test_first
		nft add chain inet remedy_test_first in '{ type filter hook input priority -300; }'
		nft add rule inet remedy_test_first in tcp dport 33001 tcp flags syn counter reject with tcp reset
		for j in $(seq 600); do
			nft list chain inet remedy_test_first in | grep -q 'packets 0 ' || break
			sleep 0.05
		done
		nft list chain inet remedy_test_first in | grep -o 'packets [0-9]*' >/run/remedy-test-first
		nft delete table inet remedy_test_first
		exit 0
	fi
	sleep 0.05
done`
	s.sh(t, h.Name, "rm -f /run/remedy-test-first; setsid -f sh -c "+shell.Quote(watcher)+" >/dev/null 2>&1")
	t.Cleanup(func() { s.sh(t, h.Name, "nft delete table inet remedy_test_first 2>/dev/null || true") })
	pw := runnerFile(t, "become-password", s.lab.OpsPassword+"\n")
	doc := s.remedy(t, s.lab.Inventory, "run", sshdMovePlaybook(t, false), "-l", h.Name,
		"-e", "ansible_user="+s.lab.OpsUser, "-b", "--become-password-file", pw)
	if status, msg, _ := doc.task(h.Name, "move"); status != "changed" {
		t.Errorf("%s: %s %q; want changed, on the second login", h.Name, status, msg)
	}
	if len(doc.Hosts) != 1 || doc.Hosts[0].Facts == nil || doc.Hosts[0].Facts.User != s.lab.OpsUser || doc.Hosts[0].Facts.Root {
		t.Errorf("%s: want facts of a login as %s, not root\n%s", h.Name, s.lab.OpsUser, doc.out)
	}
	if got := s.sh(t, h.Name, "cat /run/remedy-test-first 2>/dev/null || true"); !regexp.MustCompile(`^packets [1-9][0-9]*\n$`).MatchString(got) {
		t.Fatalf("%s: the watcher refused %q logins, want at least one", h.Name, got)
	}
	s.expectSSH(t, h, movedPort)
}

// laterDrop puts a drop for 33001 in place right after remedy writes the
// new sshd_config, so after firewall.allow has opened the port: a rule no
// plan could foresee. The login on 33001 fails, the move rolls back.
func (s *sshdLab) laterDrop(t *testing.T, h labkit.Host) {
	const watcher = `for i in $(seq 600); do
	if grep -q '^Port 33001' /etc/ssh/sshd_config; then
		nft add table inet remedy_test_late
		nft add chain inet remedy_test_late in '{ type filter hook input priority -300; }'
		nft add rule inet remedy_test_late in tcp dport 33001 drop
		exit 0
	fi
	sleep 0.05
done`
	s.sh(t, h.Name, "setsid -f sh -c "+shell.Quote(watcher)+" >/dev/null 2>&1")
	t.Cleanup(func() { s.sh(t, h.Name, "nft delete table inet remedy_test_late 2>/dev/null || true") })
	doc := s.remedy(t, s.lab.Inventory, "run", sshdMovePlaybook(t, false), "-l", h.Name)
	status, msg, _ := doc.task(h.Name, "move")
	if status != "failed" || !strings.Contains(msg, "rolled back") || !strings.Contains(msg, "port 22 answers") {
		t.Errorf("%s: %s %q; want failed and rolled back", h.Name, status, msg)
	}
	// The failure names its phase, and how many logins failed in how
	// long of their bound.
	if want := regexp.MustCompile(`phase 1 \(listen on 22, 33001\): a fresh SSH login on port 33001 from the controller failed: [0-9]+ tries in [0-9.]+m?s \(of 20s(; the bound cut the last)?\), the last: `); !want.MatchString(msg) {
		t.Errorf("%s: %q, want it to match %q", h.Name, msg, want)
	}
	if strings.Contains(msg, "the last: context deadline exceeded") {
		t.Errorf("%s: %q: names the bound's cut, not why the logins failed", h.Name, msg)
	}
	t.Logf("%s: %s", h.Name, msg)
	if !strings.Contains(s.sh(t, h.Name, "nft list tables"), "remedy_test_late") {
		t.Fatalf("%s: the late drop rule was never added", h.Name)
	}
	s.expectSSH(t, h, 22)
	if got := s.sh(t, h.Name, "cat /etc/ssh/sshd_config"); got != s.original[h.Name] {
		t.Errorf("%s: sshd_config not restored:\n%s", h.Name, got)
	}
}
