package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
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

// ephemeral is Linux's default range of source ports a client picks from
// (net.ipv4.ip_local_port_range).
var ephemeral = NumRange{32768, 60999}

// The assumptions a verdict may rest on, named in its reason.
const (
	assumeNew      = "a new connection (ct state new)"
	assumeSYN      = "a first SYN (tcp flags syn)"
	assumeHost     = "a unicast packet to this host (pkttype host)"
	assumeEphem    = "an ephemeral client port (32768-60999), not one of the few a rule names"
	assumeUnmarked = "the packet arrives unmarked (mark 0, ct mark 0)"
	assumeNoSocket = "no local socket owns an incoming packet"
)

// rule reports whether every match of r holds, and when that is undecided,
// the first match that leaves it so. The assumptions the matches it looked
// at rest on go into st.
func (e *engine) rule(t *Table, r *Rule, st *state) (tri, string) {
	result, why := yes, ""
	for _, m := range r.Matches {
		v, assumed := e.match(t, m, st)
		if assumed != "" {
			st.assume(assumed)
		}
		switch v {
		case no:
			return no, ""
		case maybe:
			if result == yes {
				result, why = maybe, describeMatch(m)+": "+e.decidedBy(m)
			}
		}
	}
	return result, why
}

// describeMatch prints a match as its tool printed it, when the reader
// kept that, else in nft syntax.
func describeMatch(m Match) string {
	if m.Text != "" {
		return m.Text
	}
	return m.nft()
}

// decidedBy says what would decide an undecided match.
func (e *engine) decidedBy(m Match) string {
	switch m.Field {
	case DPort:
		if e.reply {
			return "depends on the client's ephemeral port"
		}
		return "depends on the destination port"
	case TimeField:
		return "depends on when the packet comes (time of day, day, date)"
	case Choice:
		return "depends on which value " + m.Why + " picks for this connection"
	case Transparent:
		return "depends on whether a transparent proxy listens on " + m.Why + " (it takes the connection; with none the rule goes no further)"
	case IIf:
		return "depends on the arrival interface"
	case OIf:
		return "depends on the output interface"
	case SAddr:
		return "depends on the source address"
	case DAddr:
		return "depends on the destination address"
	case SPort:
		return "depends on the source port, an ephemeral one unless the probe gives it"
	case MarkField, CtMarkField:
		return "depends on a mark the model cannot compute"
	case SockUID, SockGID:
		return "depends on the local socket's owner (the sending program's user)"
	case PayloadStr:
		return "depends on the datagram's payload"
	case Concat:
		return "depends on the packet's " + joinFields(m.Key)
	case Length:
		return "depends on the packet's size"
	case TCPMSS:
		return "depends on the MSS option of the client's SYN (assumed " + synMSS.String() + ")"
	}
	if m.Set != "" {
		return "set @" + m.Set + " is not readable"
	}
	return "the model cannot read this match"
}

func joinFields(fs []Field) string {
	var s []string
	for _, f := range fs {
		s = append(s, string(f))
	}
	return strings.Join(s, " . ")
}

func (e *engine) match(t *Table, m Match, st *state) (tri, string) {
	if m.Family != "" && (m.Family == "ip6") != e.pkt.IPv6 {
		// "ip saddr" in an inet table implies an IPv4 packet, negated or not.
		return no, ""
	}
	if (m.Field == SockUID || m.Field == SockGID) && e.pkt.Dir == "in" {
		// No socket is attached to an incoming packet yet: the match
		// fails, negated or not.
		return no, assumeNoSocket
	}
	v, assumed := e.test(t, m, st)
	if m.Negate && v != maybe {
		return 1 - v, assumed
	}
	return v, assumed
}

// addedBy says who added a packet's key to a set: an earlier rule, or
// for an answer, the first packet on its way (the element is keyed the
// other way round).
func (e *engine) addedBy() string {
	if e.carried != "" {
		return "an earlier rule, or the first packet on its way,"
	}
	return "an earlier rule"
}

