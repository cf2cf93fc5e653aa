package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Packet is a probe: the whole first packet of a new connection, unicast,
// to a local listener from a peer (dir "in") or from the host to a peer
// (dir "out"). Unset optional fields mean "any": a rule that tests one
// makes the verdict depend on it, and the engine says so. What a probe
// does not carry is assumed and named in the verdict's reason: a first
// SYN (TCP), pkttype host, an ephemeral source port unless SPort is set,
// a plain IP header, no mark.
type Packet struct {
	Dir      string     // "in" (to a local listener) or "out" (to a remote peer)
	Proto    string     // tcp, udp, ...
	Port     int        // destination port
	SPort    int        // source port; 0 for an ephemeral one
	Src, Dst netip.Addr // optional; the family follows from them
	Iif, Oif string     // optional interface names
	IPv6     bool       // the family when neither Src nor Dst is set
	// Local lists the host's own addresses (`ip -j addr`): they decide
	// whether destination NAT keeps the packet on the host, and address
	// types of any address. Without them only the probe's ends are known.
	Local []netip.Addr
	// Owner owns the local socket: the sending program's for a probe
	// out, the listener's for the answer to a probe in (meta skuid,
	// -m owner). nil when unknown.
	Owner *Owner
	// Notes say where the probe's fields came from, for the reason:
	// "iif": "the route to 198.18.0.1 leaves by eth0". Keys: iif, oif,
	// src, dst.
	Notes map[string]string
}

// Owner is a local socket's user and group.
type Owner struct {
	UID, GID uint32
}

// Result is the fate of a probe packet and the rule that decides it.
type Result struct {
	Verdict string `json:"verdict"` // accept, drop, reject, forward or unknown
	Chain   string `json:"chain"`   // "inet filter input"
	Rule    string `json:"rule"`    // the deciding rule's text; "" when the chain's policy decides
	Handle  int    `json:"handle"`  // the rule's nft handle or iptables position; 0 for a policy
	Reason  string `json:"reason"`
	// NAT says how destination NAT rewrote the packet on its way
	// ("redirect to :8080 by ... in ip nat PREROUTING"); Port is the port
	// the packet then reaches. Both are empty when nothing rewrote it.
	NAT  string `json:"nat,omitempty"`
	Port int    `json:"port,omitempty"`
	// Assumed names what the verdict rests on that the probe does not
	// say: "a first SYN (tcp flags syn)".
	Assumed []string `json:"assumed"`
	paths   []outcome
}

// The verdicts a Result can hold. Forward: destination NAT sends the
// packet to another host, so no local listener sees it (a probe in), or
// not the peer (a probe out).
const (
	VerdictAccept  = "accept"
	VerdictDrop    = "drop"
	VerdictReject  = "reject"
	VerdictForward = "forward"
	VerdictUnknown = "unknown"
)

// flow is the packet as one path of evaluation has made it: NAT may have
// rewritten its destination, rules marked it or untracked it, added it to
// sets. It is comparable, so paths that reach the same place with the
// same packet merge.
type flow struct {
	dst                        netip.Addr
	port                       int
	dnat                       bool // a dnat or redirect rewrote it (ct status dnat)
	natAddr                    bool // to an address a dnat named, which may be another host's
	dnatBound, snatBound       bool // a NAT chain of that kind set a binding: the hook's later NAT chains are skipped
	untracked                  bool
	mark, ctmark               uint32
	marked                     bool // a rule set a mark: no longer the arrival state
	markUnknown, ctmarkUnknown bool
	added                      string // "set\tfield,field\n" per element this packet added
	natNote                    string
	rerouted                   bool   // a dnat on the output hook sent it to another host than the peer
	dropWhy                    string // why routing drops it (a martian after destination NAT)
	natTable                   *Table
	natChain                   *Chain
	natIndex                   int
}

// addedTo reports whether this packet added its own key to set name
// earlier on its path, keyed as a lookup of field (or the fields of a
// concatenation) would find it.
func (f flow) addedTo(name string, key []Field, field Field) bool {
	if key == nil {
		key = []Field{field}
	}
	return strings.Contains(f.added, name+"\t"+joinFields(key)+"\n")
}

