package firewall

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Step is one thing the evaluation did with a probe, in the order it did
// it: entering a base chain, looking at a rule, jumping, falling back to a
// chain's policy. A trace is what `remedy firewall explain` prints for a
// sysadmin asking why a port is blocked: the same evaluation as Verdict,
// not a second one.
type Step struct {
	// Packet says which packet this step is about: "first packet",
	// "answer" for the SYN-ACK a TCP connection also needs, or "ICMP
	// error" / "TCP reset" for what a reject sends back.
	Packet string `json:"packet"`
	Hook   string `json:"hook"`
	Chain  string `json:"chain"`           // "inet filter input"
	Depth  int    `json:"depth"`           // 0 in a base chain, 1 in a chain it jumped to, ...
	Enter  bool   `json:"enter,omitempty"` // the step enters Chain, a base chain on Hook
	// Priority and Policy describe a base chain entered.
	Priority int    `json:"priority,omitempty"`
	Policy   string `json:"policy,omitempty"`
	// Rule is the rule looked at, as its tool prints it; Handle its nft
	// handle or iptables position. Empty for chain entries and policies.
	Rule   string `json:"rule,omitempty"`
	Handle int    `json:"handle,omitempty"`
	// Match is "yes", "no" or "undecided" for a rule; Why says what an
	// undecided match depends on.
	Match string `json:"match,omitempty"`
	Why   string `json:"why,omitempty"`
	// Action is what followed: "accept", "drop", "jump f2b-sshd",
	// "policy drop", "return", "skipped: ...", "continue".
	Action string `json:"action,omitempty"`
}

// Match outcomes in a Step.
const (
	MatchYes       = "yes"
	MatchNo        = "no"
	MatchUndecided = "undecided"
)

// Trace evaluates pkt as Verdict does and returns, besides the result,
// every step the evaluation took. Where a match is undecided both ways
// are followed, so the steps after it belong to one way or the other.
func Trace(rs *Ruleset, pkt Packet) (Result, []Step) {
	var steps []Step
	res := verdict(rs, pkt, func(s Step) { steps = append(steps, s) })
	return res, steps
}

// tracer records steps for Trace; the zero tracer records nothing, so
// Verdict pays only a nil check.
type tracer struct {
	record func(Step)
	packet string
	hook   string
}

func (tr *tracer) on() bool { return tr.record != nil }

func (tr *tracer) step(s Step) {
	if tr.record == nil {
		return
	}
	s.Packet, s.Hook = tr.packet, tr.hook
	tr.record(s)
}

// enter records entering base chain c.
func (tr *tracer) enter(t *Table, c *Chain) {
	if tr.on() {
		tr.step(Step{Chain: qualified(t, c), Enter: true, Priority: c.Priority, Policy: c.Policy})
	}
}

// skip records a base chain the packet does not go through, and why.
func (tr *tracer) skip(t *Table, c *Chain, why string) {
	if tr.on() {
		tr.step(Step{Chain: qualified(t, c), Enter: true, Priority: c.Priority, Policy: c.Policy, Action: "skipped: " + why})
	}
}

// rule records rule i of c and how its matches came out.
func (tr *tracer) rule(t *Table, c *Chain, i, depth int, holds tri, why string) {
	if !tr.on() {
		return
	}
	r := c.Rules[i]
	s := Step{Chain: qualified(t, c), Depth: depth, Rule: r.Text, Handle: r.Handle, Match: MatchNo}
	switch holds {
	case yes:
		s.Match, s.Action = MatchYes, actionText(r.Action)
	case maybe:
		s.Match, s.Why, s.Action = MatchUndecided, why, actionText(r.Action)+" on one way; the next rule on the other"
	}
	tr.step(s)
}

// end records leaving chain c without a verdict: its policy for a base
// chain, back to the caller for another.
func (tr *tracer) end(t *Table, c *Chain, depth int, returned bool) {
	if !tr.on() {
		return
	}
	s := Step{Chain: qualified(t, c), Depth: depth}
	switch {
	case depth == 0 && c.Hook != "":
		policy := c.Policy
		if policy == "" {
			policy = "accept"
		}
		s.Action = "policy " + policy
	case returned:
		s.Action = "return"
	default:
		s.Action = "end of chain: back to the calling chain"
	}
	tr.step(s)
}

// note records something that happened between chains: a NAT rewrite,
// routing, the answer's turn.
func (tr *tracer) note(action string) {
	if tr.on() {
		tr.step(Step{Action: action})
	}
}

func actionText(a Action) string {
	switch a.Kind {
	case Jump, Goto:
		return string(a.Kind) + " " + a.Target
	case DNat:
		return "destination NAT: " + natText(a.NAT)
	case Continue:
		return "continue"
	case Queue:
		if a.Bypass {
			return "queue (bypass)"
		}
	}
	return string(a.Kind)
}

// Describe prints the probe for a reader: "tcp 198.18.0.1:ephemeral ->
// 198.18.0.5:22, arriving on eth0".
func (p Packet) Describe() string {
	sport := "ephemeral"
	if p.SPort != 0 {
		sport = fmt.Sprint(p.SPort)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s -> %s", p.Proto, hostPort(p.Src, sport), hostPort(p.Dst, fmt.Sprint(p.Port)))
	if p.Iif != "" {
		fmt.Fprintf(&b, ", arriving on %s", p.Iif)
	}
	if p.Oif != "" {
		fmt.Fprintf(&b, ", leaving by %s", p.Oif)
	}
	return b.String()
}

func hostPort(a netip.Addr, port string) string {
	if !a.IsValid() {
		return "any address:" + port
	}
	return net.JoinHostPort(a.String(), port)
}
