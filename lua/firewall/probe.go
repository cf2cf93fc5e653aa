package firewall

import (
	"errors"
	"fmt"
	"net/netip"

	"remedy/lua/remote"
)

// ErrNoRoute marks a route read that says the host has no route to the
// peer (or says nothing the reader understands): a routeTo for
// HostRead.Packet returns it wrapped, and the probe's interface stays
// unset rather than the read failing.
var ErrNoRoute = errors.New("no route")

// ControllerNote says where a probe's peer came from when the caller
// named none: the SSH connection the host's read came over.
const ControllerNote = "the controller's address as the host sees it ($SSH_CONNECTION)"

// RouteArgv reads the host's route to addr (`ip -j route get ADDR`),
// for a probe whose peer is not the controller; ReadRouteGet reads its
// output.
func RouteArgv(addr netip.Addr) []string {
	return []string{"sh", "-c", `PATH="$PATH:/usr/sbin:/sbin" exec ip -j route get "$1"`, "sh", addr.String()}
}

// RouteAnswer reads what RouteArgv's command answered: a failed or
// unreadable answer is ErrNoRoute, so the probe's interface stays unset.
func RouteAnswer(out remote.Output) (Route, error) {
	if out.ExitCode != 0 {
		return Route{}, fmt.Errorf("%w: %s", ErrNoRoute, remote.Excerpt(out.Stderr))
	}
	r, err := ReadRouteGet(out.Stdout)
	if err != nil {
		return Route{}, fmt.Errorf("%w: %v", ErrNoRoute, err)
	}
	return r, nil
}

// Packet builds the whole first packet of p from what the host's read
// holds: a probe in comes from the controller unless p names its peer
// or asks about any (AnyPeer);
// the arrival (or output) interface is the host's route's to the peer,
// read with routeTo (RouteArgv) unless it is the controller's, which the
// read holds already, or p names it (a host without a route to the peer,
// ErrNoRoute, leaves it unset); the host's address is that
// interface's unless p names it. What the read cannot say (no ip on the
// host, a probe out to anywhere) stays unset, and the verdict follows
// the rules that test it both ways.
func (r *HostRead) Packet(p Probe, routeTo func(netip.Addr) (Route, error)) (Packet, error) {
	if !p.Peer.IsValid() && !p.AnyPeer && p.Dir == "in" && r.Controller.IsValid() {
		p.Peer, p.PeerNote = r.Controller, ControllerNote
	}
	bare := func() Packet {
		pkt := Packet{Dir: p.Dir, Proto: p.Proto, Port: p.Port, SPort: p.SPort, Notes: map[string]string{}}
		if r.Addressing != nil {
			pkt.Local = r.Addressing.Local()
		}
		own, dev := &pkt.Dst, &pkt.Iif
		peer, ownKey, peerKey, devKey := &pkt.Src, "dst", "src", "iif"
		if p.Dir == "out" {
			own, dev, peer, ownKey, peerKey, devKey = &pkt.Src, &pkt.Oif, &pkt.Dst, "src", "dst", "oif"
		}
		*own, *dev, *peer = p.Addr, p.Iface, p.Peer
		note := func(key string, set bool, why string) {
			if set {
				pkt.Notes[key] = why
			}
		}
		note(ownKey, p.Addr.IsValid(), "given")
		note(devKey, p.Iface != "", "given")
		note(peerKey, p.Peer.IsValid(), p.PeerNote)
		if pkt.Notes[peerKey] == "" && p.Peer.IsValid() {
			pkt.Notes[peerKey] = "given"
		}
		return pkt
	}
	if !p.Peer.IsValid() || r.Addressing == nil {
		return bare(), nil
	}
	var route Route
	switch {
	case p.Peer == r.Controller && r.ControllerRoute != nil:
		route = *r.ControllerRoute
	case routeTo == nil:
		return bare(), nil
	default:
		var err error
		route, err = routeTo(p.Peer)
		switch {
		case errors.Is(err, ErrNoRoute):
			return bare(), nil
		case err != nil:
			return Packet{}, fmt.Errorf("route to %s: %w", p.Peer, err)
		}
	}
	return r.Addressing.Packet(route, p), nil
}
