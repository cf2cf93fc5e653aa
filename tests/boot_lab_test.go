package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"remedy/tests/lab/labkit"
)

// TestBootPersistenceOnLab moves SSH on hosts whose boot would not load
// what remedy changes, and reboots them: each reboot flushes the host's
// rules and loads what its unit files say boot loads, then a fresh login
// from outside must work. The nftables host's unit has a drop-in that
// loads the site's own /etc/nftables.d/site.nft (which lets tcp/22 in
// only): remedy must write its rule there, not into /etc/nftables.conf,
// which that boot never reads. The iptables-legacy host starts without
// netfilter-persistent: nothing loads its rules at boot. Both hosts carry
// rules another daemon owns (a fail2ban-like table or chain), which must
// not end up in a boot file. The egress-restricted nftables host loads
// the same site file: firewall.allow_domain must keep its sets and rules
// there, and only them, so that after a reboot the refresh job's first
// run lets the host reach the domain again.
func TestBootPersistenceOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 3, Profiles: []string{"nftables", "iptables-legacy", "nftables+egress"}})
	s := newSSHDLab(t, lab)
	t.Run("nftables: ExecStart overridden to a site file", func(t *testing.T) { s.bootSiteFile(t, lab.Hosts[0]) })
	t.Run("iptables-legacy: no netfilter-persistent", func(t *testing.T) { s.bootNoLoader(t, lab.Hosts[1]) })
	t.Run("nftables+egress: allow_domain in a site file", func(t *testing.T) { s.bootDomain(t, lab.Hosts[2]) })
}

const (
	siteNft     = "/etc/nftables.d/site.nft"
	nftWants    = "/etc/systemd/system/sysinit.target.wants/nftables.service"
	siteDropIn  = "/etc/systemd/system/nftables.service.d/site.conf"
	persistUnit = "/usr/lib/systemd/system/netfilter-persistent.service"
	persistWant = "/etc/systemd/system/multi-user.target.wants/netfilter-persistent.service"
	sshdRule    = `remedy: sshd port 33001`
)

func (s *sshdLab) bootSiteFile(t *testing.T, h labkit.Host) {
	original := s.sh(t, h.Name, "cat /etc/nftables.conf")
	s.writeFile(t, h, siteNft, original)
	s.writeFile(t, h, siteDropIn, "[Service]\nExecStart=\nExecStart=/usr/sbin/nft -f "+siteNft+"\n")
	fail2ban := `nft add table inet f2b && nft add chain inet f2b input '{ type filter hook input priority -1; }' && nft add rule inet f2b input ip saddr 198.51.100.7 drop`
	s.sh(t, h.Name, fail2ban)

	// The measured lockout: the move succeeded, and the rule it kept
	// went to /etc/nftables.conf, which this boot never reads.
	if status, msg := s.moveWith(t, h, s.lab.Inventory, ""); status != "changed" {
		t.Fatalf("%s: %s %q", h.Name, status, msg)
	}
	s.expectFile(t, h, "/etc/nftables.conf", original)
	s.expectBootFile(t, h, siteNft)
	s.rebootLogin(t, h, "nft flush ruleset && nft -f "+siteNft)

	// sshd is on 33001 already, and boot's file has lost remedy's rule
	// (as one an older remedy wrote to the wrong file would): a rerun
	// must put it back, or the next reboot locks the operator out.
	s.writeFile(t, h, siteNft, original)
	if status, msg := s.moveWith(t, h, s.inventoryOnPort(t, h.Name), ""); status != "changed" {
		t.Fatalf("%s: a rerun with sshd moved and boot's file without the rule: %s %q, want changed", h.Name, status, msg)
	}
	s.expectBootFile(t, h, siteNft)
	s.rebootLogin(t, h, "nft flush ruleset && nft -f "+siteNft)

	// Back on 22, with nftables.service disabled: nothing loads rules at
	// boot, and the move is refused until persist = true enables it.
	s.reset(t, h)
	s.writeFile(t, h, siteNft, original)
	s.sh(t, h.Name, "nft flush ruleset && nft -f "+siteNft+" && "+fail2ban+" && rm "+nftWants)
	status, msg := s.moveWith(t, h, s.lab.Inventory, "")
	if status != "failed" || !strings.Contains(msg, "nftables.service is disabled: a reboot loads no nftables rules; persist = true enables it") {
		t.Fatalf("%s: with nftables.service disabled: %s %q; want refused", h.Name, status, msg)
	}
	s.expectSSH(t, h, 22)
	s.expectFile(t, h, siteNft, original)
	if strings.Contains(s.sh(t, h.Name, "nft list ruleset"), "33001") {
		t.Errorf("%s: the refused move changed the live rules", h.Name)
	}
	if status, msg := s.moveWith(t, h, s.lab.Inventory, "persist = true"); status != "changed" {
		t.Fatalf("%s: persist = true: %s %q", h.Name, status, msg)
	}
	s.sh(t, h.Name, "test -L "+nftWants)
	s.expectBootFile(t, h, siteNft)
	s.rebootLogin(t, h, "nft flush ruleset && nft -f "+siteNft)
}

