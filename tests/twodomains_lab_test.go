package tests

import (
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// twoDomains is a removal test of allow_domain with two domains whose
// names remedy could mistake for each other: on each host both are
// allowed, the first is removed, and exactly its rules, sets, ipsets,
// policy, job and boot lines must go while the second's stay and still
// let its packets out (after its job runs again, and after whatever
// afterRemoval does); then removing the second leaves nothing of
// remedy's. The first domain's traffic goes to the licensing stand-in's
// port 443, the second's to 8443, so real packets tell their rules apart.
type twoDomains struct {
	profiles []string
	names    [2]string // as /etc/hosts resolves them
	// allow allows both; removeFirst and removeSecond remove one each;
	// each want is the statuses its playbook's tasks must end with.
	allow, removeFirst, removeSecond             string
	allowWant, removeFirstWant, removeSecondWant string
	first                                        *regexp.Regexp // the first's lines in domainMarks
	secondMark                                   string         // when set, in the second's lines on every host
	secondJob                                    string         // the second's refresh job
	// afterRemoval, when set, is a shell command run on each host after
	// the first's removal (what says what it does), after which the
	// second's packets must still pass.
	afterRemoval func(h labkit.Host) string
	what         string
}

func (c twoDomains) run(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: len(c.profiles), Profiles: c.profiles})
	l := &luaLab{lab: lab, bin: buildRemedy(t), home: t.TempDir()}
	stop, err := lab.PeerListen("tcp", 8443)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	stand := netip.MustParseAddr(lab.License)
	// check probes the first's port and the second's from every host at
	// once: a dropped probe waits out its timeout, and host by host, port
	// by port, those waits were most of the test's time.
	check := func(when string, first, second bool) {
		t.Helper()
		want := [2]bool{first, second}
		got := make([][2]bool, len(lab.Hosts))
		var wg sync.WaitGroup
		for i, h := range lab.Hosts {
			for j, port := range []uint16{443, 8443} {
				wg.Go(func() {
					got[i][j] = lab.InHost(h.Name, func() error { return labkit.ProbeTCP(netip.AddrPortFrom(stand, port), 3*time.Second) }) == nil
				})
			}
		}
		wg.Wait()
		for i, h := range lab.Hosts {
			for j, port := range []uint16{443, 8443} {
				if got[i][j] != want[j] {
					t.Errorf("%s (%s) %s: %s:%d passes %v, want %v", h.Name, h.Profile, when, c.names[j], port, got[i][j], want[j])
				}
			}
		}
	}
	before := map[string]string{}
	for _, h := range lab.Hosts {
		if strings.HasPrefix(h.Profile, "iptables") {
			// As ipset-persistent installs it (see TestRemoveDomainOnLab).
			labSh(t, lab, h.Name, "mkdir -p /usr/share/netfilter-persistent/plugins.d && touch /usr/share/netfilter-persistent/plugins.d/10-ipset")
		}
		labSh(t, lab, h.Name, "printf '%s\\t"+c.names[0]+" "+c.names[1]+"\\n' "+lab.License+" >> /etc/hosts")
		before[h.Name] = labSh(t, lab, h.Name, domainMarks)
	}
	check("before", false, false)
	doc, code := l.remedy(t, "run", l.playbook(t, c.allow))
	allowed := map[string]string{}
	for _, h := range lab.Hosts {
		if got := doc.statuses(h.Name); code != 0 || got != c.allowWant {
			t.Fatalf("%s (%s): allow_domain: exit %d, %s: %s", h.Name, h.Profile, code, got, doc.out)
		}
		allowed[h.Name] = labSh(t, lab, h.Name, domainMarks)
		if rest := c.without(allowed[h.Name]); !c.first.MatchString(allowed[h.Name]) || rest == before[h.Name] || !strings.Contains(rest, c.secondMark) {
			t.Errorf("%s (%s): want marks of each domain:\n%s", h.Name, h.Profile, allowed[h.Name])
		}
	}
	check("after allow_domain", true, true)
	doc, code = l.remedy(t, "run", l.playbook(t, c.removeFirst))
	for _, h := range lab.Hosts {
		if got := doc.statuses(h.Name); code != 0 || got != c.removeFirstWant {
			t.Errorf("%s (%s): remove: exit %d, %s: %s", h.Name, h.Profile, code, got, doc.out)
		}
		if got, want := labSh(t, lab, h.Name, domainMarks), c.without(allowed[h.Name]); got != want {
			t.Errorf("%s (%s): after removing %s:\n%s\nwant all of %s's and nothing of its:\n%s", h.Name, h.Profile, c.names[0], got, c.names[1], want)
		}
	}
	check("after removing "+c.names[0], false, true)
	for _, h := range lab.Hosts {
		labSh(t, lab, h.Name, c.secondJob)
	}
	check("after "+c.names[1]+"'s job ran again", false, true)
	if c.afterRemoval != nil {
		for _, h := range lab.Hosts {
			labSh(t, lab, h.Name, c.afterRemoval(h))
		}
		check(c.what, false, true)
	}
	doc, code = l.remedy(t, "run", l.playbook(t, c.removeSecond))
	for _, h := range lab.Hosts {
		if got := doc.statuses(h.Name); code != 0 || got != c.removeSecondWant {
			t.Errorf("%s (%s): remove the other: exit %d, %s: %s", h.Name, h.Profile, code, got, doc.out)
		}
		if got := labSh(t, lab, h.Name, domainMarks); got != before[h.Name] {
			t.Errorf("%s (%s): after removing both:\n%s\nwant, as before allow_domain:\n%s", h.Name, h.Profile, got, before[h.Name])
		}
	}
	check("after removing both", false, false)
}

// without is marks without the first domain's lines.
func (c twoDomains) without(marks string) string {
	var rest []string
	for _, line := range strings.SplitAfter(marks, "\n") {
		if !c.first.MatchString(line) {
			rest = append(rest, line)
		}
	}
	return strings.Join(rest, "")
}