func (e *engine) test(t *Table, m Match, st *state) (tri, string) {
	switch m.Field {
	case RecentField:
		return e.recent(m, st)
	case IPSetField:
		return e.ipset(t, m, st)
	}
	var s *Set
	if m.Set != "" {
		if s = t.Sets[m.Set]; s == nil || s.Opaque {
			return maybe, ""
		}
		if st.flow.addedTo(m.Set, m.Key, m.Field) {
			return yes, e.addedBy() + " added it to @" + m.Set
		}
		m = m.withSet(s)
	}
	v, assumed := e.field(m, st)
	if s != nil && s.Dynamic {
		assumed = joinAssumed(assumed, "set @"+s.Name+" as of now (its elements when read, which change as packets pass)")
	}
	return v, assumed
}

// portProtoHolds reports whether an ipset port's protocol is the
// packet's; nft's port values carry only their number.
func portProtoHolds(names []string, proto string) bool {
	for _, n := range names {
		if _, err := strconv.Atoi(n); err != nil && n != proto {
			return false
		}
	}
	return true
}

// recent decides -m recent: a probe's source is in no recent list but one
// this packet was added to on its way, and a single new connection never
// makes more than one hit.
func (e *engine) recent(m Match, st *state) (tri, string) {
	list := strings.TrimPrefix(m.Set, "recent:")
	if len(m.Nums) > 0 && m.Nums[0].Lo > 1 {
		return no, fmt.Sprintf("fewer than %d hits in recent list %s (a single new connection)", m.Nums[0].Lo, list)
	}
	if st.flow.addedTo(m.Set, nil, SAddr) {
		return yes, e.addedBy() + " added it to recent list " + list
	}
	return no, "the source is not in recent list " + list + " (a peer the host has not seen lately)"
}

// ipset decides -m set: the set's type says which of the packet's fields
// each direction names.
func (e *engine) ipset(t *Table, m Match, st *state) (tri, string) {
	s := t.Sets[m.Set]
	if s == nil || s.Opaque {
		return maybe, ""
	}
	if dims := ipsetDims(s.Type); dims != nil && len(m.Names) < len(dims) {
		// The kernel tests (and adds) only with at least as many
		// directions as the set's elements have parts.
		return no, fmt.Sprintf("ipset %s holds %d-part elements, the rule names %d directions: the kernel matches nothing", m.Set, len(dims), len(m.Names))
	}
	if st.flow.addedTo(m.Set, ipsetKey(m.Names), "") {
		return yes, e.addedBy() + " added it to ipset " + m.Set
	}
	fields, ok := ipsetFields(s, m.Names)
	if !ok {
		return maybe, ""
	}
	var v tri
	var assumed string
	if len(fields) == 1 {
		v, assumed = e.field(Match{Field: fields[0], Prefixes: s.Prefixes, Ports: s.Ports, Names: s.Names}, st)
	} else {
		v, assumed = e.concat(Match{Field: Concat, Key: fields, Tuples: s.Tuples}, st)
	}
	if s.Dynamic {
		assumed = joinAssumed(assumed, "ipset "+s.Name+" as of now (its elements when read, which change as packets pass)")
	}
	return v, assumed
}

// withSet takes a named set's elements as the match's values.
func (m Match) withSet(s *Set) Match {
	m.Ports, m.Prefixes, m.Names, m.Protos, m.Nums, m.Tuples = s.Ports, s.Prefixes, s.Names, s.Names, s.Nums, s.Tuples
	return m
}

