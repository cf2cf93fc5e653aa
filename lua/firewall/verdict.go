package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Packet is a probe: the first packet of a new connection, unicast, to or
// from this host. Unset optional fields mean "any": a rule that tests one
// makes the verdict depend on it, and the engine says so.
type Packet struct {
	Dir      string     // "in" (to a local listener) or "out" (to a remote peer)
	Proto    string     // tcp, udp, ...
	Port     int        // destination port
	SPort    int        // source port; 0 for any
	Src, Dst netip.Addr // optional; the family follows from them
	Iif, Oif string     // optional interface names
	IPv6     bool       // the family when neither Src nor Dst is set
}

// Result is the fate of a probe packet and the rule that decides it.
type Result struct {
	Verdict string // accept, drop, reject or unknown
	Chain   string // "inet filter input"
	Rule    string // the deciding rule's text; "" when the chain's policy decides
	Handle  int    // the rule's nft handle or iptables position; 0 for a policy
	Reason  string
	paths   []outcome
}

// The verdicts a Result can hold.
const (
	VerdictAccept  = "accept"
	VerdictDrop    = "drop"
	VerdictReject  = "reject"
	VerdictUnknown = "unknown"
)

// outcome is one way evaluation can end, given the undecided matches it
// assumed on the way: a verdict and where it was taken (index -1: the
// chain's policy, or falling off its end).
type outcome struct {
	kind      ActionKind
	table     *Table
	chain     *Chain
	index     int
	undecided []string
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

// Verdict evaluates the probe the way the kernel does: every base chain on
// each hook it crosses, in priority order; an accept ends only its own
// chain, a drop or reject is final. When a match the engine cannot decide
// (an unknown match, an unset address) lies on the way, both outcomes are
// followed; the verdict is unknown unless they agree.
func Verdict(rs *Ruleset, pkt Packet) Result {
	if pkt.Src.IsValid() || pkt.Dst.IsValid() {
		pkt.IPv6 = pkt.Src.Is6() || pkt.Dst.Is6()
	}
	e := &engine{pkt: pkt}
	paths := []outcome{{kind: Accept, index: -1}}
	for _, bc := range baseChains(rs, pkt) {
		var next []outcome
		for _, p := range paths {
			if p.kind != Accept {
				next = append(next, p)
				continue
			}
			next = append(next, e.base(bc.table, bc.chain, p)...)
		}
		paths = dedupe(next)
	}
	if e.steps > maxSteps {
		return Result{Verdict: VerdictUnknown, Reason: "too many undecidable matches to follow"}
	}
	return summarize(paths)
}

type boundChain struct {
	table *Table
	chain *Chain
}

func baseChains(rs *Ruleset, pkt Packet) []boundChain {
	families := map[string]bool{"inet": true, "netdev": true, "ip": !pkt.IPv6, "ip6": pkt.IPv6}
	hooks := hookOrder[pkt.Dir]
	var out []boundChain
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			if families[t.Family] && slices.Contains(hooks, c.Hook) {
				out = append(out, boundChain{t, c})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b boundChain) int {
		ha, hb := slices.Index(hooks, a.chain.Hook), slices.Index(hooks, b.chain.Hook)
		if ha != hb {
			return ha - hb
		}
		return a.chain.Priority - b.chain.Priority
	})
	return out
}

type engine struct {
	pkt   Packet
	steps int
}

// base runs one base chain for a path that reached it accepted; falling
// off the end applies the policy. An accept by policy keeps the earlier
// chain's accepting rule: that rule is what lets the packet through.
func (e *engine) base(t *Table, c *Chain, prev outcome) []outcome {
	var out []outcome
	for _, o := range e.run(t, c, 0, 0, prev.undecided) {
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
func (e *engine) run(t *Table, c *Chain, i, depth int, undecided []string) []outcome {
	e.steps++
	if e.steps > maxSteps || depth > 64 {
		return []outcome{{kind: Unknown, table: t, chain: c, index: i, undecided: append(undecided, "evaluation too deep")}}
	}
	for ; i < len(c.Rules); i++ {
		switch holds, why := e.rule(t, c.Rules[i]); holds {
		case yes:
			return e.apply(t, c, i, depth, undecided)
		case maybe:
			u := undecided
			if len(u) < maxUndecided {
				u = append(slices.Clip(u), fmt.Sprintf("%s in %s (%s)", c.Rules[i].Text, qualified(t, c), why))
			}
			return dedupe(append(e.apply(t, c, i, depth, u), e.run(t, c, i+1, depth, u)...))
		}
	}
	return []outcome{{kind: Return, table: t, chain: c, index: -1, undecided: undecided}}
}

func (e *engine) apply(t *Table, c *Chain, i, depth int, undecided []string) []outcome {
	a := c.Rules[i].Action
	switch a.Kind {
	case Continue:
		return e.run(t, c, i+1, depth, undecided)
	case Jump, Goto:
		target := t.Chain(a.Target)
		if target == nil {
			return []outcome{{kind: Unknown, table: t, chain: c, index: i, undecided: undecided}}
		}
		var out []outcome
		for _, o := range e.run(t, target, 0, depth+1, undecided) {
			switch {
			case o.kind != Return:
				out = append(out, o)
			case a.Kind == Goto:
				// goto does not come back: leaving the target leaves c too.
				out = append(out, outcome{kind: Return, table: t, chain: c, index: -1, undecided: o.undecided})
			default:
				out = append(out, e.run(t, c, i+1, depth, o.undecided)...)
			}
		}
		return dedupe(out)
	}
	return []outcome{{kind: a.Kind, table: t, chain: c, index: i, undecided: undecided}}
}

// dedupe keeps one outcome per verdict and place: which undecided matches
// led there does not change what happens next, and merging keeps the
// number of paths bounded by the number of rules.
func dedupe(os []outcome) []outcome {
	type key struct {
		kind  ActionKind
		chain *Chain
		index int
	}
	seen := map[key]bool{}
	var out []outcome
	for _, o := range os {
		k := key{o.kind, o.chain, o.index}
		if !seen[k] {
			seen[k] = true
			out = append(out, o)
		}
	}
	return out
}

func summarize(paths []outcome) Result {
	first := paths[0]
	res := describe(first)
	res.paths = paths
	for _, p := range paths[1:] {
		if p.kind != first.kind {
			res.Verdict = VerdictUnknown
			res.Reason = fmt.Sprintf("%s on one path, %s on another; undecided: %s",
				first.kind, p.kind, strings.Join(undecidedOf(paths), "; "))
			return res
		}
	}
	if first.kind == Unknown {
		res.Verdict = VerdictUnknown
		return res
	}
	if u := undecidedOf(paths); len(u) > 0 {
		res.Reason += "; the same whatever these decide: " + strings.Join(u, "; ")
	}
	return res
}

func describe(o outcome) Result {
	res := Result{Verdict: string(o.kind)}
	if o.chain == nil {
		res.Reason = "no base chain on the path"
		return res
	}
	res.Chain = qualified(o.table, o.chain)
	if o.index < 0 {
		res.Reason = fmt.Sprintf("policy %s of %s", o.kind, res.Chain)
		return res
	}
	r := o.chain.Rules[o.index]
	res.Rule, res.Handle = r.Text, r.Handle
	res.Reason = fmt.Sprintf("%s by rule %q in %s", o.kind, r.Text, res.Chain)
	if o.kind == Unknown {
		res.Reason = fmt.Sprintf("rule %q in %s has an action the model cannot follow", r.Text, res.Chain)
	}
	return res
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