// state is where a path stands: its packet, the undecided matches it
// followed both ways, the assumptions it used.
type state struct {
	flow      flow
	undecided []string
	assumed   []string
}

func (st *state) assume(a string) {
	for _, part := range strings.Split(a, "; ") {
		if !slices.Contains(st.assumed, part) {
			st.assumed = append(slices.Clip(st.assumed), part)
		}
	}
}

func (st *state) undecide(u string) {
	if len(st.undecided) < maxUndecided && !slices.Contains(st.undecided, u) {
		st.undecided = append(slices.Clip(st.undecided), u)
	}
}

// outcome is one way evaluation can end, given the undecided matches it
// assumed on the way: a verdict and where it was taken (index -1: the
// chain's policy, or falling off its end).
type outcome struct {
	kind  ActionKind
	table *Table
	chain *Chain
	index int
	state
}

// hookOrder lists, per direction, the hooks a locally delivered or locally
// sent packet crosses; forward never sees it.
var hookOrder = map[string][]string{
	"in":  {"ingress", "prerouting", "input"},
	"out": {"output", "postrouting"},
}

// maxSteps bounds the work on rulesets whose undecided matches multiply;
// a path remembers its first maxUndecided undecided matches, enough to
// say what a verdict depends on.
const (
	maxSteps     = 100000
	maxUndecided = 8
)

// conntrackPriority is where conntrack sees a packet on prerouting and
// output: notrack before it untracks the connection, after it does not.
const conntrackPriority = -200

// Verdict evaluates the probe the way the kernel does: every base chain on
// each hook it crosses, in priority order; an accept ends only its own
// chain, a drop or reject is final. Destination NAT in prerouting rewrites
// what the input hook sees; to an address not the host's, the packet is
// forwarded. When a match the engine cannot decide (an unknown match, an
// unset address) lies on the way, both outcomes are followed; the verdict
// is unknown unless they agree.
//
// A TCP connection also needs its answer: when the first packet passes,
// the SYN-ACK that answers it (an established connection, from the port
// the packet reached to the client's port) must pass the other way, or
// the connection never completes.
func Verdict(rs *Ruleset, pkt Packet) Result { return verdict(rs, pkt, nil) }

// verdict is Verdict, telling record (when not nil) each step it takes.
func verdict(rs *Ruleset, pkt Packet, record func(Step)) Result {
	if pkt.Src.IsValid() || pkt.Dst.IsValid() {
		pkt.IPv6 = pkt.Src.Is6() || pkt.Dst.Is6()
	}
	res := (&engine{pkt: pkt, tr: tracer{record: record, packet: "first packet"}}).verdict(rs)
	if res.Verdict == VerdictReject {
		return rejected(rs, pkt, res, record)
	}
	if pkt.Proto != "tcp" || res.Verdict != VerdictAccept {
		return res
	}
	reply := answer(rs, pkt, res, record)
	switch reply.Verdict {
	case VerdictAccept:
		return res
	case VerdictUnknown:
		res.Verdict = VerdictUnknown
		res.Reason = "the first packet passes (" + res.Reason + "), but its answer: " + reply.Reason
	default:
		res.Verdict, res.Chain, res.Rule, res.Handle = VerdictDrop, reply.Chain, reply.Rule, reply.Handle
		res.Reason = fmt.Sprintf("the first packet passes, but the SYN-ACK answering it does not (%s): the connection never completes", reply.Reason)
	}
	res.Assumed = append(res.Assumed, reply.Assumed...)
	return res
}

