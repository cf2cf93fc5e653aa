package tests

import (
	"regexp"
	"testing"
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
	twoDomains{
		profiles:    []string{"nftables+egress", "iptables-legacy+egress"},
		names:       [2]string{"a-b.alee.test", "a.b.alee.test"},
		allow:       allowAlikeDomains,
		allowWant:   "dot=changed hyphen=changed",
		removeFirst: removeHyphen, removeFirstWant: "unhyphen=changed",
		removeSecond: removeDot, removeSecondWant: "undot=changed",
		first:      hyphens,
		secondMark: "rmd_a_b_alee_test_4",
		secondJob:  "/usr/local/sbin/remedy-domain-a-b-alee-test",
	}.run(t)
}
