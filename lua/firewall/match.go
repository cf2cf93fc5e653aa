package firewall

import (
	"net/netip"
	"slices"
	"strings"
)

// tri is a match's outcome for a probe: it may depend on what the probe
// leaves unset, or on something the model does not understand.
type tri int

const (
	no tri = iota
	yes
	maybe
)

// rule reports whether every match of r holds, and when that is undecided,
// the first match that leaves it so.
func (e *engine) rule(t *Table, r *Rule) (tri, string) {
	result, why := yes, ""
	for _, m := range r.Matches {
		switch e.match(t, m) {
		case no:
			return no, ""
		case maybe:
			if result == yes {
				result, why = maybe, m.nft()
			}
		}
	}
	return result, why
}

func (e *engine) match(t *Table, m Match) tri {
	if (m.Field == SAddr || m.Field == DAddr) && m.Family != "" && (m.Family == "ip6") != e.pkt.IPv6 {
		// "ip saddr" in an inet table implies an IPv4 packet, negated or not.
		return no
	}
	v := e.test(t, m)
	if m.Negate && v != maybe {
		return 1 - v
	}
	return v
}

func (e *engine) test(t *Table, m Match) tri {
	if m.Set != "" && m.Field != DPort && m.Field != SPort && m.Field != SAddr && m.Field != DAddr {
		// A named set of names: protocols, interfaces, states.
		s := t.Sets[m.Set]
		if s == nil || s.Opaque {
			return maybe
		}
		m.Names, m.Protos = s.Names, s.Names
	}
	switch m.Field {
	case Proto:
		return truth(slices.ContainsFunc(m.Protos, func(p string) bool { return sameProto(p, e.pkt.Proto) }))
	case DPort:
		return e.ports(t, m, e.pkt.Port)
	case SPort:
		return e.ports(t, m, e.pkt.SPort)
	case SAddr:
		return e.addrs(t, m, e.pkt.Src)
	case DAddr:
		return e.addrs(t, m, e.pkt.Dst)
	case IIf:
		return e.iface(m, e.pkt.Iif, "in")
	case OIf:
		return e.iface(m, e.pkt.Oif, "out")
	case CTState:
		return truth(slices.Contains(m.Names, "new"))
	case NFProto:
		return truth(slices.Contains(m.Names, map[bool]string{false: "ipv4", true: "ipv6"}[e.pkt.IPv6]))
	case SrcType, DstType:
		return e.addrType(m)
	case Assumed:
		return truth(m.Holds)
	}
	return maybe
}

func truth(b bool) tri {
	if b {
		return yes
	}
	return no
}

// protoNumbers maps the numbers iptables and nft may print to names.
var protoNumbers = map[string]string{"6": "tcp", "17": "udp", "132": "sctp", "1": "icmp", "58": "ipv6-icmp"}

func sameProto(rule, pkt string) bool {
	rule = strings.ToLower(rule)
	if n, ok := protoNumbers[rule]; ok {
		rule = n
	}
	return rule == "all" || rule == pkt
}

func (e *engine) ports(t *Table, m Match, port int) tri {
	ranges := m.Ports
	if m.Set != "" {
		s := t.Sets[m.Set]
		if s == nil || s.Opaque {
			return maybe
		}
		ranges = s.Ports
	}
	if port == 0 {
		return maybe
	}
	return truth(slices.ContainsFunc(ranges, func(r PortRange) bool { return r.Contains(port) }))
}

func (e *engine) addrs(t *Table, m Match, a netip.Addr) tri {
	prefixes := m.Prefixes
	if m.Set != "" {
		s := t.Sets[m.Set]
		if s == nil || s.Opaque {
			return maybe
		}
		prefixes = s.Prefixes
	}
	if !a.IsValid() {
		sameFamily := func(p netip.Prefix) bool { return p.Addr().Is6() == e.pkt.IPv6 }
		switch {
		case slices.ContainsFunc(prefixes, func(p netip.Prefix) bool { return sameFamily(p) && p.Bits() == 0 }):
			return yes
		case !slices.ContainsFunc(prefixes, sameFamily):
			return no // an empty set, or addresses of the other family only
		}
		return maybe
	}
	return truth(slices.ContainsFunc(prefixes, func(p netip.Prefix) bool { return p.Contains(a) }))
}

// iface decides interface matches. A probe in comes from outside, so not
// on loopback, and has no output interface yet; a probe out is the
// reverse. Other names depend on the interface, unless the probe names it.
func (e *engine) iface(m Match, name, dir string) tri {
	if e.pkt.Dir != dir {
		return no
	}
	if name != "" {
		return truth(slices.ContainsFunc(m.Names, func(n string) bool { return ifaceMatches(n, name) }))
	}
	if !slices.ContainsFunc(m.Names, func(n string) bool { return !ifaceMatches(n, "lo") }) {
		return no
	}
	return maybe
}

// ifaceMatches compares an interface pattern; iptables ends a wildcard
// with "+", nft with "*".
func ifaceMatches(pattern, name string) bool {
	if p, ok := strings.CutSuffix(pattern, "+"); ok {
		return strings.HasPrefix(name, p)
	}
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, p)
	}
	return pattern == name
}

// addrType decides address-type matches: a probe in is unicast to a local
// address, a probe out is from a local address to a unicast one.
func (e *engine) addrType(m Match) tri {
	local := (m.Field == DstType) == (e.pkt.Dir == "in")
	for _, n := range m.Names {
		n = strings.ToLower(n)
		if n == "unicast" || (local && n == "local") {
			return yes
		}
	}
	return no
}
