package labkit

import (
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"
)

// A probe says what answered it: a reset or a port unreachable from a
// port nobody listens on, a reject rule's prohibited, silence from a
// drop, and from the prober's own host a route that failed at once, an
// address of its own or a neighbour that never answered. Each is told from the others by what
// reached the socket, not by the errno alone.
func TestProbesSayWhatAnswered(t *testing.T) {
	l := labForTest(t)
	at := func(profile string) netip.Addr {
		return netip.MustParseAddr(l.Hosts[slicesIndex(l.Hosts, profile)].Addr)
	}
	none, firewalld, nftables := at("none"), at("firewalld"), at("nftables")
	icmp := func(t *testing.T, err error, from netip.Addr, typ, code uint8) {
		t.Helper()
		var e *ICMPError
		if !errors.As(err, &e) || e.From != from || e.Type != typ || e.Code != code {
			t.Fatalf("got %v, want ICMP %s from %s", err, icmpName(typ, code), from)
		}
	}
	t.Run("reset", func(t *testing.T) {
		if err := ProbeTCP(netip.AddrPortFrom(none, 8077), 2*time.Second); err != ErrReset {
			t.Fatalf("tcp/8077 on %s: %v, want a reset", none, err)
		}
	})
	t.Run("port unreachable", func(t *testing.T) {
		_, _, err := ProbeUDP(netip.AddrPortFrom(none, 8077), []byte("x"), 2*time.Second)
		icmp(t, err, none, icmpDestUnreach, 3)
	})
	t.Run("firewalld's reject", func(t *testing.T) {
		_, _, err := ProbeUDP(netip.AddrPortFrom(firewalld, 8077), []byte("x"), 2*time.Second)
		icmp(t, err, firewalld, icmpDestUnreach, 13)
		icmp(t, ProbeTCP(netip.AddrPortFrom(firewalld, 8077), 2*time.Second), firewalld, icmpDestUnreach, 13)
	})
	t.Run("a drop is silence", func(t *testing.T) {
		if _, _, err := ProbeUDP(netip.AddrPortFrom(nftables, 8077), []byte("x"), 500*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("udp/8077 on %s: %v, want a timeout", nftables, err)
		}
	})
	t.Run("no route", func(t *testing.T) {
		// The slot's hidden network is routed unreachable on the machine.
		to := netip.AddrPortFrom(addrAt(l.st.Slot, hiddenNetOff+200), 22)
		var local *LocalError
		if err := ProbeTCP(to, 2*time.Second); !errors.As(err, &local) {
			t.Fatalf("tcp to %s: %v, want the prober's own error", to, err)
		}
	})
	t.Run("to itself", func(t *testing.T) {
		// The bridge's address is the machine's own.
		to := netip.AddrPortFrom(addrAt(l.st.Slot, bridgeOff), 8077)
		var local *LocalError
		if _, _, err := ProbeUDP(to, []byte("x"), 2*time.Second); !errors.As(err, &local) {
			t.Fatalf("udp to %s: %v, want the prober's own error", to, err)
		}
	})
	t.Run("no neighbour", func(t *testing.T) {
		// On the bridge's network, where no host is.
		to := netip.AddrPortFrom(addrAt(l.st.Slot, hostOff+400), 22)
		err := ProbeTCP(to, 10*time.Second)
		var e *ICMPError
		if !errors.As(err, &e) || !e.FromProber() || !e.Unreachable() {
			t.Fatalf("tcp to %s: %v, want host unreachable from the prober itself", to, err)
		}
	})
}
