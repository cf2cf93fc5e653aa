package tests

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// Two domains whose names differ only in a hyphen against a dot, which
// remedy's set and job names once wrote alike, on different ports of the
// licensing stand-in, so that real packets tell their rules apart.
const (
	allowAlikeDomains = `return { tasks = {
  { name = "dot", run = function() firewall.allow_domain { domain = "a.b.alee.test", port = 8443, refresh = 60 } end },
  { name = "hyphen", run = function() firewall.allow_domain { domain = "a-b.alee.test", refresh = 60 } end },
} }`
	removeHyphen = `return { tasks = {
  { name = "unhyphen", run = function() firewall.remove { comment = "remedy: a-b.alee.test" } end },
} }`
	removeDot = `return { tasks = {
  { name = "undot", run = function() firewall.remove { comment = "remedy: a.b.alee.test" } end },
} }`
)

// hyphens matches what is a-b.alee.test's: its comments, and the names of
// its sets and job, which carry a hash after a doubled separator.
var hyphens = regexp.MustCompile(`a-b\.alee\.test|a_b_alee_test__|a-b-alee-test--`)

// TestDomainNamesAlikeOnLab allows a.b.alee.test and a-b.alee.test, then
// removes a-b.alee.test's: exactly its sets, rules and job go, a.b's stay
// and still let its packets out, after its job's next run too; removing
// a.b's then leaves nothing of remedy's. On main both had the sets
// rmd_a_b_alee_test_4 and _6 and one job, so the removal took a.b's too.
func TestDomainNamesAlikeOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 2, Profiles: []string{"nftables+egress", "iptables-legacy+egress"}})
	l := &luaLab{lab: lab, bin: buildRemedy(t), home: t.TempDir()}
	stop, err := lab.PeerListen("tcp", 8443)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	stand := netip.MustParseAddr(lab.License)
	passes := func(h labkit.Host, port uint16) bool {
		return lab.InHost(h.Name, func() error {
			return labkit.ProbeTCP(netip.AddrPortFrom(stand, port), 3*time.Second)
		}) == nil
	}
	check := func(when string, h labkit.Host, hyphen, dot bool) {
		t.Helper()
		if got := passes(h, 443); got != hyphen {
			t.Errorf("%s (%s) %s: a-b.alee.test:443 passes %v, want %v", h.Name, h.Profile, when, got, hyphen)
		}
		if got := passes(h, 8443); got != dot {
			t.Errorf("%s (%s) %s: a.b.alee.test:8443 passes %v, want %v", h.Name, h.Profile, when, got, dot)
		}
	}
	before := map[string]string{}
	for _, h := range lab.Hosts {
		if strings.HasPrefix(h.Profile, "iptables") {
			// As ipset-persistent installs it (see TestRemoveDomainOnLab).
			labSh(t, lab, h.Name, "mkdir -p /usr/share/netfilter-persistent/plugins.d && touch /usr/share/netfilter-persistent/plugins.d/10-ipset")
		}
		labSh(t, lab, h.Name, "printf '%s\\ta.b.alee.test a-b.alee.test\\n' "+lab.License+" >> /etc/hosts")
		check("before", h, false, false)
		before[h.Name] = labSh(t, lab, h.Name, domainMarks)
	}
	doc, code := l.remedy(t, "run", l.playbook(t, allowAlikeDomains))
	allowed := map[string]string{}
	for _, h := range lab.Hosts {
		if got := doc.statuses(h.Name); code != 0 || got != "dot=changed hyphen=changed" {
			t.Fatalf("%s (%s): allow_domain: exit %d, %s: %s", h.Name, h.Profile, code, got, doc.out)
		}
		check("after allow_domain", h, true, true)
		allowed[h.Name] = labSh(t, lab, h.Name, domainMarks)
		if !hyphens.MatchString(allowed[h.Name]) || !strings.Contains(allowed[h.Name], "rmd_a_b_alee_test_4") {
			t.Errorf("%s (%s): want sets of each domain:\n%s", h.Name, h.Profile, allowed[h.Name])
		}
	}
	doc, code = l.remedy(t, "run", l.playbook(t, removeHyphen))
	for _, h := range lab.Hosts {
		if got := doc.statuses(h.Name); code != 0 || got != "unhyphen=changed" {
			t.Errorf("%s (%s): remove: exit %d, %s: %s", h.Name, h.Profile, code, got, doc.out)
		}
		var want []string
		for _, line := range strings.SplitAfter(allowed[h.Name], "\n") {
			if !hyphens.MatchString(line) {
				want = append(want, line)
			}
		}
		if got := labSh(t, lab, h.Name, domainMarks); got != strings.Join(want, "") {
			t.Errorf("%s (%s): after removing a-b.alee.test:\n%s\nwant all of a.b.alee.test's and nothing of a-b.alee.test's:\n%s", h.Name, h.Profile, got, strings.Join(want, ""))
		}
		check("after removing a-b.alee.test", h, false, true)
		labSh(t, lab, h.Name, "/usr/local/sbin/remedy-domain-a-b-alee-test")
		check("after a.b.alee.test's job ran again", h, false, true)
	}
	doc, code = l.remedy(t, "run", l.playbook(t, removeDot))
	for _, h := range lab.Hosts {
		if got := doc.statuses(h.Name); code != 0 || got != "undot=changed" {
			t.Errorf("%s (%s): remove the other: exit %d, %s: %s", h.Name, h.Profile, code, got, doc.out)
		}
		if got := labSh(t, lab, h.Name, domainMarks); got != before[h.Name] {
			t.Errorf("%s (%s): after removing both:\n%s\nwant, as before allow_domain:\n%s", h.Name, h.Profile, got, before[h.Name])
		}
		check("after removing both", h, false, false)
	}
}
