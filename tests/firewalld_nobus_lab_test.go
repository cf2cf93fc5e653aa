package tests

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// logCalls puts wrappers for firewall-cmd and busctl first on a lab
// host's PATH, each logging its arguments, a line a call, to
// /tmp/TOOL.calls before it runs the tool.
const logCalls = `for t in firewall-cmd busctl; do
	printf '#!/bin/sh\necho "$*" >> /tmp/%s.calls\nexec /usr/bin/%s "$@"\n' $t $t > /usr/local/sbin/$t
	chmod 755 /usr/local/sbin/$t
done`

// hideBusctl takes busctl off a lab host (its /usr is the host's own),
// as on a host without systemd.
const hideBusctl = "rm -f /usr/local/sbin/busctl && mv /usr/bin/busctl /usr/bin/busctl.hidden"

// TestFirewalldSecondDestinationWithoutBusctlOnLab opens egress to the
// licensing stand-in on a firewalld host without busctl, then a second
// port under the same comment, in another run: the second adds its rule
// to the comment's policy instead of making the policy again (on main:
// NAME_CONFLICT), and real connections to both ports pass; removing the
// comment then closes both.
func TestFirewalldSecondDestinationWithoutBusctlOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 1, Profiles: []string{"firewalld+egress"}})
	l := &luaLab{lab: lab, bin: buildRemedy(t), home: t.TempDir()}
	h := lab.Hosts[0]
	labSh(t, lab, h.Name, logCalls+"\n"+hideBusctl)
	stand := netip.MustParseAddr(lab.License)
	for i, port := range []uint16{8443, 8444} {
		stop, err := lab.PeerListen("tcp", int(port))
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		doc, code := l.remedy(t, "run", l.playbook(t, []string{allowOut, allowOutMore}[i]), "-e", "peer="+lab.License)
		if got := doc.statuses(h.Name); code != 0 || got != "out=changed" {
			t.Fatalf("port %d: exit %d, %s, want out=changed: %s", port, code, got, doc.out)
		}
		err = lab.InHost(h.Name, func() error { return labkit.ProbeTCP(netip.AddrPortFrom(stand, port), 3*time.Second) })
		if err != nil {
			t.Errorf("port %d: a connection from %s to the stand-in: %v", port, h.Name, err)
		}
	}
	calls := labSh(t, lab, h.Name, "cat /tmp/firewall-cmd.calls")
	if n := strings.Count(calls, "--new-policy=rmd-peer"); n != 1 {
		t.Errorf("firewall-cmd made the policy %d times, want once:\n%s", n, calls)
	}
	for _, port := range []int{8443, 8444} {
		if want := fmt.Sprintf(`port="%d"`, port); !strings.Contains(calls, want) {
			t.Errorf("no firewall-cmd call opened %d:\n%s", port, calls)
		}
	}
	// Removal without busctl finds the policy by its description, from
	// its file, and takes both destinations out.
	doc, code := l.remedy(t, "run", l.playbook(t, removePeer("remedy: peer")))
	if got := doc.statuses(h.Name); code != 0 || got != "unpeer=changed" {
		t.Fatalf("remove: exit %d, %s: %s", code, got, doc.out)
	}
	if out := labSh(t, lab, h.Name, "firewall-cmd --get-policies; firewall-cmd --permanent --get-policies"); strings.Contains(out, "rmd-peer") {
		t.Errorf("after the removal: policies\n%s", out)
	}
	for _, port := range []uint16{8443, 8444} {
		if lab.InHost(h.Name, func() error { return labkit.ProbeTCP(netip.AddrPortFrom(stand, port), 3*time.Second) }) == nil {
			t.Errorf("port %d: passes after the removal", port)
		}
	}
	if got := labSh(t, lab, h.Name, "cat /tmp/busctl.calls 2>/dev/null; true"); got != "" {
		t.Errorf("busctl ran, hidden:\n%s", got)
	}
}
