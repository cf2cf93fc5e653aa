package firewall

import (
	"fmt"
	"net/netip"
	"strings"
)

// Ruleset is every table the kernel holds, whichever tool wrote it.
type Ruleset struct {
	Tables []*Table
}

// Table is an nftables table, or an iptables table in one family.
type Table struct {
	Family string // ip, ip6, inet, arp, bridge, netdev
	Name   string
	Chains []*Chain
	Sets   map[string]*Set
	// Iptables marks a table read from iptables-save: iptables changes
	// it, by rule position, whatever else governs the host.
	Iptables bool
	// Origin is the tool whose table this is: Nftables, IptablesNft or
	// IptablesLegacy; "" when the reader could not tell.
	Origin string
	// Incompatible marks an iptables-nft-save table that says it cannot
	// show all of the kernel's table of that name: nftables' own.
	Incompatible bool
}

// Chain is a base chain (Hook set) or a regular chain reached by jump/goto.
type Chain struct {
	Name     string
	Type     string // filter, nat, route; "" for a regular chain
	Hook     string // ingress, prerouting, input, forward, output, postrouting; "" for a regular chain
	Priority int
	Policy   string // accept or drop; base chains only
	// Device is the device a netdev (or inet ingress) chain is bound to;
	// "" when the listing does not say (nft 1.0.6's JSON does not).
	Device string
	Rules  []*Rule
}

// Rule is one rule: every match must hold for its action to apply.
type Rule struct {
	Handle  int // nftables handle; for iptables the 1-based position in the chain
	Matches []Match
	// Effects change the packet or its connection for the rules after
	// this one (a mark set, notrack, an element added to a set), in order,
	// once every match holds.
	Effects []Effect
	Action  Action
	Comment string
	Text    string // the rule as its tool prints it
}

// ActionKind is what a matching rule does with the packet.
type ActionKind string

// The actions the verdict engine understands. Continue is a rule without a
// verdict (a counter, a log); Unknown is a verdict the engine cannot follow
// (a queue without bypass, an xt target). DNat rewrites the destination
// (dnat, redirect) and SNat the source (snat, masquerade); both end their
// chain as an accept would. Queue hands the packet to a program; with
// Bypass it passes when no program listens. Forward is where a path ends
// when destination NAT sends the packet to another host.
const (
	Continue ActionKind = "continue"
	Accept   ActionKind = "accept"
	Drop     ActionKind = "drop"
	Reject   ActionKind = "reject"
	Jump     ActionKind = "jump"
	Goto     ActionKind = "goto"
	Return   ActionKind = "return"
	DNat     ActionKind = "dnat"
	SNat     ActionKind = "snat"
	Queue    ActionKind = "queue"
	Forward  ActionKind = "forward"
	Unknown  ActionKind = "unknown"
)

// Action is a rule's verdict; Target names the chain of a jump or goto, or
// the raw statement of an Unknown action.
type Action struct {
	Kind   ActionKind
	Target string
	NAT    NAT  // DNat only
	Bypass bool // Queue only
	Reset  bool // Reject only: a TCP reset, not an ICMP error
}

// NAT is where destination NAT sends a packet. Redirect sends it to the
// host itself (the arrival interface's address); Addr unset keeps the
// address; Ports unset keeps the port.
type NAT struct {
	Redirect bool
	Addr     netip.Addr
	Ports    PortRange
}

// EffectKind is what a non-terminal statement changes.
type EffectKind string

// The effects the verdict engine follows: marks (Mark, CtMark: new =
// (old & And) ^ Xor, or with Copy the other mark's value & And; Unknown
// when the model cannot compute it), NoTrack (the connection is untracked:
// no ct state new, no NAT), SetAdd (the packet's key is added to a named
// set, which later rules then find). NoEffect changes nothing a match the
// model reads depends on (a priority, nftrace, a DSCP rewrite).
const (
	Mark     EffectKind = "mark"
	CtMark   EffectKind = "ctmark"
	NoTrack  EffectKind = "notrack"
	SetAdd   EffectKind = "setadd"
	NoEffect EffectKind = "none"
)

// Effect is one state change a rule makes.
type Effect struct {
	Kind     EffectKind
	And, Xor uint32
	Copy     bool // Mark = CtMark's value or CtMark = Mark's, masked with And
	Unknown  bool // the value cannot be computed
	Set      string
	Key      []Field // SetAdd: the key's fields
	Text     string
}

// Field is what a match looks at.
type Field string

