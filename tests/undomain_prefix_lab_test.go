package tests

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// Two domains, the comment of the one ("remedy: alee.test") a prefix of
// the other's ("remedy: alee.test.cn"), on different ports of the
// licensing stand-in, so that real packets tell their rules apart.
const (
	allowTwoDomains = `return { tasks = {
  { name = "alee", run = function() firewall.allow_domain { domain = "alee.test", refresh = 60 } end },
  { name = "cn", run = function() firewall.allow_domain { domain = "alee.test.cn", port = 8443, refresh = 60 } end },
} }`
	removeShort = `return { tasks = {
  { name = "unalee", run = function() firewall.remove { comment = "remedy: alee.test" } end },
} }`
	removeLong = `return { tasks = {
  { name = "uncn", run = function() firewall.remove { comment = "remedy: alee.test.cn" } end },
} }`
)

// TestRemoveDomainLeavesItsPrefixOnLab runs allow_domain for two domains
// whose comments are a prefix of each other, then removes the shorter's:
// on every firewall, exactly its rules, sets, ipsets, policy, job and
// boot lines go, and the longer's stay as they were and still let its
// packets out, after its job's next run and after a simulated reboot
// too; then removing the longer's leaves nothing of remedy's. On main the
// first removal took both domains' (all of them matched the prefix).
func TestRemoveDomainLeavesItsPrefixOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 5, Profiles: []string{"nftables+egress", "iptables-legacy+egress",
		"iptables-nft+egress", "firewalld+egress", "ufw+egress"}})
	l := &luaLab{lab: lab, bin: buildRemedy(t), home: t.TempDir()}
	stop, err := lab.PeerListen("tcp", 8443)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	stand := netip.MustParseAddr(lab.License)
	// passes sends a real connection from the host to the stand-in's port.
	passes := func(h labkit.Host, port uint16) bool {
		return lab.InHost(h.Name, func() error {
			return labkit.ProbeTCP(netip.AddrPortFrom(stand, port), 3*time.Second)
		}) == nil
	}
	check := func(when string, h labkit.Host, short, long bool) {
		t.Helper()
		if got := passes(h, 443); got != short {
			t.Errorf("%s (%s) %s: alee.test:443 passes %v, want %v", h.Name, h.Profile, when, got, short)
		}
		if got := passes(h, 8443); got != long {
			t.Errorf("%s (%s) %s: alee.test.cn:8443 passes %v, want %v", h.Name, h.Profile, when, got, long)
		}
	}
	before := map[string]string{}
	for _, h := range lab.Hosts {
		if strings.HasPrefix(h.Profile, "iptables") {
			// As ipset-persistent installs it (see TestRemoveDomainOnLab).
			labSh(t, lab, h.Name, "mkdir -p /usr/share/netfilter-persistent/plugins.d && touch /usr/share/netfilter-persistent/plugins.d/10-ipset")
		}
		labSh(t, lab, h.Name, "printf '%s\\talee.test alee.test.cn\\n' "+lab.License+" >> /etc/hosts")
		check("before", h, false, false)
		before[h.Name] = labSh(t, lab, h.Name, domainMarks)
	}
	doc, code := l.remedy(t, "run", l.playbook(t, allowTwoDomains))
	allowed := map[string]string{}
	for _, h := range lab.Hosts {
		if got := doc.statuses(h.Name); code != 0 || got != "alee=changed cn=changed" {
			t.Fatalf("%s (%s): allow_domain: exit %d, %s: %s", h.Name, h.Profile, code, got, doc.out)
		}
		check("after allow_domain", h, true, true)
		allowed[h.Name] = labSh(t, lab, h.Name, domainMarks)
	}
	doc, code = l.remedy(t, "run", l.playbook(t, removeShort))
	short := regexp.MustCompile(`alee[._-]test([^._-]|[._-][^c]|$)`)
	for _, h := range lab.Hosts {
		if got := doc.statuses(h.Name); code != 0 || got != "unalee=changed" {
			t.Errorf("%s (%s): remove: exit %d, %s: %s", h.Name, h.Profile, code, got, doc.out)
		}
		var want []string
		for _, line := range strings.SplitAfter(allowed[h.Name], "\n") {
			if !short.MatchString(line) {
				want = append(want, line)
			}
		}
		if got := labSh(t, lab, h.Name, domainMarks); got != strings.Join(want, "") {
			t.Errorf("%s (%s): after removing alee.test:\n%s\nwant all of alee.test.cn's and nothing of alee.test's:\n%s", h.Name, h.Profile, got, strings.Join(want, ""))
		}
		check("after removing alee.test", h, false, true)
		labSh(t, lab, h.Name, "/usr/local/sbin/remedy-domain-alee-test-cn")
		check("after alee.test.cn's job ran again", h, false, true)
		labSh(t, lab, h.Name, reboots[strings.TrimSuffix(h.Profile, "+egress")]+" && /usr/local/sbin/remedy-domain-alee-test-cn")
		check("after a reboot and alee.test.cn's job", h, false, true)
	}
	doc, code = l.remedy(t, "run", l.playbook(t, removeLong))
	for _, h := range lab.Hosts {
		if got := doc.statuses(h.Name); code != 0 || got != "uncn=changed" {
			t.Errorf("%s (%s): remove the other: exit %d, %s: %s", h.Name, h.Profile, code, got, doc.out)
		}
		if got := labSh(t, lab, h.Name, domainMarks); got != before[h.Name] {
			t.Errorf("%s (%s): after removing both:\n%s\nwant, as before allow_domain:\n%s", h.Name, h.Profile, got, before[h.Name])
		}
		check("after removing both", h, false, false)
	}
}
