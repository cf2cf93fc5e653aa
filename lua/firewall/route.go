package firewall

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
)

// Route is the route the host would use to a peer, as `ip -j route get
// PEER` prints it.
type Route struct {
	Type    string // "" for an ordinary route; local, unreachable, blackhole, ...
	Dst     netip.Addr
	Dev     string
	PrefSrc netip.Addr
	Gateway netip.Addr
}

// ReadRouteGet reads the output of `ip -j route get ADDR`.
func ReadRouteGet(out []byte) (Route, error) {
	var routes []struct {
		Type     string `json:"type"`
		Dst      string `json:"dst"`
		Dev      string `json:"dev"`
		PrefSrc  string `json:"prefsrc"`
		Gateway  string `json:"gateway"`
		Protocol string `json:"protocol"`
	}
	if err := json.Unmarshal(out, &routes); err != nil {
		return Route{}, fmt.Errorf("ip -j route get: %w", err)
	}
	if len(routes) == 0 {
		return Route{}, fmt.Errorf("ip -j route get: no route")
	}
	r := routes[0]
	route := Route{Type: r.Type, Dev: r.Dev}
	for _, a := range []struct {
		text string
		to   *netip.Addr
	}{{r.Dst, &route.Dst}, {r.PrefSrc, &route.PrefSrc}, {r.Gateway, &route.Gateway}} {
		if a.text == "" {
			continue
		}
		addr, err := netip.ParseAddr(a.text)
		if err != nil {
			return Route{}, fmt.Errorf("ip -j route get: %w", err)
		}
		*a.to = addr
	}
	if route.Dev == "" {
		return Route{}, fmt.Errorf("ip -j route get: route to %s has no device", r.Dst)
	}
	return route, nil
}

// Iface is one interface as `ip -j addr` prints it.
type Iface struct {
	Name  string
	Up    bool
	Addrs []netip.Prefix // each address with its prefix length
}

// Addressing is the host's interfaces and addresses.
type Addressing struct {
	Ifaces []Iface
}

// ReadIPAddr reads the output of `ip -j addr`.
func ReadIPAddr(out []byte) (Addressing, error) {
	var links []struct {
		Ifname   string   `json:"ifname"`
		Flags    []string `json:"flags"`
		AddrInfo []struct {
			Local     string `json:"local"`
			Prefixlen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		return Addressing{}, fmt.Errorf("ip -j addr: %w", err)
	}
	var a Addressing
	for _, l := range links {
		i := Iface{Name: l.Ifname}
		for _, f := range l.Flags {
			i.Up = i.Up || f == "UP"
		}
		for _, ai := range l.AddrInfo {
			p, err := netip.ParsePrefix(fmt.Sprintf("%s/%d", ai.Local, ai.Prefixlen))
			if err != nil {
				return Addressing{}, fmt.Errorf("ip -j addr: %s: %w", l.Ifname, err)
			}
			i.Addrs = append(i.Addrs, p)
		}
		a.Ifaces = append(a.Ifaces, i)
	}
	return a, nil
}

// Local lists every address of the host.
func (a Addressing) Local() []netip.Addr {
	var out []netip.Addr
	for _, i := range a.Ifaces {
		for _, p := range i.Addrs {
			out = append(out, p.Addr())
		}
	}
	return out
}

// Probe is what a caller asks about: a new connection to or from a peer.
type Probe struct {
	Dir   string // "in": from Peer to a listener on the host; "out": from the host to Peer
	Proto string
	Port  int        // the destination port
	SPort int        // optional: the source port; else an ephemeral one
	Peer  netip.Addr // the remote end
	// AnyPeer asks about a peer anywhere: Peer stays unset rather than
	// defaulting to the controller, and the rules that test it are
	// followed both ways ("open to the world").
	AnyPeer bool
	// PeerNote says where Peer came from when the caller did not name it
	// ("the controller's address as the host sees it"), for the reason.
	PeerNote string
	// Addr is the host's end, optional: the destination of a probe in,
	// the source of a probe out. Without it, an address of the
	// interface the packet crosses.
	Addr netip.Addr
	// Iface is the interface the packet arrives on (in) or leaves by
	// (out), optional: without it, the one the host's route to Peer uses.
	Iface string
}

// Packet builds the whole first packet of p from the host's route to the
// peer (`ip -j route get PEER`): a probe in arrives on the interface that
// route leaves by (routing is assumed symmetric) addressed to that
// interface's address, a probe out leaves by it from that address. The
// packet's notes say so, for the verdict's reason.
func (a Addressing) Packet(route Route, p Probe) Packet {
	pkt := Packet{Dir: p.Dir, Proto: p.Proto, Port: p.Port, SPort: p.SPort, Local: a.Local(), Notes: map[string]string{}}
	dev, devNote := route.Dev, fmt.Sprintf("the route to %s leaves by %s", p.Peer, route.Dev)
	switch {
	case p.Iface != "":
		dev, devNote = p.Iface, "given"
	case route.Type == "local":
		dev, devNote = "lo", fmt.Sprintf("%s is the host's own address", p.Peer)
	}
	own, ownNote := a.ifaceAddr(dev, route, p.Peer)
	if p.Addr.IsValid() {
		own, ownNote = p.Addr, "given"
	}
	peerNote := p.PeerNote
	if peerNote == "" {
		peerNote = "given"
	}
	if p.Dir == "out" {
		pkt.Src, pkt.Dst, pkt.Oif = own, p.Peer, dev
		pkt.Notes["src"], pkt.Notes["dst"], pkt.Notes["oif"] = ownNote, peerNote, devNote
		return pkt
	}
	pkt.Src, pkt.Dst, pkt.Iif = p.Peer, own, dev
	pkt.Notes["src"], pkt.Notes["dst"], pkt.Notes["iif"] = peerNote, ownNote, devNote
	return pkt
}

// ifaceAddr picks the host's address on dev for a connection with peer:
// the route's source address when it is on dev (or dev is the route's),
// else dev's address whose subnet holds the peer, else dev's first of
// the peer's family. An interface without one leaves the address unset.
func (a Addressing) ifaceAddr(dev string, route Route, peer netip.Addr) (netip.Addr, string) {
	var on []netip.Prefix
	for _, i := range a.Ifaces {
		if i.Name == dev {
			on = i.Addrs
		}
	}
	fromRoute := fmt.Sprintf("the address the host uses toward %s", peer)
	if route.PrefSrc.IsValid() && (dev == route.Dev || slices.ContainsFunc(on, func(p netip.Prefix) bool { return p.Addr() == route.PrefSrc })) {
		return route.PrefSrc, fromRoute
	}
	for _, p := range on {
		if p.Contains(peer) {
			return p.Addr(), fmt.Sprintf("%s's address on %s's subnet", dev, peer)
		}
	}
	for _, p := range on {
		if p.Addr().Is4() == peer.Is4() && !p.Addr().IsLinkLocalUnicast() {
			return p.Addr(), fmt.Sprintf("%s's address", dev)
		}
	}
	return netip.Addr{}, ""
}