// The fields a match can test. SrcType and DstType are address types
// (local, unicast, broadcast, ...). PktType is the link-layer class (host,
// broadcast, multicast); TCPFlags, MarkField, CtMarkField, Length, HdrLen,
// TTL, FragOff and DSCP are numbers (Nums, under Mask); CtStatus names
// conntrack status bits; SockUID and SockGID are the local socket's owner;
// PayloadStr is a string in the packet (-m string); TimeField is when it
// comes (meta time, hour, day; -m time), which the model does not decide;
// Concat is a concatenation of Key's fields looked up in Set or Tuples;
// IPSetField looks the packet up in the ipset Set by the directions in
// Names ("src", "dst"), as the set's type says; RecentField holds when the
// source is in the recent list Set (Nums: the hit count it needs).
// Assumed is a match whose outcome follows from what a probe packet is (a
// new, unicast connection with a valid reverse path, a single connection
// under any rate limit): Holds is its outcome and Why says so. Opaque is
// one the model does not understand.
const (
	Proto       Field = "proto"
	SPort       Field = "sport"
	DPort       Field = "dport"
	SAddr       Field = "saddr"
	DAddr       Field = "daddr"
	IIf         Field = "iif"
	OIf         Field = "oif"
	CTState     Field = "ctstate"
	CtStatus    Field = "ctstatus"
	NFProto     Field = "nfproto"
	SrcType     Field = "srctype"
	DstType     Field = "dsttype"
	PktType     Field = "pkttype"
	TCPFlags    Field = "tcpflags"
	MarkField   Field = "mark"
	CtMarkField Field = "ctmark"
	Length      Field = "length"
	HdrLen      Field = "hdrlength"
	TTL         Field = "ttl"
	FragOff     Field = "frag-off"
	DSCP        Field = "dscp"
	TCPMSS      Field = "tcpmss"
	SockUID     Field = "skuid"
	SockGID     Field = "skgid"
	PayloadStr  Field = "string"
	TimeField   Field = "time"
	Concat      Field = "concat"
	IPSetField  Field = "ipset"
	RecentField Field = "recent"
	Assumed     Field = "assumed"
	Choice      Field = "choice"
	Transparent Field = "tproxy"
	Opaque      Field = "unknown"
)

// Match is one condition of a rule. Which value fields are set depends on
// Field: Protos for Proto, Ports for SPort/DPort, Prefixes for SAddr/DAddr,
// Names for the others (interfaces, states, address types, "ipv4"). Set names a named set holding the
// values instead. Text is the match as its tool prints it.
type Match struct {
	Field    Field
	Negate   bool
	Family   string // ip or ip6 for an address match bound to one family
	Protos   []string
	Ports    []PortRange
	Prefixes []netip.Prefix
	Names    []string
	Nums     []NumRange // numeric fields
	Mask     uint32     // numeric fields: compare value & Mask; 0 for no mask
	AnyBit   bool       // numeric fields: holds when value & Nums[0].Lo != 0 (nft's "tcp flags syn")
	Set      string
	Key      []Field   // Concat: the fields, in order
	Tuples   [][]Value // Concat: the values, when not in Set
	Holds    bool      // Assumed only: the outcome for a probe packet
	Why      string    // Assumed: what about the probe decides it; Choice: what picks

	Text string
}

// NumRange is an inclusive range of a numeric field's values.
type NumRange struct {
	Lo, Hi uint32
}

// Value is one part of a concatenated set element: ports, prefixes or
// names, like a match's values.
type Value struct {
	Ports    []PortRange
	Prefixes []netip.Prefix
	Names    []string
}

// PortRange is an inclusive range of ports; a single port has Lo == Hi.
type PortRange struct {
	Lo, Hi uint16
}

// Set is a named nftables set or map, or an ipset.
type Set struct {
	Name     string
	Type     string // ipv4_addr, ipv6_addr, inet_service, ifname, ...; "a . b" for a concatenation
	Ports    []PortRange
	Prefixes []netip.Prefix
	Names    []string
	Nums     []NumRange
	Tuples   [][]Value // a concatenation's elements
	// Verdicts are a verdict map's elements, in the order listed: the
	// key (one value, or a tuple) and the action.
	Verdicts []MapEntry
	// Dynamic sets change as packets pass (a timeout, "flags dynamic",
	// a rule that adds to them): their elements are as of the read.
	Dynamic bool
	Opaque  bool // holds elements the model cannot read
}

// MapEntry is one element of a verdict map.
type MapEntry struct {
	Key    []Value
	Action Action
}

// String renders the range as nft and iptables both accept it.
func (p PortRange) String() string {
	if p.Lo == p.Hi {
		return fmt.Sprint(p.Lo)
	}
	return fmt.Sprintf("%d-%d", p.Lo, p.Hi)
}

// Contains reports whether port is in the range.
func (p PortRange) Contains(port int) bool {
	return port >= int(p.Lo) && port <= int(p.Hi)
}

// Base reports whether the chain is attached to a hook.
func (c *Chain) Base() bool { return c.Hook != "" }

// Chain returns the table's chain called name, or nil.
func (t *Table) Chain(name string) *Chain {
	for _, c := range t.Chains {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Table returns the ruleset's table, or nil.
func (rs *Ruleset) Table(family, name string) *Table {
	for _, t := range rs.Tables {
		if t.Family == family && t.Name == name {
			return t
		}
	}
	return nil
}

// qualified names a chain the way nft does: "inet filter input".
func qualified(t *Table, c *Chain) string {
	return strings.Join([]string{t.Family, t.Name, c.Name}, " ")
}
