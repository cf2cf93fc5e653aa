package tests

import (
	"regexp"
	"strings"
	"testing"

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
	twoDomains{
		profiles: []string{"nftables+egress", "iptables-legacy+egress", "iptables-nft+egress", "firewalld+egress", "ufw+egress"},
		names:    [2]string{"alee.test", "alee.test.cn"},
		allow:    allowTwoDomains, allowWant: "alee=changed cn=changed",
		removeFirst: removeShort, removeFirstWant: "unalee=changed",
		removeSecond: removeLong, removeSecondWant: "uncn=changed",
		first:     regexp.MustCompile(`alee[._-]test([^._-]|[._-][^c]|$)`),
		secondJob: "/usr/local/sbin/remedy-domain-alee-test-cn",
		afterRemoval: func(h labkit.Host) string {
			return reboots[strings.TrimSuffix(h.Profile, "+egress")] + " && /usr/local/sbin/remedy-domain-alee-test-cn"
		},
		what: "after a reboot and alee.test.cn's job",
	}.run(t)
}
