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
}

// Chain is a base chain (Hook set) or a regular chain reached by jump/goto.
type Chain struct {
	Name     string
	Type     string // filter, nat, route; "" for a regular chain
	Hook     string // ingress, prerouting, input, forward, output, postrouting; "" for a regular chain
	Priority int
	Policy   string // accept or drop; base chains only
	Rules    []*Rule
}

// Rule is one rule: every match must hold for its action to apply.
type Rule struct {
	Handle  int // nftables handle; for iptables the 1-based position in the chain
	Matches []Match
	Action  Action
	Comment string
	Text    string // the rule as its tool prints it
}

// ActionKind is what a matching rule does with the packet.
type ActionKind string

// The actions the verdict engine understands. Continue is a rule without a
// verdict (a counter, a log); Unknown is a verdict the engine cannot follow
// (queue, a vmap over a named map, an xt target).
const (
	Continue ActionKind = "continue"
	Accept   ActionKind = "accept"
	Drop     ActionKind = "drop"
	Reject   ActionKind = "reject"
	Jump     ActionKind = "jump"
	Goto     ActionKind = "goto"
	Return   ActionKind = "return"
	Unknown  ActionKind = "unknown"
)

// Action is a rule's verdict; Target names the chain of a jump or goto, or
// the raw statement of an Unknown action.
type Action struct {
	Kind   ActionKind
	Target string
}

// Field is what a match looks at.
type Field string

// The fields a match can test. SrcType and DstType are address types
// (local, unicast, broadcast, ...). Assumed is a match whose outcome
// follows from what a probe packet is (a new, unicast, non-NATed
// connection with a valid reverse path); Opaque is one the model does not
// understand.
const (
	Proto   Field = "proto"
	SPort   Field = "sport"
	DPort   Field = "dport"
	SAddr   Field = "saddr"
	DAddr   Field = "daddr"
	IIf     Field = "iif"
	OIf     Field = "oif"
	CTState Field = "ctstate"
	NFProto Field = "nfproto"
	SrcType Field = "srctype"
	DstType Field = "dsttype"
	Assumed Field = "assumed"
	Opaque  Field = "unknown"
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
	Set      string
	Holds    bool // Assumed only: the outcome for a probe packet
	Text     string
}

// PortRange is an inclusive range of ports; a single port has Lo == Hi.
type PortRange struct {
	Lo, Hi uint16
}

// Set is a named nftables set or an ipset.
type Set struct {
	Name     string
	Type     string // ipv4_addr, ipv6_addr, inet_service, ifname, ...
	Ports    []PortRange
	Prefixes []netip.Prefix
	Names    []string
	Opaque   bool // holds elements the model cannot read (concatenations, maps)
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

// Merge returns rs with each table of over replacing the table of the same
// family and name, and over's other tables added. iptables-nft writes
// tables that `nft -j` shows only as opaque xt expressions, while
// iptables-nft-save prints them exactly: merge the latter over the former.
func Merge(rs, over *Ruleset) *Ruleset {
	out := &Ruleset{}
	for _, t := range rs.Tables {
		if over.Table(t.Family, t.Name) == nil {
			out.Tables = append(out.Tables, t)
		}
	}
	out.Tables = append(out.Tables, over.Tables...)
	return out
}

// qualified names a chain the way nft does: "inet filter input".
func qualified(t *Table, c *Chain) string {
	return strings.Join([]string{t.Family, t.Name, c.Name}, " ")
}
