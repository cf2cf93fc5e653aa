package labkit

import (
	"net/netip"
	"testing"
)

func TestAddrAtStaysInTheSlotsNetwork(t *testing.T) {
	labRange := netip.MustParsePrefix("198.18.0.0/15")
	for _, c := range []struct {
		slot, off int
		want      string
	}{
		{0, 1, "198.18.0.1"},
		{0, hostOff + 255, "198.18.1.9"},
		{3, hiddenOff, "198.18.14.10"},
		{slots - 1, slotSize - 1, "198.19.255.255"},
	} {
		got := addrAt(c.slot, c.off)
		if got.String() != c.want || !labRange.Contains(got) {
			t.Errorf("addrAt(%d, %d) = %s, want %s in %s", c.slot, c.off, got, c.want, labRange)
		}
	}
}

func TestPlanFitsTheAddressPlan(t *testing.T) {
	o, err := Options{Dir: "/tmp/x", Hosts: MaxHosts, Hidden: MaxHidden}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	slot := slots - 1
	hostNet := netip.PrefixFrom(addrAt(slot, 0), hostPrefix)
	hiddenNet := netip.PrefixFrom(addrAt(slot, hiddenNetOff), hiddenPrefix)
	seen := map[string]bool{addrAt(slot, bridgeOff).String(): true, addrAt(slot, hiddenGwOff).String(): true}
	for off := licenseOff; off <= licenseLast; off++ {
		seen[addrAt(slot, off).String()] = true
	}
	for _, h := range plan(o, slot) {
		a := netip.MustParseAddr(h.Addr)
		net := hostNet
		if h.Hidden {
			net = hiddenNet
		}
		broadcast := addrAt(slot, 1<<(32-hostPrefix)-1)
		if h.Hidden {
			broadcast = addrAt(slot, hiddenNetOff+1<<(32-hiddenPrefix)-1)
		}
		if !net.Contains(a) || a == net.Addr() || a == broadcast || seen[h.Addr] {
			t.Errorf("%s: address %s is outside %s or taken", h.Name, h.Addr, net)
		}
		seen[h.Addr] = true
		if len(h.Veth) > 15 || len(bridgeName(slot)) > 15 || len(licenseVeth(slot)) > 15 {
			t.Errorf("%s: interface name %q longer than the kernel's 15 bytes", h.Name, h.Veth)
		}
	}
}

func TestProfilesAreAssignedRoundRobin(t *testing.T) {
	o, err := Options{Dir: "/tmp/x", Hosts: 3, Hidden: 1, Profiles: []string{"ufw", "nftables+egress"}}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		profile string
		egress  bool
	}{{"ufw", false}, {"nftables", true}, {"ufw", false}, {"nftables", true}}
	for i, h := range plan(o, 0) {
		if h.Profile != want[i].profile || h.Egress != want[i].egress {
			t.Errorf("%s: profile %s egress %t, want %s %t", h.Name, h.Profile, h.Egress, want[i].profile, want[i].egress)
		}
	}
}

func TestNextLicenseAddrCycles(t *testing.T) {
	if got := nextLicenseAddr(0, "198.18.0.2"); got != "198.18.0.3" {
		t.Errorf("after .2: %s", got)
	}
	if got := nextLicenseAddr(0, addrAt(0, licenseLast).String()); got != "198.18.0.2" {
		t.Errorf("after the last: %s", got)
	}
}
