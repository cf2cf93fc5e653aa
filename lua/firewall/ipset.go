package firewall

import (
	"fmt"
	"net/netip"
	"strings"
)

// ReadIpsetSave reads the output of `ipset save` and puts each set into
// every iptables table of its family, where `-m set --match-set` finds it.
// Sets of pairs (hash:ip,port and the like) are kept as Opaque.
func ReadIpsetSave(rs *Ruleset, out []byte) error {
	sets := map[string]*Set{}
	family := map[string]string{}
	for n, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "create":
			sets[f[1]] = &Set{Name: f[1], Type: f[2], Opaque: strings.Contains(f[2], ",")}
			family[f[1]] = "ip"
			if strings.Contains(line, " family inet6") {
				family[f[1]] = "ip6"
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
			if t.Family == family[name] {
				t.Sets = mapWith(t.Sets, name, s)
			}
		}
	}
	return nil
}

func (s *Set) addIpsetElement(e string) {
	if s.Opaque {
		return
	}
	if p, err := netip.ParsePrefix(e); err == nil {
		s.Prefixes = append(s.Prefixes, p)
	} else if a, err := netip.ParseAddr(e); err == nil {
		s.Prefixes = append(s.Prefixes, netip.PrefixFrom(a, a.BitLen()))
	} else if lo, hi, ok := strings.Cut(e, "-"); ok && addrRange(lo, hi).ok {
		s.Prefixes = append(s.Prefixes, addrRange(lo, hi).prefixes...)
	} else {
		s.Opaque = true
	}
}
