package tests

import (
	"context"
	"strings"
	"sync"
	"testing"

	"remedy/tests/lab/labkit"
)

const removeALEE = `return { tasks = {
  { name = "unalee", run = function() firewall.remove { comment = "remedy: api.ibmaspera.com" } end },
} }`

// domainMarks lists, on a lab host, everything of allow_domain's that
// could outlive it, a line per object: the refresh job's files and its
// detached loop, then every line naming remedy or one of its sets, live
// and in what boot loads. The loop is matched as "remedy[-]domain" so
// that grep's own command line does not match. An nft boot line's index
// is left out: removing a rule before it renumbers it, as boot would.
const domainMarks = `ls -d /usr/local/sbin/remedy-domain-* /etc/systemd/system/remedy-domain-* /etc/cron.d/remedy-domain-* 2>/dev/null
for p in /proc/[0-9]*; do
	tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep 'while :; do /usr/local/sbin/remedy[-]domain' | sed 's/^/process: /'
done
{
	nft list ruleset 2>/dev/null
	for t in iptables-legacy ip6tables-legacy iptables-nft ip6tables-nft; do ! command -v $t-save >/dev/null || $t-save 2>/dev/null; done
	! command -v ipset >/dev/null || ipset list -n 2>/dev/null
	! command -v ufw >/dev/null || ufw status 2>/dev/null
	if command -v firewall-cmd >/dev/null; then
		for w in "" --permanent; do
			for l in ipsets policies; do firewall-cmd $w --get-$l | tr ' ' '\n' | sed "s/^/$l$w: /"; done
		done
	fi
	cat /etc/nftables.conf /etc/iptables/rules.v4 /etc/iptables/rules.v6 /etc/iptables/ipsets /etc/sysconfig/ipset 2>/dev/null
} | grep -E 'rmd[_-]|remedy' | sed -E 's/ index [0-9]+ / index N /; s/^[[:space:]]+//'
true`

// TestRemoveDomainOnLab runs allow_domain, then firewall.remove with its
// comment, on every firewall: after the removal nothing of remedy's is
// left on the host (rules, sets, ipsets, policies, the refresh job, boot
// files: the same marks as before allow_domain), the licensing stand-in
// is unreachable again, also after a simulated reboot, and a second
// removal has nothing to do. Check mode changes nothing.
func TestRemoveDomainOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 5, Profiles: []string{"nftables+egress", "iptables-legacy+egress",
		"iptables-nft+egress", "firewalld+egress", "ufw+egress"}})
	l := &luaLab{lab: lab, bin: buildRemedy(t), home: t.TempDir()}
	connect := "timeout 3 bash -c 'exec 3<>/dev/tcp/api.ibmaspera.com/443'"
	reachable := func(h labkit.Host) bool {
		_, err := lab.Exec(context.Background(), h.Name, "sh", "-c", connect)
		return err == nil
	}
	// noneReach says which hosts reach the stand-in, probing all at once:
	// a dropped connection waits out its 3 s, host after host.
	noneReach := func(when string) {
		t.Helper()
		got := make([]bool, len(lab.Hosts))
		var wg sync.WaitGroup
		for i, h := range lab.Hosts {
			wg.Go(func() { got[i] = reachable(h) })
		}
		wg.Wait()
		for i, h := range lab.Hosts {
			if got[i] {
				t.Errorf("%s (%s): the stand-in is reachable %s", h.Name, h.Profile, when)
			}
		}
	}
	before := map[string]string{}
	for _, h := range lab.Hosts {
		if strings.HasPrefix(h.Profile, "iptables") {
			// As ipset-persistent installs it: boot loads the ipsets
			// before the rules naming them, or allow_domain refuses.
			labSh(t, lab, h.Name, "mkdir -p /usr/share/netfilter-persistent/plugins.d && touch /usr/share/netfilter-persistent/plugins.d/10-ipset")
		}
		before[h.Name] = labSh(t, lab, h.Name, domainMarks)
	}
	if noneReach("before allow_domain"); t.Failed() {
		t.FailNow()
	}
	doc, code := l.remedy(t, "run", l.playbook(t, allowALEE))
	for _, h := range lab.Hosts {
		if got := doc.statuses(h.Name); code != 0 || got != "alee=changed" {
			t.Fatalf("%s (%s): allow_domain: exit %d, %s: %s", h.Name, h.Profile, code, got, doc.out)
		}
		if !reachable(h) {
			t.Fatalf("%s (%s): allow_domain: the stand-in is not reachable", h.Name, h.Profile)
		}
	}
	allowed := map[string]string{}
	for _, h := range lab.Hosts {
		allowed[h.Name] = labSh(t, lab, h.Name, domainMarks)
	}
	t.Run("check mode", func(t *testing.T) {
		doc, code := l.remedy(t, "run", l.playbook(t, removeALEE), "-C")
		for _, h := range lab.Hosts {
			if got := doc.statuses(h.Name); code != 0 || got != "unalee=changed" {
				t.Errorf("%s (%s): check mode: exit %d, %s: %s", h.Name, h.Profile, code, got, doc.out)
			}
			if got := labSh(t, lab, h.Name, domainMarks); got != allowed[h.Name] || !reachable(h) {
				t.Errorf("%s (%s): check mode changed the host:\n%s\nwas:\n%s", h.Name, h.Profile, got, allowed[h.Name])
			}
		}
	})
	doc, code = l.remedy(t, "run", l.playbook(t, removeALEE))
	again, code2 := l.remedy(t, "run", l.playbook(t, removeALEE))
	for _, h := range lab.Hosts {
		if got := doc.statuses(h.Name); code != 0 || got != "unalee=changed" {
			t.Errorf("%s (%s): remove: exit %d, %s: %s", h.Name, h.Profile, code, got, doc.out)
		}
		if got := again.statuses(h.Name); code2 != 0 || got != "unalee=ok" {
			t.Errorf("%s (%s): second remove: exit %d, %s, want unalee=ok", h.Name, h.Profile, code2, got)
		}
		if got := labSh(t, lab, h.Name, domainMarks); got != before[h.Name] {
			t.Errorf("%s (%s): after the removal:\n%s\nwant, as before allow_domain:\n%s", h.Name, h.Profile, got, before[h.Name])
		}
	}
	noneReach("after the removal")
	for _, h := range lab.Hosts {
		labSh(t, lab, h.Name, reboots[strings.TrimSuffix(h.Profile, "+egress")])
	}
	noneReach("after the removal and a reboot")
}
