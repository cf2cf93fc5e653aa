package labkit

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"time"
)

// licenseName names the stand-in's namespace (no host can be called "lic":
// host names are h1.. and hidden1..).
const licenseName = "lic"

// createNetwork makes the bridge, the unreachable route, every namespace and
// every link, in two or three ip processes however many hosts there are.
func createNetwork(ctx context.Context, st *state) error {
	s := st.Slot
	root := slotNetwork(s)
	link := func(netns, veth, addr string) { root = append(root, linkNetns(s, netns, veth, addr)...) }
	var hidden []string
	for _, h := range st.Hosts {
		if !h.Hidden {
			link(h.Netns, h.Veth, h.Addr)
			continue
		}
		root = append(root, "netns add "+h.Netns)
		hidden = append(hidden,
			"link add "+h.Veth+" type veth peer name eth0 netns "+h.Netns,
			"link set "+h.Veth+" master "+hiddenBridge+" up")
	}
	root = append(root, neighLines(bridgeName(s), addrAt(s, bridgeOff).String(), append(licenseNeighbours(s), hostNeighbours(st)...))...)
	if err := ipBatch(ctx, "", root); err != nil {
		return err
	}
	if err := bridgeBatch(ctx, staticFDB(st)); err != nil {
		return err
	}
	if len(hidden) > 0 {
		first := st.Hosts[0].Netns
		hidden = append([]string{
			"link add " + hiddenBridge + " type bridge",
			"link set " + hiddenBridge + " up",
			fmt.Sprintf("addr add %s/%d dev %s", addrAt(s, hiddenGwOff), hiddenPrefix, hiddenBridge),
		}, hidden...)
		if err := ipBatch(ctx, first, hidden); err != nil {
			return err
		}
	}
	return nil
}

// slotNetwork is what every lab in slot s has in the machine's namespace,
// whoever makes its hosts: the bridge holding .1, the /22 routed
// unreachable, and the licensing stand-in's namespace and link.
func slotNetwork(s int) []string {
	br := bridgeName(s)
	return append([]string{
		"link add " + br + " type bridge",
		"link set " + br + " address " + macFor(addrAt(s, bridgeOff)),
		"link set " + br + " up",
		fmt.Sprintf("addr add %s/%d dev %s", addrAt(s, bridgeOff), hostPrefix, br),
		fmt.Sprintf("route add unreachable %s/%d", addrAt(s, 0), slotPrefix),
	}, linkNetns(s, netnsName(s, licenseName), licenseVeth(s), addrAt(s, licenseOff).String())...)
}

// linkNetns adds namespace netns with its eth0 on slot s's bridge, with
// the MAC address macFor gives addr.
func linkNetns(s int, netns, veth, addr string) []string {
	return []string{
		"netns add " + netns,
		"link add " + veth + " type veth peer name eth0 address " + macFor(netip.MustParseAddr(addr)) + " netns " + netns,
		"link set " + veth + " master " + bridgeName(s) + " up",
	}
}

// ifaceUp is what each namespace runs to bring its own end up, with the
// neighbours it knows from the start.
func ifaceUp(addr string, prefix int, neighbours []neighbour) []string {
	return append([]string{
		"link set lo up",
		fmt.Sprintf("addr add %s/%d dev eth0", addr, prefix),
		"link set eth0 up",
	}, neighLines("eth0", addr, neighbours)...)
}

// A large lab resolves no address on its bridge by ARP: every interface
// on it knows the MAC addresses of those it talks to from the start
// (permanent neighbours), and the bridge knows each port's (static FDB
// entries). With 500 hosts, ARP's broadcasts and the floods of frames to
// MACs not yet learnt reach every port, one copy each: they overran the
// kernel's backlog of 1000 packets and dropped SYNs, and the hosts' and
// the controller's dynamic neighbours overflowed the kernel's table of
// 1024 (gc_thresh3, one table for all namespaces; permanent entries do
// not count against it). Connections then took seconds to start, or
// timed out, for the lab's own reasons.
type neighbour struct{ addr, mac string }