// rejected follows what a reject sends back, the ICMP error or the TCP
// reset, a conntrack "related" packet of the connection. To a probe in it
// leaves through the host's output and postrouting hooks; for a probe
// out it goes to the host's own socket over lo, through output and then
// input. Where those drop it, the client meets silence, as for a drop (a
// ruleset whose OUTPUT lets only established packets out, or whose INPUT
// forgets lo and related packets).
func rejected(rs *Ruleset, pkt Packet, res Result, record func(Step)) Result {
	reset := false
	for _, p := range res.paths {
		if p.index >= 0 && p.chain != nil && p.chain.Rules[p.index].Action.Reset {
			reset = true
		}
	}
	what := "ICMP error"
	errPkt := replyTo(pkt, res)
	if reset && pkt.Proto == "tcp" {
		what = "TCP reset"
	} else {
		errPkt.SPort, errPkt.Port = 0, 0
		errPkt.Proto = "icmp"
		if pkt.IPv6 {
			errPkt.Proto = "ipv6-icmp"
		}
	}
	legs := []Packet{errPkt}
	if pkt.Dir == "out" {
		// The error is the host's own, sent to its own socket: out on lo,
		// then in on lo.
		local := errPkt
		local.Src, local.Dst = pkt.Src, pkt.Src
		local.Notes = map[string]string{"src": pkt.Notes["src"], "dst": pkt.Notes["src"], "iif": "the host's own packet, over lo", "oif": "the host's own packet, over lo"}
		out, in := local, local
		out.Dir, out.Oif, out.Iif = "out", "lo", ""
		in.Dir, in.Iif, in.Oif = "in", "lo", ""
		legs = []Packet{out, in}
	}
	for _, leg := range legs {
		back := (&engine{pkt: leg, reply: true, errorOf: what, natted: res.NAT != "", tr: tracer{record: record, packet: what}}).verdict(rs)
		res.Assumed = append(res.Assumed, back.Assumed...)
		switch back.Verdict {
		case VerdictAccept:
			continue
		case VerdictUnknown:
			res.Verdict = VerdictUnknown
			res.Reason = fmt.Sprintf("reject or drop: rejected (%s), and whether the %s it sends back gets through: %s", res.Reason, what, back.Reason)
		default:
			res.Verdict = VerdictDrop
			res.Reason = fmt.Sprintf("rejected (%s), but the %s it sends back is stopped (%s): the sender meets silence", res.Reason, what, back.Reason)
		}
		return res
	}
	return res
}

// answer evaluates the SYN-ACK answering pkt, which res let through. The
// elements the first packet added to sets on its way (rawtrack's `SET
// --add-set TEST1 dst,src` in postrouting, say) are in those sets when
// the answer comes, keyed the other way round: its source is the first
// packet's destination. Paths that added different elements each get
// their own answer; the answer is unknown unless they agree.
func answer(rs *Ruleset, pkt Packet, res Result, record func(Step)) Result {
	var reply Result
	seen := map[string]bool{}
	for _, p := range res.paths {
		carried := reversedAdds(p.flow.added)
		if seen[carried] {
			continue
		}
		r := (&engine{pkt: replyTo(pkt, res), reply: true, carried: carried, natted: res.NAT != "", tr: tracer{record: record, packet: "answer"}}).verdict(rs)
		if len(seen) > 0 && r.Verdict != reply.Verdict {
			reply.Reason = fmt.Sprintf("%s or %s, as the elements the first packet added to sets differ between its paths (%s; %s)", reply.Verdict, r.Verdict, reply.Reason, r.Reason)
			reply.Verdict = VerdictUnknown
			return reply
		}
		seen[carried] = true
		reply = r
	}
	return reply
}

// reversedAdds turns the set elements a packet added ("set\tkey\n" lines
// of flow.added) into those its answer would find: source and
// destination swap, in nft's fields and in ipset's directions. An
// element keyed on anything else is left out: the answer cannot be said
// to find it.
func reversedAdds(added string) string {
	swap := map[string]string{"saddr": "daddr", "daddr": "saddr", "sport": "dport", "dport": "sport", "src": "dst", "dst": "src", "proto": "proto"}
	var out strings.Builder
	for _, line := range strings.SplitAfter(added, "\n") {
		set, key, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		if !ok {
			continue
		}
		parts := strings.Split(key, " . ")
		for i, f := range parts {
			parts[i] = swap[f]
		}
		if !slices.Contains(parts, "") {
			out.WriteString(set + "\t" + strings.Join(parts, " . ") + "\n")
		}
	}
	return out.String()
}