func (s *sshdLab) bootDomain(t *testing.T, h labkit.Host) {
	original := s.sh(t, h.Name, "cat /etc/nftables.conf")
	s.writeFile(t, h, siteNft, original)
	s.writeFile(t, h, siteDropIn, "[Service]\nExecStart=\nExecStart=/usr/sbin/nft -f "+siteNft+"\n")
	s.sh(t, h.Name, `nft add table inet f2b && nft add chain inet f2b input '{ type filter hook input priority -1; }' && nft add rule inet f2b input ip saddr 198.51.100.7 drop`)
	connect := "timeout 3 bash -c 'exec 3<>/dev/tcp/api.ibmaspera.com/443'"
	pb := sshdPlaybook(t, `return { tasks = { { name = "move", run = function()
	firewall.allow_domain { domain = "api.ibmaspera.com", refresh = 60 }
end } } }`)
	for _, want := range []string{"changed", "ok"} {
		if status, msg, _ := s.remedy(t, s.lab.Inventory, "run", pb, "-l", h.Name).task(h.Name, "move"); status != want {
			t.Fatalf("%s: allow_domain: %s %q, want %s", h.Name, status, msg, want)
		}
	}
	s.expectFile(t, h, "/etc/nftables.conf", original)
	site := s.sh(t, h.Name, "cat "+siteNft)
	for _, line := range []string{"add set inet filter rmd_api_ibmaspera_com_4 ", `ip daddr @rmd_api_ibmaspera_com_4 accept comment "remedy: api.ibmaspera.com"`} {
		if strings.Count(site, line) != 1 || strings.Contains(site, "f2b") || strings.Contains(site, "198.18.0.2") {
			t.Errorf("%s: %s does not hold %q once, or holds fail2ban's rules or the live set's addresses:\n%s", h.Name, siteNft, line, site)
		}
	}
	// A reboot, then the refresh job's first run, as its timer would.
	s.sh(t, h.Name, "nft flush ruleset && nft -f "+siteNft+" && /usr/local/sbin/remedy-domain-api-ibmaspera-com")
	s.sh(t, h.Name, connect)
}

func (s *sshdLab) bootNoLoader(t *testing.T, h labkit.Host) {
	rules := s.sh(t, h.Name, "cat /etc/iptables/rules.v4")
	unit := s.sh(t, h.Name, "cat "+persistUnit)
	s.sh(t, h.Name, "rm "+persistUnit+" "+persistWant+` && iptables-legacy -N f2b-sshd && iptables-legacy -A f2b-sshd -s 198.51.100.7 -j DROP && iptables-legacy -I INPUT 1 -j f2b-sshd`)
	for _, persist := range []string{"", "persist = true"} {
		status, msg := s.moveWith(t, h, s.lab.Inventory, persist)
		if status != "failed" || !strings.Contains(msg, "netfilter-persistent.service is not installed: nothing remedy knows of loads iptables-legacy rules at boot") {
			t.Fatalf("%s: without netfilter-persistent (%s): %s %q; want refused", h.Name, persist, status, msg)
		}
		s.expectSSH(t, h, 22)
		s.expectFile(t, h, "/etc/iptables/rules.v4", rules)
	}

	s.writeFile(t, h, persistUnit, unit)
	s.sh(t, h.Name, "mkdir -p "+persistWant[:strings.LastIndex(persistWant, "/")]+" && ln -s /lib/systemd/system/netfilter-persistent.service "+persistWant)
	if status, msg := s.moveWith(t, h, s.lab.Inventory, ""); status != "changed" {
		t.Fatalf("%s: with netfilter-persistent: %s %q", h.Name, status, msg)
	}
	s.expectBootFile(t, h, "/etc/iptables/rules.v4")
	s.rebootLogin(t, h, "iptables-legacy -F && iptables-legacy -X && iptables-legacy-restore < /etc/iptables/rules.v4")
}

// moveWith runs sshd.move_port to 33001 with extra options and returns
// the task's status and message.
func (s *sshdLab) moveWith(t *testing.T, h labkit.Host, inventory, opts string) (string, string) {
	t.Helper()
	pb := sshdPlaybook(t, fmt.Sprintf(`return { tasks = { { name = "move", run = function()
	return sshd.move_port { to = %d, %s }.inventory
end } } }`, movedPort, opts))
	status, msg, _ := s.remedy(t, inventory, "run", pb, "-l", h.Name).task(h.Name, "move")
	t.Logf("%s (%s) %s: %s: %s", h.Name, h.Profile, opts, status, msg)
	return status, msg
}

func (s *sshdLab) expectFile(t *testing.T, h labkit.Host, path, want string) {
	t.Helper()
	if got := s.sh(t, h.Name, "cat "+path); got != want {
		t.Errorf("%s: %s changed:\n%s", h.Name, path, got)
	}
}

// expectBootFile checks that a boot file holds remedy's rule for the SSH
// port, once, and nothing of the rules another daemon owns.
func (s *sshdLab) expectBootFile(t *testing.T, h labkit.Host, path string) {
	t.Helper()
	got := s.sh(t, h.Name, "cat "+path)
	if strings.Count(got, sshdRule) != 1 || strings.Contains(got, "f2b") {
		t.Errorf("%s: %s holds remedy's rule %d times, or a rule of fail2ban's:\n%s", h.Name, path, strings.Count(got, sshdRule), got)
	}
}

// rebootLogin reboots the host's firewall as its boot would (flush, then
// load what the boot unit loads) and checks from outside that a fresh
// login works on the port sshd is configured for, and only there.
func (s *sshdLab) rebootLogin(t *testing.T, h labkit.Host, boot string) {
	t.Helper()
	s.sh(t, h.Name, boot)
	if ports := s.sshdPorts(t, h.Name); !slices.Equal(ports, []int{movedPort}) {
		t.Fatalf("%s: sshd listens on %v, want %d", h.Name, ports, movedPort)
	}
	if err := s.login(h.Addr, movedPort); err != nil {
		t.Errorf("%s: LOCKED OUT after a reboot: a fresh login on %d fails: %v", h.Name, movedPort, err)
	}
}