func joinAssumed(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// field decides a match's field for the probe on this path.
func (e *engine) field(m Match, st *state) (tri, string) {
	p, f := e.pkt, st.flow
	switch m.Field {
	case Proto:
		return truth(slices.ContainsFunc(m.Protos, func(x string) bool { return sameProto(x, p.Proto) })), ""
	case DPort:
		if e.reply && f.port == 0 {
			return ephemeralTri(m.Ports), assumeEphem
		}
		return portTri(m.Ports, NumRange{uint32(f.port), uint32(f.port)}, f.port == 0), ""
	case SPort:
		if p.SPort != 0 {
			return portTri(m.Ports, NumRange{uint32(p.SPort), uint32(p.SPort)}, false), ""
		}
		return ephemeralTri(m.Ports), assumeEphem
	case SAddr:
		return e.addrs(m, p.Src), e.note("src", p.Src)
	case DAddr:
		return e.addrs(m, f.dst), e.note("dst", f.dst)
	case IIf:
		return e.iface(m, p.Iif, "in"), e.note("iif", netip.Addr{})
	case OIf:
		return e.iface(m, p.Oif, "out"), e.note("oif", netip.Addr{})
	case CTState:
		if e.errorOf != "" {
			return truth(slices.Contains(m.Names, "related") || f.dnat && slices.Contains(m.Names, "dnat")), "the " + e.errorOf + " a reject sends belongs to the connection (ct state related)"
		}
		if e.reply {
			return truth(slices.Contains(m.Names, "established") || f.dnat && slices.Contains(m.Names, "dnat")), "its answer belongs to an established connection"
		}
		if f.untracked {
			return truth(slices.Contains(m.Names, "untracked")), "untracked (notrack in the raw table)"
		}
		// iptables' virtual state DNAT holds beside NEW once destination
		// NAT rewrote the connection (firewalld's iptables backend lets
		// forward-ports in by it).
		return truth(slices.Contains(m.Names, "new") || f.dnat && slices.Contains(m.Names, "dnat")), assumeNew
	case CtStatus:
		return truth(f.dnat && slices.Contains(m.Names, "dnat")), assumeNew
	case NFProto:
		return truth(slices.ContainsFunc(m.Names, e.isFamily)), ""
	case SrcType, DstType:
		return e.addrType(m, f), "a unicast packet to a local address"
	case PktType:
		return truth(slices.Contains(m.Names, "host") || slices.Contains(m.Names, "unicast")), assumeHost
	case TCPFlags:
		if e.errorOf != "" {
			return numTri(m, []NumRange{{0x14, 0x14}}), "a reset answering a SYN (tcp flags rst,ack)"
		}
		if e.reply {
			return numTri(m, []NumRange{{0x12, 0x12}}), "its answer is a SYN-ACK"
		}
		return numTri(m, []NumRange{{0x02, 0x02}}), assumeSYN
	case MarkField, CtMarkField:
		return e.markTri(m, f)
	case Length:
		return numTri(m, []NumRange{e.firstLength()}), "a first packet of " + e.firstLength().String() + " bytes"
	case HdrLen:
		return numTri(m, []NumRange{{5, 5}}), ipHeaderWhy
	case TCPMSS:
		if p.Proto != "tcp" {
			return no, ""
		}
		return numTri(m, []NumRange{synMSS}), assumeMSS
	case TTL:
		return numTri(m, []NumRange{{16, 255}}), ipHeaderWhy
	case FragOff:
		return numTri(m, []NumRange{{0, 0}, {0x4000, 0x4000}}), ipHeaderWhy
	case DSCP:
		return numTri(m, []NumRange{{0, 0}}), ipHeaderWhy
	case SockUID, SockGID:
		return e.owner(m)
	case PayloadStr:
		if p.Proto == "tcp" {
			return no, "a SYN and its SYN-ACK carry no payload to find a string in"
		}
		return maybe, ""
	case Concat:
		return e.concat(m, st)
	case Assumed:
		return truth(m.Holds), m.Why
	case Choice:
		return maybe, ""
	case Transparent:
		if e.reply || e.errorOf != "" {
			return yes, "a packet of an established connection finds its own socket (tproxy)"
		}
		return maybe, ""
	}
	return maybe, ""
}

// note names what a field was taken as, and where from when the probe
// says: "arriving on eth0 (the route to 198.18.0.1 leaves by eth0)".
func (e *engine) note(field string, a netip.Addr) string {
	why := e.pkt.Notes[field]
	if why == "" {
		return ""
	}
	switch field {
	case "iif":
		return fmt.Sprintf("arriving on %s (%s)", e.pkt.Iif, why)
	case "oif":
		return fmt.Sprintf("leaving by %s (%s)", e.pkt.Oif, why)
	}
	return fmt.Sprintf("%s %s (%s)", map[string]string{"src": "from", "dst": "to"}[field], a, why)
}

// owner decides meta skuid/skgid and -m owner by the probe's socket owner.
func (e *engine) owner(m Match) (tri, string) {
	o := e.pkt.Owner
	if o == nil {
		return maybe, ""
	}
	id := o.UID
	if m.Field == SockGID {
		id = o.GID
	}
	return truth(slices.Contains(m.Names, strconv.FormatUint(uint64(id), 10))), fmt.Sprintf("a socket owned by uid %d, gid %d", o.UID, o.GID)
}

func (e *engine) isFamily(name string) bool {
	switch name {
	case "ipv4", "ip":
		return !e.pkt.IPv6
	case "ipv6", "ip6":
		return e.pkt.IPv6
	}
	return false
}

// synMSS is the MSS option a SYN or SYN-ACK carries: Linux and every
// common stack send one, the path MTU less 40 bytes (IPv4) or 60 (IPv6),
// from 536 (the minimum of 576) to 8960 (jumbo frames of 9000).
var synMSS = NumRange{536, 8960}

const assumeMSS = "a SYN with an MSS option of 536-8960 (an MTU from 576 to 9000)"

// firstLength is the IP length of a probe's first packet: a SYN with the
// usual options, or a datagram of any size.
func (e *engine) firstLength() NumRange {
	base := uint32(20)
	if e.pkt.IPv6 {
		base = 40
	}
	if e.pkt.Proto == "tcp" {
		return NumRange{base + 20, base + 60}
	}
	return NumRange{base + 8, 1500}
}

func (r NumRange) String() string {
	if r.Lo == r.Hi {
		return fmt.Sprint(r.Lo)
	}
	return fmt.Sprintf("%d-%d", r.Lo, r.Hi)
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

// portTri decides whether a port in probe (a single port, or the range a
// client picks from) is among ranges.
func portTri(ranges []PortRange, probe NumRange, unset bool) tri {
	if unset {
		return maybe
	}
	return rangeTri(portsAsNums(ranges), probe)
}

// ephemeralTri decides a port match for a port the client picks from the
// ephemeral range: yes when the ranges hold all of it; no when they hold
// no more than a few of its ports, which a client is taken not to have
// picked; maybe otherwise.
func ephemeralTri(ranges []PortRange) tri {
	if t := rangeTri(portsAsNums(ranges), ephemeral); t != maybe {
		return t
	}
	held := 0
	for _, r := range ranges {
		lo, hi := max(uint32(r.Lo), ephemeral.Lo), min(uint32(r.Hi), ephemeral.Hi)
		if lo <= hi {
			held += int(hi - lo + 1)
		}
	}
	if held*100 < int(ephemeral.Hi-ephemeral.Lo+1) {
		return no
	}
	return maybe
}

// rangeTri is yes when every value of probe is in one of ranges, no when
// none is, maybe otherwise.
func rangeTri(ranges []NumRange, probe NumRange) tri {
	overlap := false
	for _, r := range ranges {
		if r.Lo <= probe.Lo && probe.Hi <= r.Hi {
			return yes
		}
		overlap = overlap || (r.Lo <= probe.Hi && probe.Lo <= r.Hi)
	}
	if overlap {
		return maybe
	}
	return no
}

// numTri decides a numeric match for a field that takes one of values:
// masked when the match has a mask, "any bit set" for nft's flag match.
func numTri(m Match, values []NumRange) tri {
	var out []tri
	for _, v := range values {
		if m.Mask == 0 && !m.AnyBit {
			out = append(out, rangeTri(m.Nums, v))
			continue
		}
		if v.Hi-v.Lo > 255 {
			return maybe
		}
		for x := v.Lo; x <= v.Hi; x++ {
			out = append(out, numHolds(m, x))
		}
	}
	return allSame(out)
}

func numHolds(m Match, x uint32) tri {
	if m.Mask != 0 {
		x &= m.Mask
	}
	if m.AnyBit {
		return truth(x&m.Nums[0].Lo != 0)
	}
	return rangeTri(m.Nums, NumRange{x, x})
}

func allSame(ts []tri) tri {
	if len(ts) == 0 {
		return no
	}
	for _, t := range ts[1:] {
		if t != ts[0] {
			return maybe
		}
	}
	return ts[0]
}

func (e *engine) markTri(m Match, f flow) (tri, string) {
	v, unknown := f.mark, f.markUnknown
	if m.Field == CtMarkField {
		v, unknown = f.ctmark, f.ctmarkUnknown
	}
	if unknown {
		return maybe, ""
	}
	assumed := ""
	if !f.marked {
		assumed = assumeUnmarked
	}
	return numTri(m, []NumRange{{v, v}}), assumed
}

func (e *engine) addrs(m Match, a netip.Addr) tri {
	prefixes := m.Prefixes
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

// addrType decides address-type matches (fib ... type, -m addrtype): the
// kernel's route type of the address. The host's own addresses are
// "local", a remote peer's "unicast"; an end the probe leaves unset is the
// host's own end or the peer's.
func (e *engine) addrType(m Match, f flow) tri {
	a := f.dst
	if m.Field == SrcType {
		a = e.pkt.Src
	}
	local, known := e.local(a)
	if !a.IsValid() {
		local, known = (m.Field == DstType) == (e.pkt.Dir == "in"), true
	}
	if !known {
		return maybe
	}
	want := "unicast"
	if local {
		want = "local"
	}
	return truth(slices.ContainsFunc(m.Names, func(n string) bool { return strings.ToLower(n) == want }))
}

// local reports whether a is one of the host's addresses: known for
// loopback, the probe's own end and its peer, and any address once the
// probe lists the host's addresses.
func (e *engine) local(a netip.Addr) (local, known bool) {
	own, peer := e.pkt.Dst, e.pkt.Src
	if e.pkt.Dir == "out" {
		own, peer = peer, own
	}
	switch {
	case a.IsLoopback(), slices.Contains(e.pkt.Local, a), own.IsValid() && a == own:
		return true, true
	case len(e.pkt.Local) > 0, peer.IsValid() && a == peer:
		return false, true
	}
	return false, false
}

// concat decides a concatenation: the packet's tuple is in one of the
// match's tuples when every part is.
func (e *engine) concat(m Match, st *state) (tri, string) {
	result := no
	var assumed string
	for _, tuple := range m.Tuples {
		if len(tuple) != len(m.Key) {
			return maybe, ""
		}
		all := yes
		for i, f := range m.Key {
			v := tuple[i]
			part := Match{Field: f, Ports: v.Ports, Prefixes: v.Prefixes, Names: v.Names, Protos: v.Names, Nums: portsAsNums(v.Ports)}
			t, a := e.field(part, st)
			if (f == DPort || f == SPort) && !portProtoHolds(v.Names, e.pkt.Proto) {
				t = no // an ipset port names its protocol: "udp:53"
			}
			if a != "" && !strings.Contains(assumed, a) {
				assumed = joinAssumed(assumed, a)
			}
			if t == no {
				all = no
				break
			}
			if t == maybe {
				all = maybe
			}
		}
		if all == yes {
			return yes, assumed
		}
		if all == maybe {
			result = maybe
		}
	}
	return result, assumed
}