// replyTo is the SYN-ACK that answers pkt, which res let through: from
// the address and port it reached, back to the client's.
func replyTo(pkt Packet, res Result) Packet {
	r := pkt
	r.Dir = map[string]string{"in": "out", "out": "in"}[pkt.Dir]
	r.Src, r.Dst, r.Iif, r.Oif = pkt.Dst, pkt.Src, pkt.Oif, pkt.Iif
	r.Port, r.SPort = pkt.SPort, pkt.Port
	if res.NAT != "" {
		r.SPort = res.Port
	}
	r.Notes = map[string]string{"src": pkt.Notes["dst"], "dst": pkt.Notes["src"], "iif": pkt.Notes["oif"], "oif": pkt.Notes["iif"]}
	return r
}

// verdict runs the probe through every hook it crosses.
func (e *engine) verdict(rs *Ruleset) Result {
	pkt := e.pkt
	start := outcome{kind: Accept, index: -1}
	start.flow = flow{dst: pkt.Dst, port: pkt.Port, added: e.carried, dnat: e.natted}
	paths := []outcome{start}
	for _, hook := range hookOrder[pkt.Dir] {
		e.tr.hook = hook
		if hook == "input" {
			paths = e.route(paths)
		}
		for _, bc := range baseChains(rs, pkt, hook) {
			var next []outcome
			for _, p := range paths {
				if p.kind != Accept {
					next = append(next, p)
					continue
				}
				if why := e.skipNAT(bc.chain, p.flow); why != "" {
					e.tr.skip(bc.table, bc.chain, why)
					next = append(next, p)
					continue
				}
				next = append(next, e.base(bc.table, bc.chain, p)...)
			}
			paths = dedupe(next)
		}
	}
	if e.steps > maxSteps {
		return Result{Verdict: VerdictUnknown, Reason: "too many undecidable matches to follow"}
	}
	if pkt.Dir == "out" {
		paths = e.reroute(paths)
	}
	return summarize(paths)
}

// reroute is the routing decision destination NAT on the output hook
// forces: a packet the host sends to its peer that a dnat rewrote to
// another host's address goes to that host, never to the peer (kube-proxy
// sends a connection to a NodePort of the cluster's to one of its pods).
// A redirect, or a dnat to one of the host's own addresses, delivers it
// to the host itself: a listener there answers, as the NAT note says.
func (e *engine) reroute(paths []outcome) []outcome {
	out := paths[:0:0]
	for _, p := range paths {
		if p.kind != Accept || !p.flow.dnat || !p.flow.natAddr || p.flow.dst == e.pkt.Dst {
			out = append(out, p)
			continue
		}
		local, known := e.local(p.flow.dst)
		away := p
		away.kind, away.table, away.chain, away.index = Forward, p.flow.natTable, p.flow.natChain, p.flow.natIndex
		away.flow.rerouted = true
		switch {
		case !known:
			p.undecide(fmt.Sprintf("%s: whether %s is one of the host's addresses", p.flow.natNote, p.flow.dst))
			away.undecided = p.undecided
			out = append(out, p, away)
		case !local:
			e.tr.note(fmt.Sprintf("routing: %s is another host's address: the packet goes there, not to %s", p.flow.dst, e.pkt.Dst))
			out = append(out, away)
		default:
			out = append(out, p)
		}
	}
	return out
}

