package labkit

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"time"

	"golang.org/x/sync/errgroup"
)

// licenseReply is what the stand-in says to whoever connects to TCP/443.
const licenseReply = "remedy-lab licensing stand-in"

// startLicense brings up the licensing stand-in at addr in slot's own
// namespace on the lab bridge. setsid -f detaches socat from this process,
// so it outlives `lab up`; Down finds it by its namespace.
//
// neighbours are the hosts on the bridge whose MACs it knows from the
// start, besides the bridge's (see neighbour).
func startLicense(ctx context.Context, slot int, addr string, neighbours []neighbour) error {
	netns := netnsName(slot, licenseName)
	if err := ipBatch(ctx, netns, ifaceUp(addr, hostPrefix, append(neighbours, bridgeNeighbour(slot)))); err != nil {
		return err
	}
	// A deep backlog: every host of a large lab may connect at once, and
	// socat's default of 5 drops the rest's SYNs, each then retried after
	// a second, which benchmarks would measure as remedy's.
	cmd := exec.CommandContext(ctx, "setsid", "-f", "nsenter", "--net=/run/netns/"+netns,
		"socat", "TCP-LISTEN:443,fork,reuseaddr,backlog=1024", "SYSTEM:echo "+licenseReply)
	// socat keeps whatever stdio it is given, so it gets /dev/null: a pipe
	// would hold Run until socat exits. The reach below reports a failure.
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("start licensing stand-in: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := Reach(addr, "tcp", 443, time.Second)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("licensing stand-in does not answer: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RepointLicense moves the licensing stand-in to the next free address and
// points every host's hosts file at it, as a DNS change would.
func (l *Lab) RepointLicense(ctx context.Context) (string, error) {
	st := l.st
	next := nextLicenseAddr(st.Slot, st.License)
	netns := netnsName(st.Slot, licenseName)
	err := ipBatch(ctx, netns, []string{
		fmt.Sprintf("addr del %s/%d dev eth0", st.License, hostPrefix),
		fmt.Sprintf("addr add %s/%d dev eth0", next, hostPrefix),
	})
	if err != nil {
		return "", fmt.Errorf("repoint licensing stand-in: %w", err)
	}
	sed := fmt.Sprintf(`s/^[^#[:space:]]+([[:space:]]+%s)$/%s\1/`, regexp.QuoteMeta(LicenseDomain), next)
	g, gctx := errgroup.WithContext(ctx)
	for _, h := range st.Hosts {
		g.Go(func() error {
			_, err := l.Exec(gctx, h.Name, "sed", "-i", "-E", sed, "/etc/hosts")
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return "", fmt.Errorf("repoint licensing stand-in: %w", err)
	}
	st.License = next
	l.License = next
	return next, st.write()
}

// nextLicenseAddr cycles through the stand-in's reserved addresses.
func nextLicenseAddr(slot int, current string) string {
	for off := licenseOff; off < licenseLast; off++ {
		if addrAt(slot, off).String() == current {
			return addrAt(slot, off+1).String()
		}
	}
	return addrAt(slot, licenseOff).String()
}
