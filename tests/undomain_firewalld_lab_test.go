package tests

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// allowPeerTwo opens egress to the peer under a second comment, after
// allowOut's: over D-Bus its policy is made in the permanent
// configuration and its rule goes into remedy's live policy, no reload.
const allowPeerTwo = `return { tasks = {
  { name = "out", run = function(v)
      firewall.allow { dir = "out", proto = "tcp", port = 8444, dst = v.peer, comment = "peer2" }
    end },
} }`

// removePeer returns a playbook removing the rules commented comment.
func removePeer(comment string) string {
	return fmt.Sprintf(`return { tasks = {
  { name = "unpeer", run = function() firewall.remove { comment = %q } end },
} }`, comment)
}

// firewalldAgree prints, for the runtime and then the permanent
// configuration, the policies and the settings of each: the two halves
// must be equal.
const firewalldAgree = `for w in "" --permanent; do
	echo "== ${w:-runtime}"
	for p in $(firewall-cmd $w --get-policies); do firewall-cmd $w --info-policy="$p"; done
done`

// TestRemoveFirewalldPolicyWithoutReloadOnLab removes, over D-Bus, an
// outbound opening made since the last reload: its policy goes from the
// permanent configuration and its rule from remedy's live policy in the
// runtime, with no reload and no firewall-cmd (a port kept in the
// runtime alone stays), and runtime and permanent configuration then
// hold the same policies with the same settings; its packets no longer
// pass, the other opening's still do. On main the removal reloaded.
// Removing an opening a reload loaded still costs one: firewalld has no
// method taking a policy out of its runtime.
func TestRemoveFirewalldPolicyWithoutReloadOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 1, Profiles: []string{"firewalld+egress"}})
	l := &luaLab{lab: lab, bin: buildRemedy(t), home: t.TempDir()}
	h := lab.Hosts[0]
	labSh(t, lab, h.Name, logCalls)
	stand := netip.MustParseAddr(lab.License)
	passes := func(port uint16) bool {
		return lab.InHost(h.Name, func() error {
			return labkit.ProbeTCP(netip.AddrPortFrom(stand, port), 3*time.Second)
		}) == nil
	}
	for i, port := range []int{8443, 8444} {
		stop, err := lab.PeerListen("tcp", port)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		doc, code := l.remedy(t, "run", l.playbook(t, []string{allowOut, allowPeerTwo}[i]), "-e", "peer="+lab.License)
		if got := doc.statuses(h.Name); code != 0 || got != "out=changed" {
			t.Fatalf("allow %d: exit %d, %s: %s", port, code, got, doc.out)
		}
	}
	if !passes(8443) || !passes(8444) {
		t.Fatalf("after both openings: 8443 passes %v, 8444 %v", passes(8443), passes(8444))
	}
	// remove runs the removal of comment, and says how many reloads and
	// firewall-cmd starts it made.
	remove := func(comment string) (reloads, fwcmds int) {
		t.Helper()
		labSh(t, lab, h.Name, runtimeOnly+"; rm -f /tmp/firewall-cmd.calls /tmp/busctl.calls")
		doc, code := l.remedy(t, "run", l.playbook(t, removePeer(comment)))
		if got := doc.statuses(h.Name); code != 0 || got != "unpeer=changed" {
			t.Fatalf("remove %q: exit %d, %s: %s", comment, code, got, doc.out)
		}
		calls := labSh(t, lab, h.Name, "cat /tmp/firewall-cmd.calls /tmp/busctl.calls 2>/dev/null; true")
		fwcmds = len(strings.Split(labSh(t, lab, h.Name, "cat /tmp/firewall-cmd.calls 2>/dev/null; true"), "\n")) - 1
		for _, c := range strings.Split(calls, "\n") {
			if strings.HasSuffix(c, " reload") || strings.Contains(c, "--reload") || strings.HasSuffix(c, " completeReload") {
				reloads++
			}
		}
		if out := labSh(t, lab, h.Name, "firewall-cmd --zone=work --list-ports"); !strings.Contains(out, "40999/tcp") != (reloads > 0) {
			t.Errorf("remove %q: %d reloads counted, and the runtime-only port %s", comment, reloads, map[bool]string{true: "stayed", false: "went"}[strings.Contains(out, "40999/tcp")])
		}
		agree := strings.SplitN(labSh(t, lab, h.Name, firewalldAgree), "== --permanent\n", 2)
		if rt := strings.TrimPrefix(agree[0], "== runtime\n"); len(agree) != 2 || rt != agree[1] {
			t.Errorf("remove %q: runtime and permanent configuration differ:\n%s", comment, strings.Join(agree, "== permanent\n"))
		}
		return reloads, fwcmds
	}
	if reloads, fwcmds := remove("remedy: peer2"); reloads != 0 || fwcmds != 0 {
		t.Errorf("remove peer2, made since the last reload: %d reloads, %d firewall-cmd starts, want none", reloads, fwcmds)
	}
	if passes(8444) || !passes(8443) {
		t.Errorf("after removing peer2: 8444 passes %v (want false), 8443 %v (want true)", passes(8444), passes(8443))
	}
	if reloads, fwcmds := remove("remedy: peer"); reloads != 1 || fwcmds != 0 {
		t.Errorf("remove peer, which a reload loaded: %d reloads, %d firewall-cmd starts, want 1 reload and none", reloads, fwcmds)
	}
	if passes(8443) {
		t.Error("after removing peer: 8443 passes")
	}
}
