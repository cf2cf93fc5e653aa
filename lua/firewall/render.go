package firewall

import (
	"fmt"
	"strings"
)

// renderNft prints a rule in nft syntax. Rules the planner builds are
// rendered the same way, so this is also the text handed to `nft add rule`.
func renderNft(r *Rule) string {
	var words []string
	for i := 0; i < len(r.Matches); i++ {
		m := r.Matches[i]
		if next, ok := portAfterProto(r.Matches, i); ok {
			words = append(words, m.Protos[0]+" "+next.nftBody())
			i++
			continue
		}
		words = append(words, m.nft())
	}
	if a := r.Action.nft(); a != "" {
		words = append(words, a)
	}
	if r.Comment != "" {
		words = append(words, "comment "+fmt.Sprintf("%q", r.Comment))
	}
	return strings.Join(words, " ")
}

// portAfterProto reports a port match right after a plain single-protocol
// match, so the pair renders as "tcp dport 22".
func portAfterProto(ms []Match, i int) (Match, bool) {
	m := ms[i]
	if m.Field != Proto || m.Negate || m.Family != "" || len(m.Protos) != 1 || i+1 >= len(ms) {
		return Match{}, false
	}
	next := ms[i+1]
	return next, next.Field == DPort || next.Field == SPort
}

func (m Match) nft() string {
	switch m.Field {
	case Opaque, Assumed:
		return m.Text
	case SrcType:
		return "fib saddr type " + m.op() + m.values()
	case DstType:
		return "fib daddr type " + m.op() + m.values()
	case Proto:
		if m.Family == "ip" {
			return "ip protocol " + m.op() + m.values()
		}
		if m.Family == "ip6" {
			return "ip6 nexthdr " + m.op() + m.values()
		}
		return "meta l4proto " + m.op() + m.values()
	case DPort, SPort:
		return "th " + m.nftBody()
	case SAddr, DAddr:
		return m.addrFamily() + " " + m.nftBody()
	}
	key := map[Field]string{IIf: "iifname", OIf: "oifname", CTState: "ct state", NFProto: "meta nfproto"}[m.Field]
	return key + " " + m.op() + m.values()
}

func (m Match) nftBody() string {
	return string(m.Field) + " " + m.op() + m.values()
}

func (m Match) op() string {
	if m.Negate {
		return "!= "
	}
	return ""
}

func (m Match) addrFamily() string {
	if m.Family != "" {
		return m.Family
	}
	if len(m.Prefixes) > 0 && m.Prefixes[0].Addr().Is6() {
		return "ip6"
	}
	return "ip"
}

func (m Match) values() string {
	if m.Set != "" {
		return "@" + m.Set
	}
	var vs []string
	for _, p := range m.Ports {
		vs = append(vs, p.String())
	}
	for _, p := range m.Prefixes {
		if p.Bits() == p.Addr().BitLen() {
			vs = append(vs, p.Addr().String())
		} else {
			vs = append(vs, p.String())
		}
	}
	for _, n := range m.Names {
		if m.Field == IIf || m.Field == OIf {
			n = fmt.Sprintf("%q", n)
		}
		vs = append(vs, n)
	}
	vs = append(vs, m.Protos...)
	if m.Field == CTState {
		return strings.Join(vs, ",")
	}
	if len(vs) == 1 {
		return vs[0]
	}
	return "{ " + strings.Join(vs, ", ") + " }"
}

func (a Action) nft() string {
	switch a.Kind {
	case Jump, Goto:
		return string(a.Kind) + " " + a.Target
	case Continue:
		return ""
	case Unknown:
		return a.Target
	}
	return string(a.Kind)
}