// martian follows a packet from outside that destination NAT sent to a
// loopback address.
func (e *engine) martian(p outcome) []outcome {
	drop := p
	drop.kind, drop.table, drop.chain, drop.index = Drop, p.flow.natTable, p.flow.natChain, p.flow.natIndex
	iface := e.pkt.Iif
	if iface == "" {
		iface = "the arrival interface"
	}
	if p.flow.dst.Is6() {
		drop.flow.dropWhy = fmt.Sprintf("%s sends a packet from outside to %s, which the kernel never routes from %s", p.flow.natNote, p.flow.dst, iface)
		e.tr.note("routing: " + drop.flow.dropWhy)
		return []outcome{drop}
	}
	drop.flow.dropWhy = fmt.Sprintf("%s sends a packet from outside to %s, which the kernel drops unless route_localnet is set on %s", p.flow.natNote, p.flow.dst, iface)
	p.undecide(fmt.Sprintf("%s: whether net.ipv4.conf.%s.route_localnet is 1 (the kernel drops a packet from outside sent to a loopback address unless it is)", p.flow.natNote, strings.ReplaceAll(iface, " ", "_")))
	drop.undecided = p.undecided
	return []outcome{p, drop}
}

// skipNAT says why the kernel does not run a NAT chain for this packet,
// or "" when it does: an answer or an untracked connection is never NATed
// by rules, and once a NAT chain on a hook has set a binding, the hook's
// later NAT chains are skipped.
func (e *engine) skipNAT(c *Chain, f flow) string {
	if c.Type != "nat" {
		return ""
	}
	dstHook := c.Hook == "prerouting" || c.Hook == "output"
	switch {
	case e.reply:
		return "an answer is not NATed by rules"
	case f.untracked:
		return "an untracked connection is not NATed"
	case dstHook && f.dnatBound, !dstHook && f.snatBound:
		return "an earlier NAT chain on this hook set the binding"
	}
	return ""
}

// route is the routing decision after prerouting: a packet whose
// destination NAT made it another host's is forwarded. One rewritten to a
// loopback address (`DNAT --to-destination 127.0.0.1:8080` for a service
// bound to localhost) is a martian to the kernel unless it arrived on lo:
// IPv6 drops it, IPv4 too unless net.ipv4.conf.IFACE.route_localnet is
// set, which the read does not hold.
func (e *engine) route(paths []outcome) []outcome {
	out := paths[:0:0]
	for _, p := range paths {
		if p.kind != Accept || !p.flow.dnat || !p.flow.natAddr {
			out = append(out, p) // not NATed, or redirected: still the host's
			continue
		}
		if p.flow.dst.IsLoopback() && e.pkt.Iif != "lo" {
			out = append(out, e.martian(p)...)
			continue
		}
		local, known := e.local(p.flow.dst)
		switch {
		case !known:
			p.undecide(fmt.Sprintf("%s: whether %s is one of the host's addresses", p.flow.natNote, p.flow.dst))
			fwd := p
			fwd.kind, fwd.table, fwd.chain, fwd.index = Forward, p.flow.natTable, p.flow.natChain, p.flow.natIndex
			out = append(out, p, fwd)
		case !local:
			e.tr.note(fmt.Sprintf("routing: %s is not one of the host's addresses: the packet is forwarded", p.flow.dst))
			p.kind, p.table, p.chain, p.index = Forward, p.flow.natTable, p.flow.natChain, p.flow.natIndex
			out = append(out, p)
		default:
			out = append(out, p)
		}
	}
	return out
}

type boundChain struct {
	table *Table
	chain *Chain
}

// baseChains are the chains on hook that see the probe, by priority.
// Netdev tables hook only ingress; arp and bridge tables see no IP probe.
func baseChains(rs *Ruleset, pkt Packet, hook string) []boundChain {
	families := map[string]bool{"inet": true, "netdev": hook == "ingress", "ip": !pkt.IPv6, "ip6": pkt.IPv6}
	var out []boundChain
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			if families[t.Family] && c.Hook == hook {
				out = append(out, boundChain{t, c})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b boundChain) int { return a.chain.Priority - b.chain.Priority })
	return out
}

