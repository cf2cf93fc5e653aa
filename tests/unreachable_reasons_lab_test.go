package tests

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// Each host that cannot be reached is reported for its own reason, in
// one wording a reason, and every other host is audited, also when the
// hosts queue for one handshake at a time behind those that stall:
// --timeout counts from a host's own dial. The faults are what a fleet
// has: an sshd stopped (refused), packets to port 22 dropped (the TCP
// connect stalls), and a listener that accepts TCP and never sends a
// banner.
func TestUnreachableForOwnReasonsOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 5, Profiles: []string{"none"}})
	r := &remedyRunner{bin: buildRemedy(t), lab: lab, home: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stopped, dropped, silent := lab.Hosts[1], lab.Hosts[2], lab.Hosts[3]

	out, err := lab.Exec(ctx, stopped.Name, "sh", "-c", `ss -Htlnp 'sport = :22' | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1`)
	if err != nil || len(strings.TrimSpace(string(out))) == 0 {
		t.Fatalf("%s: sshd's pid: %q, %v", stopped.Name, out, err)
	}
	if _, err := lab.Exec(ctx, stopped.Name, "kill", strings.TrimSpace(string(out))); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.Exec(ctx, dropped.Name, "nft", "add table inet fault; add chain inet fault in { type filter hook input priority -300; }; add rule inet fault in tcp dport 22 drop"); err != nil {
		t.Fatal(err)
	}
	// The silent listener is a host of its own in the inventory: port
	// 2222 of a lab host, which accepts and never writes.
	const silentPort = 2222
	var l net.Listener
	if err := lab.InHost(silent.Name, func() (err error) {
		l, err = net.Listen("tcp", fmt.Sprintf(":%d", silentPort))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	b, err := os.ReadFile(lab.Inventory)
	if err != nil {
		t.Fatal(err)
	}
	inv := runnerFile(t, "inventory.ini", string(b)+fmt.Sprintf("\n[silent]\nbannerless ansible_host=%s ansible_port=%d\n", silent.Addr, silentPort))

	res := r.run(t, "audit", "aspera-server", "-i", inv, "--known-hosts", lab.KnownHosts,
		"--timeout", "3s", "--max-handshakes", "1", "-o", "json")
	if res.code != 4 {
		t.Fatalf("want exit 4 (unreachable hosts): %s", res)
	}
	want := map[string]string{
		stopped.Name: fmt.Sprintf("connect to %s:22: dial tcp %s:22: connect: connection refused", stopped.Addr, stopped.Addr),
		dropped.Name: fmt.Sprintf("connect to %s:22: no answer within 3s (--timeout)", dropped.Addr),
		"bannerless": fmt.Sprintf("ssh handshake with %s:%d: no answer within 3s (--timeout)", silent.Addr, silentPort),
	}
	doc := parseRunJSON(t, res)
	if len(doc.Hosts) != len(lab.Hosts)+1 {
		t.Errorf("%d hosts in the result, want %d", len(doc.Hosts), len(lab.Hosts)+1)
	}
	for _, h := range doc.Hosts {
		reason, faulty := want[h.Name]
		switch {
		case faulty && (!h.Unreachable || h.Error != reason):
			t.Errorf("%s: unreachable %t, %q; want %q", h.Name, h.Unreachable, h.Error, reason)
		case !faulty && (h.Unreachable || h.Facts == nil):
			t.Errorf("%s: not audited (%q): it waited its turn behind the hosts that stalled", h.Name, h.Error)
		}
	}
}