// macFor is the MAC address of the interface that holds addr (for the
// licensing stand-in, the first address it holds): locally
// administered, the IPv4 address in its last four bytes.
func macFor(a netip.Addr) string {
	b := a.As4()
	return fmt.Sprintf("02:72:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}

// bridgeNeighbour is the bridge's address, the controller's.
func bridgeNeighbour(s int) neighbour {
	return neighbour{addrAt(s, bridgeOff).String(), macFor(addrAt(s, bridgeOff))}
}

// licenseNeighbours are every address the licensing stand-in may hold
// (RepointLicense moves it along), with its one MAC.
func licenseNeighbours(s int) []neighbour {
	var n []neighbour
	mac := macFor(addrAt(s, licenseOff))
	for off := licenseOff; off <= licenseLast; off++ {
		n = append(n, neighbour{addrAt(s, off).String(), mac})
	}
	return n
}

// hostNeighbours are the hosts on the bridge. Hosts know only the
// bridge and the stand-in: they seldom talk to each other.
func hostNeighbours(st *state) []neighbour {
	var n []neighbour
	for _, h := range st.Hosts {
		if !h.Hidden {
			n = append(n, neighbour{h.Addr, macFor(netip.MustParseAddr(h.Addr))})
		}
	}
	return n
}

// neighLines makes neighbours permanent on dev, but for self.
func neighLines(dev, self string, neighbours []neighbour) []string {
	var lines []string
	for _, n := range neighbours {
		if n.addr != self {
			lines = append(lines, fmt.Sprintf("neigh replace %s lladdr %s dev %s nud permanent", n.addr, n.mac, dev))
		}
	}
	return lines
}

// staticFDB tells the bridge which port each host's and the stand-in's
// MAC is behind.
func staticFDB(st *state) []string {
	s := st.Slot
	lines := []string{fmt.Sprintf("fdb replace %s dev %s master static", macFor(addrAt(s, licenseOff)), licenseVeth(s))}
	for _, h := range st.Hosts {
		if !h.Hidden {
			lines = append(lines, fmt.Sprintf("fdb replace %s dev %s master static", macFor(netip.MustParseAddr(h.Addr)), h.Veth))
		}
	}
	return lines
}

// bridgeBatch feeds lines to one `bridge -batch`.
func bridgeBatch(ctx context.Context, lines []string) error {
	cmd := exec.CommandContext(ctx, "bridge", "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("bridge -batch: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// ipBatch feeds lines to one `ip -batch`, inside netns when it is not empty.
func ipBatch(ctx context.Context, netns string, lines []string) error {
	args := []string{"-batch", "-"}
	if netns != "" {
		args = append([]string{"-n", netns}, args...)
	}
	return runIP(ctx, args, lines)
}

func runIP(ctx context.Context, args, lines []string) error {
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// removeNetwork deletes what createNetwork made for slot s, whatever of it
// exists: namespaces by their prefix (so a crash before the state was
// complete leaves nothing), then the machine's links and route. A veth goes
// with its peer's namespace, but only once the kernel has destroyed it, so
// links are deleted only if they outlive a short wait.
func removeNetwork(ctx context.Context, s int) error {
	namespaces, err := slotNetns(ctx, s)
	if err != nil {
		return err
	}
	var lines []string
	for _, ns := range namespaces {
		lines = append(lines, "netns del "+ns)
	}
	if len(lines) > 0 {
		if err := ipBatch(ctx, "", lines); err != nil {
			return err
		}
	}
	for wait := 0; wait < 100 && len(slotLinks(s)) > 1; wait++ {
		time.Sleep(20 * time.Millisecond)
	}
	lines = nil
	for _, l := range slotLinks(s) {
		lines = append(lines, "link del "+l)
	}
	if len(lines) > 0 {
		// A veth may vanish between listing and deleting: -force goes on
		// past such errors, and waitGone checks the outcome.
		runIP(ctx, []string{"-force", "-batch", "-"}, lines)
	}
	route := fmt.Sprintf("%s/%d", addrAt(s, 0), slotPrefix)
	hasRoute, err := unreachableRoute(ctx, route)
	if err != nil || !hasRoute {
		return err
	}
	return ipBatch(ctx, "", []string{"route del unreachable " + route})
}

// slotNetns lists the namespaces of slot s.
func slotNetns(ctx context.Context, s int) ([]string, error) {
	out, err := exec.CommandContext(ctx, "ip", "netns", "list").Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns list: %w", err)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(line, " ")
		if strings.HasPrefix(name, netnsPrefix(s)) {
			names = append(names, name)
		}
	}
	return names, nil
}

// slotLinks lists slot s's bridge and veths still in the machine's namespace.
// A veth usually dies with its peer's namespace, but only once nothing pins
// that namespace.
func slotLinks(s int) []string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var names []string
	veth := fmt.Sprintf("rl%dv", s)
	for _, i := range ifaces {
		if i.Name == bridgeName(s) || strings.HasPrefix(i.Name, veth) {
			names = append(names, i.Name)
		}
	}
	return names
}

func unreachableRoute(ctx context.Context, route string) (bool, error) {
	out, err := exec.CommandContext(ctx, "ip", "route", "show", "type", "unreachable", route).Output()
	if err != nil {
		return false, fmt.Errorf("ip route show %s: %w", route, err)
	}
	return len(bytes.TrimSpace(out)) > 0, nil
}

// waitGone waits until slot s has no namespace or link left in the machine.
// The kernel destroys namespaces one after another in the background, which
// takes seconds for a hundred hosts with firewalls on a busy machine.
func waitGone(ctx context.Context, s int) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ns, err := slotNetns(ctx, s)
		if err != nil {
			return err
		}
		links := slotLinks(s)
		if len(ns) == 0 && len(links) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lab slot %d: still there after down: namespaces %v, links %v", s, ns, links)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