// engine evaluates one packet: a probe, or with reply the answer to one
// (an established connection, TCP flags SYN and ACK, to the client's
// port).
type engine struct {
	pkt   Packet
	reply bool
	// carried are the set elements (flow.added) in place before the
	// packet: for an answer, those its first packet added; natted says
	// destination NAT rewrote the first packet, so its connection has
	// the dnat status (ct status dnat, --ctstate DNAT).
	carried string
	natted  bool
	// errorOf is what a reject sends back ("ICMP error", "TCP reset")
	// when the engine follows that packet: related to the connection.
	errorOf string
	steps   int
	tr      tracer
}

// base runs one base chain for a path that reached it accepted; falling
// off the end applies the policy. An accept by policy keeps the earlier
// chain's accepting rule: that rule is what lets the packet through. An
// ingress chain on another device does not see the packet; one whose
// device the listing does not name may or may not.
func (e *engine) base(t *Table, c *Chain, prev outcome) []outcome {
	var extra []outcome
	if c.Hook == "ingress" {
		switch {
		case c.Device != "" && e.pkt.Iif != "" && c.Device != e.pkt.Iif:
			e.tr.skip(t, c, "bound to "+c.Device+", the packet arrives on "+e.pkt.Iif)
			return []outcome{prev}
		case c.Device == "" || e.pkt.Iif == "":
			prev.undecide(fmt.Sprintf("whether ingress chain %s is on the arrival device", qualified(t, c)))
			extra = append(extra, prev)
		}
	}
	out := extra
	e.tr.enter(t, c)
	for _, o := range e.run(t, c, 0, 0, prev.state) {
		if o.kind == Return {
			o.kind, o.table, o.chain, o.index = ActionKind(c.Policy), t, c, -1
			if o.kind == "" {
				o.kind = Accept
			}
		}
		if o.kind == Accept && o.index < 0 && prev.index >= 0 {
			o.table, o.chain, o.index = prev.table, prev.chain, prev.index
		}
		out = append(out, o)
	}
	return out
}

// run evaluates chain c from rule i. A Return outcome means the chain was
// left without a verdict.
func (e *engine) run(t *Table, c *Chain, i, depth int, st state) []outcome {
	e.steps++
	if e.steps > maxSteps || depth > 64 {
		st.undecide("evaluation too deep")
		return []outcome{{kind: Unknown, table: t, chain: c, index: i, state: st}}
	}
	for ; i < len(c.Rules); i++ {
		holds, why := e.rule(t, c.Rules[i], &st)
		e.tr.rule(t, c, i, depth, holds, why)
		switch holds {
		case yes:
			return e.apply(t, c, i, depth, st)
		case maybe:
			st.undecide(fmt.Sprintf("%s in %s (%s)", c.Rules[i].Text, qualified(t, c), why))
			return dedupe(append(e.apply(t, c, i, depth, st), e.run(t, c, i+1, depth, st)...))
		}
	}
	e.tr.end(t, c, depth, false)
	return []outcome{{kind: Return, table: t, chain: c, index: -1, state: st}}
}

// apply follows rule i of c, whose matches hold: its effects, then its
// action.
func (e *engine) apply(t *Table, c *Chain, i, depth int, st state) []outcome {
	r := c.Rules[i]
	for _, ef := range r.Effects {
		st.flow = st.flow.with(ef, c)
	}
	a := r.Action
	switch a.Kind {
	case Continue:
		return e.run(t, c, i+1, depth, st)
	case Return:
		e.tr.end(t, c, depth, true)
	case Jump, Goto:
		target := t.Chain(a.Target)
		if target == nil {
			return []outcome{{kind: Unknown, table: t, chain: c, index: i, state: st}}
		}
		var out []outcome
		for _, o := range e.run(t, target, 0, depth+1, st) {
			switch {
			case o.kind != Return:
				out = append(out, o)
			case a.Kind == Goto:
				// goto does not come back: leaving the target leaves c too.
				out = append(out, outcome{kind: Return, table: t, chain: c, index: -1, state: o.state})
			default:
				out = append(out, e.run(t, c, i+1, depth, o.state)...)
			}
		}
		return dedupe(out)
	case DNat:
		return []outcome{e.dnat(t, c, i, st)}
	case SNat:
		st.flow.snatBound = true
		return []outcome{{kind: Accept, table: t, chain: c, index: i, state: st}}
	case Queue:
		if a.Bypass {
			st.assume("no program listens on the queue: its bypass lets the packet on")
			return []outcome{{kind: Accept, table: t, chain: c, index: i, state: st}}
		}
		return []outcome{{kind: Unknown, table: t, chain: c, index: i, state: st}}
	}
	return []outcome{{kind: a.Kind, table: t, chain: c, index: i, state: st}}
}

