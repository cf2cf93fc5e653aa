package firewall

import (
	"fmt"
	"net/netip"
	"strings"
)

// ReadIpsetSave reads the output of `ipset save` and puts each set into
// every iptables table of its family, where `-m set --match-set` finds it.
// Sets of addresses, ports and pairs of those (hash:ip,port, hash:net,port,
// hash:net,iface) are read; a set with a timeout is dynamic. Other types
// are kept as Opaque.
func ReadIpsetSave(rs *Ruleset, out []byte) error {
	sets := map[string]*Set{}
	family := map[string]string{}
	for n, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "create":
			s := &Set{Name: f[1], Type: f[2], Dynamic: strings.Contains(line, " timeout ")}
			s.Opaque = ipsetDims(f[2]) == nil
			sets[f[1]] = s
			family[f[1]] = "ip"
			if strings.Contains(line, " family inet6") {
				family[f[1]] = "ip6"
			}
			if strings.HasPrefix(f[2], "bitmap:port") {
				family[f[1]] = "" // ports: any family
			}
		case len(f) >= 3 && f[0] == "add":
			s := sets[f[1]]
			if s == nil {
				return fmt.Errorf("ipset save line %d: element of undeclared set %s", n+1, f[1])
			}
			s.addIpsetElement(f[2])
		}
	}
	for name, s := range sets {
		for _, t := range rs.Tables {
			if t.Iptables && (family[name] == "" || t.Family == family[name]) {
				t.Sets = mapWith(t.Sets, name, s)
			}
		}
	}
	return nil
}

// ipsetDims names what each part of a set type's elements is: "ip" for an
// address or network, "port", "iface"; nil for a type the model does not
// read. A set the planner adds for a rule it proves carries nft's type.
func ipsetDims(typ string) []string {
	switch typ {
	case "ipv4_addr", "ipv6_addr":
		return []string{"ip"}
	}
	_, parts, ok := strings.Cut(typ, ":")
	if !ok {
		return nil
	}
	var dims []string
	for _, p := range strings.Split(parts, ",") {
		switch p {
		case "ip", "net":
			dims = append(dims, "ip")
		case "port", "iface":
			dims = append(dims, p)
		default:
			return nil
		}
	}
	return dims
}

func (s *Set) addIpsetElement(e string) {
	if s.Opaque {
		return
	}
	dims := ipsetDims(s.Type)
	parts := strings.Split(e, ",")
	if len(parts) != len(dims) {
		s.Opaque = true
		return
	}
	var tuple []Value
	for i, d := range dims {
		v, ok := ipsetValue(d, parts[i])
		if !ok {
			s.Opaque = true
			return
		}
		tuple = append(tuple, v)
	}
	if len(tuple) > 1 {
		s.Tuples = append(s.Tuples, tuple)
		return
	}
	s.Prefixes = append(s.Prefixes, tuple[0].Prefixes...)
	s.Ports = append(s.Ports, tuple[0].Ports...)
}

// ipsetValue reads one part of an element: an address, network or range;
// a port as "tcp:80", "80" (TCP) or a range; an interface name.
func ipsetValue(dim, s string) (Value, bool) {
	switch dim {
	case "ip":
		if p, err := netip.ParsePrefix(s); err == nil {
			return Value{Prefixes: []netip.Prefix{p.Masked()}}, true
		}
		if a, err := netip.ParseAddr(s); err == nil {
			return Value{Prefixes: []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}}, true
		}
		if lo, hi, ok := strings.Cut(s, "-"); ok && addrRange(lo, hi).ok {
			return Value{Prefixes: addrRange(lo, hi).prefixes}, true
		}
	case "port":
		proto, port, ok := strings.Cut(s, ":")
		if !ok {
			proto, port = "tcp", s
		}
		if r, err := parsePortRange(port, "-"); err == nil {
			return Value{Ports: []PortRange{r}, Names: []string{proto}}, true
		}
	case "iface":
		return Value{Names: []string{s}}, true
	}
	return Value{}, false
}

// ipsetKey is how a SET target's key is remembered, by direction, for a
// later lookup of the same set by the same directions.
func ipsetKey(dirs []string) []Field {
	var out []Field
	for _, d := range dirs {
		out = append(out, Field(d))
	}
	return out
}

// ipsetFields says which of the packet's fields each part of set s
// names, given a rule's directions ("src", "dst").
func ipsetFields(s *Set, dirs []string) ([]Field, bool) {
	dims := ipsetDims(s.Type)
	if dims == nil || len(dirs) < len(dims) {
		return nil, false
	}
	var out []Field
	for i, d := range dims {
		src := dirs[i] == "src"
		switch d {
		case "ip":
			out = append(out, map[bool]Field{true: SAddr, false: DAddr}[src])
		case "port":
			out = append(out, map[bool]Field{true: SPort, false: DPort}[src])
		case "iface":
			out = append(out, map[bool]Field{true: IIf, false: OIf}[src])
		}
	}
	return out, true
}
