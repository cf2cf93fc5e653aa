package labkit

import (
	"fmt"
	"net/netip"
)

// Address plan. Slot N owns the /22 at 198.18.0.0 + N*1024:
//
//	+1          the lab bridge in the machine's namespace (/23), so the controller reaches hosts directly
//	+2 .. +9    the licensing stand-in (RepointLicense moves it along)
//	+10 .. +509 the hosts (MaxHosts), below the /23's broadcast address +511
//	+512 /24    the hidden network, bridged inside the first host: +513 is the
//	            first host, hidden hosts from +522
//
// The whole /22 is routed "unreachable" in the machine's namespace, so no
// lab packet ever takes the default route off the machine.
const (
	slots        = 128 // 198.18.0.0/15 holds 128 /22s
	slotSize     = 1024
	bridgeOff    = 1
	licenseOff   = 2
	licenseLast  = 9
	hostOff      = 10
	hiddenNetOff = 512
	hiddenGwOff  = hiddenNetOff + 1
	hiddenOff    = hiddenNetOff + 10
	hostPrefix   = 23
	hiddenPrefix = 24
	slotPrefix   = 22
)

var labNet = netip.MustParseAddr("198.18.0.0")

// addrAt returns the address off places after the start of slot's /22.
func addrAt(slot, off int) netip.Addr {
	b := labNet.As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n += uint32(slot*slotSize + off)
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// Kernel interface names are at most 15 bytes: "rl127v400" and "rl127br" fit.
func bridgeName(slot int) string          { return fmt.Sprintf("rl%dbr", slot) }
func vethName(slot, i int) string         { return fmt.Sprintf("rl%dv%d", slot, i) }
func licenseVeth(slot int) string         { return fmt.Sprintf("rl%dvlic", slot) }
func netnsPrefix(slot int) string         { return fmt.Sprintf("rl%d-", slot) }
func netnsName(slot int, n string) string { return netnsPrefix(slot) + n }

// Inside the first host: the hidden network's bridge and one veth per hidden host.
const hiddenBridge = "hbr0"

func hiddenVeth(i int) string { return fmt.Sprintf("hv%d", i) }

// plan lays out every host of o in slot.
func plan(o Options, slot int) []hostState {
	var hosts []hostState
	for i := range o.Hosts {
		p, egress := o.profileFor(i)
		name := fmt.Sprintf("h%d", i+1)
		hosts = append(hosts, hostState{
			Host:   Host{Name: name, Addr: addrAt(slot, hostOff+i).String(), Profile: p, Egress: egress},
			Netns:  netnsName(slot, name),
			Veth:   vethName(slot, i+1),
			Prefix: hostPrefix,
		})
	}
	for i := range o.Hidden {
		p, egress := o.profileFor(o.Hosts + i)
		name := fmt.Sprintf("hidden%d", i+1)
		hosts = append(hosts, hostState{
			Host:   Host{Name: name, Addr: addrAt(slot, hiddenOff+i).String(), Profile: p, Egress: egress, Hidden: true},
			Netns:  netnsName(slot, name),
			Veth:   hiddenVeth(i + 1),
			Prefix: hiddenPrefix,
		})
	}
	return hosts
}