// dnat rewrites the path's destination as rule i's dnat or redirect does,
// which ends the chain as an accept.
func (e *engine) dnat(t *Table, c *Chain, i int, st state) outcome {
	n := c.Rules[i].Action.NAT
	f := &st.flow
	if n.Ports.Lo != n.Ports.Hi {
		st.undecide(fmt.Sprintf("%s in %s: which port of %s it picks", c.Rules[i].Text, qualified(t, c), n.Ports))
		return outcome{kind: Unknown, table: t, chain: c, index: i, state: st}
	}
	// A redirect goes to the arrival interface's address, which a probe
	// is taken to be addressed to. NAT that leaves the packet as it was
	// sets no "dnat" status.
	changed := n.Addr.IsValid() && n.Addr != f.dst || n.Ports.Lo != 0 && int(n.Ports.Lo) != f.port
	if n.Addr.IsValid() {
		f.dst = n.Addr
	}
	if n.Ports.Lo != 0 {
		f.port = int(n.Ports.Lo)
	}
	f.dnatBound = true
	if !changed {
		return outcome{kind: Accept, table: t, chain: c, index: i, state: st}
	}
	f.dnat, f.natAddr = true, n.Addr.IsValid() && !n.Redirect
	f.natTable, f.natChain, f.natIndex = t, c, i
	f.natNote = fmt.Sprintf("%s by rule %q in %s", natText(n), c.Rules[i].Text, qualified(t, c))
	return outcome{kind: Accept, table: t, chain: c, index: i, state: st}
}

// with returns the flow after an effect of a rule in chain c.
func (f flow) with(ef Effect, c *Chain) flow {
	switch ef.Kind {
	case NoTrack:
		// Conntrack has already seen the packet after its priority.
		f.untracked = f.untracked || c.Priority < conntrackPriority
	case SetAdd:
		if ef.Key != nil {
			f.added += ef.Set + "\t" + joinFields(ef.Key) + "\n"
		}
	case Mark, CtMark:
		f.marked = true
		v, unknown := &f.mark, &f.markUnknown
		src, srcUnknown := f.ctmark, f.ctmarkUnknown
		if ef.Kind == CtMark {
			v, unknown = &f.ctmark, &f.ctmarkUnknown
			src, srcUnknown = f.mark, f.markUnknown
		}
		switch {
		case ef.Unknown:
			*unknown = true
		case ef.Copy:
			*v, *unknown = src&ef.And, srcUnknown
		default:
			*v = *v&ef.And ^ ef.Xor
		}
	}
	return f
}

// dedupe keeps one outcome per verdict, place and packet: which undecided
// matches led there does not change what happens next, and merging keeps
// the number of paths bounded by the number of rules.
func dedupe(os []outcome) []outcome {
	type key struct {
		kind  ActionKind
		chain *Chain
		index int
		flow  flow
	}
	seen := map[key]int{}
	var out []outcome
	for _, o := range os {
		k := key{o.kind, o.chain, o.index, o.flow}
		if j, ok := seen[k]; ok {
			for _, u := range o.undecided {
				out[j].undecide(u)
			}
			out[j].assume(strings.Join(o.assumed, "; "))
			continue
		}
		seen[k] = len(out)
		out = append(out, o)
	}
	return out
}

