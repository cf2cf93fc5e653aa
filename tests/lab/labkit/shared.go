package labkit

import (
	"context"
	"fmt"
	"net/netip"
)

// A Slot is one lab's block of 198.18.0.0/15 and the names made from it,
// for labs labkit does not build itself (the VM lab in tests/vmlab). They
// claim it through the same files as labkit's labs, so that the two kinds
// never share an address or a name, and one's orphans are the other's to
// reclaim.
type Slot int

// HostPrefix is the prefix length of the hosts' and the bridge's addresses.
const HostPrefix = hostPrefix

// ClaimSlot claims a free slot for the lab in dir, held while the process
// owner lives: once it has died, the next claim or labkit Up takes down
// what Network made and the links named by Link, and frees the slot.
func ClaimSlot(dir string, owner int) (Slot, error) {
	n, err := allocSlot(dir, owner)
	return Slot(n), err
}

// Network makes the slot's bridge, which holds Gateway, routes the whole
// /22 unreachable so no packet leaves the machine, and starts the
// licensing stand-in answering TCP/443 at License.
func (s Slot) Network(ctx context.Context) error {
	if err := ipBatch(ctx, "", slotNetwork(int(s))); err != nil {
		return err
	}
	return startLicense(ctx, int(s), s.License().String(), nil)
}

// Remove takes down everything in the machine named after the slot and
// frees it, if the lab in dir still holds it: after a reboot or a reclaim,
// another lab may have claimed the slot a stale state names.
func (s Slot) Remove(dir string) error {
	if !ownsSlot(int(s), dir) {
		return nil
	}
	return removeSlot(int(s))
}

// Bridge names the slot's bridge; Link names the slot's i-th link (i from
// 1), which the lab attaches to the bridge and Remove deletes.
func (s Slot) Bridge() string    { return bridgeName(int(s)) }
func (s Slot) Link(i int) string { return vethName(int(s), i) }

// Gateway is the bridge's address, the controller's on the lab network.
func (s Slot) Gateway() netip.Addr { return addrAt(int(s), bridgeOff) }

// License is the licensing stand-in's address.
func (s Slot) License() netip.Addr { return addrAt(int(s), licenseOff) }

// Host is the address of the slot's i-th host (i from 1).
func (s Slot) Host(i int) netip.Addr { return addrAt(int(s), hostOff+i-1) }

// AddLicenseAddr gives the licensing stand-in the n-th (from 1) of its
// reserved addresses after License as well, where it answers TCP/443 too:
// a lab that points a host's name at it changes the domain's answer, as
// a DNS change would, without moving the stand-in from the other hosts.
func (s Slot) AddLicenseAddr(ctx context.Context, n int) (netip.Addr, error) {
	if n < 1 || licenseOff+n > licenseLast {
		return netip.Addr{}, fmt.Errorf("licensing stand-in: no reserved address %d after its first", n)
	}
	addr := addrAt(int(s), licenseOff+n)
	line := fmt.Sprintf("addr replace %s/%d dev eth0", addr, hostPrefix)
	if err := ipBatch(ctx, netnsName(int(s), licenseName), []string{line}); err != nil {
		return netip.Addr{}, fmt.Errorf("licensing stand-in: add %s: %w", addr, err)
	}
	return addr, nil
}