func summarize(paths []outcome) Result {
	first := paths[0]
	res := describe(first)
	res.paths = paths
	for _, p := range paths {
		for _, a := range p.assumed {
			if a != "" && !slices.Contains(res.Assumed, a) {
				res.Assumed = append(res.Assumed, a)
			}
		}
	}
	for _, p := range paths[1:] {
		if p.kind != first.kind {
			res.Verdict = VerdictUnknown
			res.Reason = fmt.Sprintf("%s on one path, %s on another; it would be decided by: %s",
				first.kind, p.kind, strings.Join(undecidedOf(paths), "; "))
			return res
		}
	}
	if first.kind == Unknown {
		res.Verdict = VerdictUnknown
		if u := undecidedOf(paths); len(u) > 0 {
			res.Reason += "; undecided on the way: " + strings.Join(u, "; ")
		}
		return res
	}
	if u := undecidedOf(paths); len(u) > 0 {
		res.Reason += "; the same whatever these decide: " + strings.Join(u, "; ")
	}
	if len(res.Assumed) > 0 {
		res.Reason += "; assuming " + strings.Join(res.Assumed, ", ")
	}
	return res
}

func describe(o outcome) Result {
	res := Result{Verdict: string(o.kind)}
	if o.flow.dnat {
		res.NAT, res.Port = o.flow.natNote, o.flow.port
	}
	if o.chain == nil {
		res.Reason = "no base chain on the path"
		return res
	}
	res.Chain = qualified(o.table, o.chain)
	if o.index < 0 {
		res.Reason = fmt.Sprintf("policy %s of %s", o.kind, res.Chain)
		res.Reason += natSuffix(res)
		return res
	}
	r := o.chain.Rules[o.index]
	res.Rule, res.Handle = r.Text, r.Handle
	switch o.kind {
	case Unknown:
		res.Reason = fmt.Sprintf("rule %q in %s has an action the model cannot follow; it would be decided by %s", r.Text, res.Chain, unknownWhy(r.Action))
	case Drop:
		if o.flow.dropWhy != "" {
			res.Reason = "drop: " + o.flow.dropWhy
			return res
		}
		res.Reason = fmt.Sprintf("%s by rule %q in %s", o.kind, r.Text, res.Chain)
	case Forward:
		res.Reason = fmt.Sprintf("forwarded: %s sends it to another host; the forward hook and that host decide", o.flow.natNote)
		if o.flow.rerouted {
			res.Reason = fmt.Sprintf("sent elsewhere: %s sends it to another host, not the peer; that host decides", o.flow.natNote)
		}
		return res
	default:
		res.Reason = fmt.Sprintf("%s by rule %q in %s", o.kind, r.Text, res.Chain)
	}
	res.Reason += natSuffix(res)
	return res
}

// unknownWhy names what would decide an action the model cannot follow.
func unknownWhy(a Action) string {
	t := a.Target
	switch {
	case a.Kind == Queue:
		return "what the program reading the queue decides"
	case strings.HasPrefix(t, "-j TPROXY"):
		return "whether a transparent proxy listens on its port (it takes the packet; with none, TPROXY drops it)"
	case strings.HasPrefix(t, "-j SYNPROXY"), strings.Contains(t, `"synproxy"`):
		return "the SYN proxy's own handshake with the client"
	case strings.Contains(t, "--del-set"), strings.Contains(t, `"delete"`):
		return "the set once this packet's own element is deleted from it"
	case strings.HasPrefix(t, "dnat "):
		return "where this destination NAT sends the packet, which the model cannot read"
	case strings.HasPrefix(t, "vmap "):
		return "the verdict map's elements, which the read does not hold"
	case strings.HasPrefix(t, "-j "):
		return "what target " + strings.Fields(t)[1] + " does with the packet"
	}
	return "what this statement does with the packet"
}

func natSuffix(r Result) string {
	if r.NAT == "" {
		return ""
	}
	return fmt.Sprintf(" (after %s: port %d)", r.NAT, r.Port)
}

func undecidedOf(paths []outcome) []string {
	var all []string
	for _, p := range paths {
		for _, u := range p.undecided {
			if !slices.Contains(all, u) {
				all = append(all, u)
			}
		}
	}
	return all
}
