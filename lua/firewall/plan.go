package firewall

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// The backends a plan can be rendered for, named as Facts.Firewall names
// them.
const (
	Nftables       = "nftables"
	IptablesLegacy = "iptables-legacy"
	IptablesNft    = "iptables-nft"
	Firewalld      = "firewalld"
	Ufw            = "ufw"
)

// CommentPrefix starts the comment of every rule remedy adds, so removal
// and audits can find them.
const CommentPrefix = "remedy:"

// System is what a plan needs to know about the host besides its rules.
type System struct {
	Backend  string // one of the backend constants
	OSFamily string // "debian", "redhat", ...: where the rules persist
	Zone     string // firewalld: the zone to open ports in (its default zone)
	// Iptables is the command that changes the iptables tables read:
	// "iptables-legacy" or "iptables-nft" where both variants are
	// installed (plain iptables is whichever the alternatives name), else
	// "" for plain iptables. ip6tables follows it.
	Iptables string
	Init     string // Facts.Init: "systemd" runs timers as transient units
	// Bus: firewalld answers on D-Bus and the host has busctl to call
	// its API with (HostRead.Busctl), one call per change instead of a
	// firewall-cmd start each; see planFirewalld.
	Bus bool
	// Out: for an outbound opening over D-Bus, remedy's policies as
	// firewalld holds them (ReadFirewalldOut); see busOutbound.
	Out FirewalldOut
}

// iptablesCmd names the command for a family's iptables tables.
func (sys System) iptablesCmd(family string) string {
	bin := sys.Iptables
	if bin == "" {
		bin = "iptables"
	}
	if family == "ip6" {
		return strings.Replace(bin, "iptables", "ip6tables", 1)
	}
	return bin
}

// Allow is a flow to let through the host firewall.
type Allow struct {
	Dir     string // "in" or "out"
	Proto   string // tcp or udp
	Ports   PortRange
	Src     netip.Prefix // optional, dir "in": only from these sources
	Dst     netip.Prefix // optional, dir "out": only to these destinations
	DstSet  string       // optional, dir "out": only to the addresses in this named set (nft set, ipset)
	Comment string       // prefixed with "remedy: " when it does not start so
}

// Plan is what it takes to make a flow pass now: nothing when Already,
// else commands run in order. What boot loads is planned apart (see
// PlanBootAllow).
type Plan struct {
	Already  bool
	Before   []Result // the verdicts that made the change necessary
	Commands [][]string
}

// maxInserts bounds the loop that inserts one rule per stopping chain.
const maxInserts = 16

// PlanAllow plans the narrowest change that makes every port of a pass,
// for IPv4 and IPv6 unless a's address limits it to one. nftables and
// iptables get one accept rule in each chain that stops the flow, right
// before the rule that stops it (appended when the policy does);
// firewalld and ufw get their own commands, as they own their rules.
func PlanAllow(rs *Ruleset, sys System, a Allow) (Plan, error) {
	if err := a.validate(); err != nil {
		return Plan{}, err
	}
	a.Comment = remedyComment(a)
	before := blocked(rs, a.probes())
	if len(before) == 0 {
		return Plan{Already: true}, nil
	}
	var plan Plan
	var err error
	switch sys.Backend {
	case Nftables, IptablesLegacy, IptablesNft:
		plan, err = planRules(rs.clone(), sys, a, a.probes())
	case Firewalld:
		plan, err = planFirewalld(sys, a)
	case Ufw:
		plan = Plan{Commands: [][]string{ufwAllow(a)}}
	default:
		err = fmt.Errorf("no firewall backend %q to plan for", sys.Backend)
	}
	plan.Before = before
	return plan, err
}

func (a Allow) validate() error {
	switch {
	case a.Dir != "in" && a.Dir != "out":
		return fmt.Errorf("allow: dir %q: want in or out", a.Dir)
	case a.Proto != "tcp" && a.Proto != "udp":
		return fmt.Errorf("allow: proto %q: want tcp or udp", a.Proto)
	case a.Ports.Lo == 0 || a.Ports.Hi < a.Ports.Lo:
		return fmt.Errorf("allow: ports %s: want 1-65535, low to high", a.Ports)
	case a.Src.IsValid() && a.Dir != "in", a.Dst.IsValid() && a.Dir != "out":
		return fmt.Errorf("allow: a source limits inbound flows, a destination outbound ones")
	case strings.ContainsAny(a.Comment, "\"\n\\'"):
		return fmt.Errorf("allow: comment %q: no quotes, backslashes or newlines", a.Comment)
	case len(a.Comment) > 100:
		// nft keeps 128 bytes of a comment, with "remedy: " in front.
		return fmt.Errorf("allow: comment of %d bytes: at most 100", len(a.Comment))
	}
	return nil
}

func remedyComment(a Allow) string {
	c := strings.TrimSpace(a.Comment)
	if c == "" {
		return fmt.Sprintf("%s %s %s/%s", CommentPrefix, a.Dir, a.Proto, a.Ports)
	}
	if strings.HasPrefix(c, CommentPrefix) {
		return c
	}
	return CommentPrefix + " " + c
}

// probes are the packets that must pass: every port of the range (of a
// range over 1024 ports, every 64th and the last, to bound the work), in
// each family the addresses allow. An address prefix is
// probed at its first address; an outbound flow to anywhere, at a
// documentation address standing for an ordinary remote peer, so rules
// about special destinations (firewalld rejects 6to4 and v4-mapped ones)
// neither block it nor make it undecidable.
func (a Allow) probes() []Packet {
	var out []Packet
	addr := a.Src
	if a.Dir == "out" {
		addr = a.Dst
	}
	for _, v6 := range []bool{false, true} {
		if addr.IsValid() && addr.Addr().Is6() != v6 {
			continue
		}
		for _, port := range a.portsToProbe() {
			p := Packet{Dir: a.Dir, Proto: a.Proto, Port: port, IPv6: v6}
			switch {
			case a.Dir == "in":
				p.Src = a.Src.Masked().Addr()
			case a.Dst.IsValid():
				p.Dst = a.Dst.Masked().Addr()
			case a.DstSet == "":
				p.Dst = map[bool]netip.Addr{false: sampleV4, true: sampleV6}[v6]
			}
			out = append(out, p)
		}
	}
	return out
}

func (a Allow) portsToProbe() []int {
	lo, hi := int(a.Ports.Lo), int(a.Ports.Hi)
	step := 1
	if hi-lo > 1024 {
		step = 64
	}
	var ports []int
	for p := lo; p < hi; p += step {
		ports = append(ports, p)
	}
	return append(ports, hi)
}

// blocked returns the verdicts of the probes that do not pass.
func blocked(rs *Ruleset, probes []Packet) []Result {
	var out []Result
	for _, p := range probes {
		if r := Verdict(rs, p); r.Verdict != VerdictAccept {
			out = append(out, r)
		}
	}
	return out
}

// planRules inserts into rs, a copy of the host's ruleset, an accept rule
// before the first thing that stops a probe, and repeats until every
// probe passes: the copy proves the plan before any command runs.
func planRules(rs *Ruleset, sys System, a Allow, probes []Packet) (Plan, error) {
	places, err := placeRules(rs, a, probes)
	if err != nil {
		return Plan{}, err
	}
	var plan Plan
	for _, pl := range places {
		cmd, err := insertCommand(sys, pl)
		if err != nil {
			return Plan{}, err
		}
		plan.Commands = append(plan.Commands, cmd)
	}
	return plan, nil
}

// placement is where one accept rule goes: its table and chain, and the
// rule it goes before as the chain stood then (its handle, and its
// position counting each rule once); position -1 appends.
type placement struct {
	table    *Table
	chain    *Chain
	rule     *Rule
	handle   int
	position int
}

// placeRules inserts into rs an accept rule before the first thing that
// stops a probe until every probe passes, and says where each went.
func placeRules(rs *Ruleset, a Allow, probes []Packet) ([]placement, error) {
	var places []placement
	for range maxInserts {
		stopped := blocked(rs, probes)
		if len(stopped) == 0 {
			return places, nil
		}
		o, ok := stopPoint(stopped[0])
		if !ok {
			return nil, fmt.Errorf("allow %s %s/%s: cannot tell where to insert: %s", a.Dir, a.Proto, a.Ports, stopped[0].Reason)
		}
		pl := placement{table: o.table, chain: o.chain, rule: allowRule(o.table, a), position: -1}
		if o.index >= 0 {
			pl.handle, pl.position = o.chain.Rules[o.index].Handle, rulePosition(o.chain, o.index)
		}
		places = append(places, pl)
		o.chain.insert(o.index, pl.rule)
	}
	return nil, fmt.Errorf("allow %s %s/%s: still blocked after %d rules", a.Dir, a.Proto, a.Ports, maxInserts)
}

// rulePosition is the position of the chain's i-th model rule among the
// rules its tool lists: one nft rule with a verdict map becomes several
// model rules, which share its handle. A rule the plan inserted has no
// handle yet and counts alone.
func rulePosition(c *Chain, i int) int {
	n := 0
	for j := range i {
		if j == 0 || c.Rules[j].Handle == 0 || c.Rules[j].Handle != c.Rules[j-1].Handle {
			n++
		}
	}
	return n
}

// stopPoint picks, among the ways evaluation can end, the first that does
// not accept and names a place: a rule, or a base chain's policy.
func stopPoint(r Result) (outcome, bool) {
	for _, o := range r.paths {
		if o.kind != Accept && o.chain != nil && (o.index >= 0 || o.chain.Base()) {
			return o, true
		}
	}
	return outcome{}, false
}

// allowRule is the accept rule for a, as the model holds it.
func allowRule(t *Table, a Allow) *Rule {
	r := &Rule{Action: Action{Kind: Accept}, Comment: a.Comment, Matches: []Match{
		{Field: Proto, Protos: []string{a.Proto}},
		{Field: DPort, Ports: []PortRange{a.Ports}},
	}}
	if a.Src.IsValid() {
		r.Matches = append(r.Matches, Match{Field: SAddr, Prefixes: []netip.Prefix{a.Src.Masked()}})
	}
	if a.Dst.IsValid() {
		r.Matches = append(r.Matches, Match{Field: DAddr, Prefixes: []netip.Prefix{a.Dst.Masked()}})
	}
	if a.DstSet != "" {
		r.Matches = append(r.Matches, Match{Field: DAddr, Set: a.DstSet, Family: setFamily(t, a.DstSet)})
	}
	r.Text = renderNft(r)
	return r
}

// setFamily is the address family a named set's rule must name in nft
// ("ip daddr @s" or "ip6 daddr @s").
func setFamily(t *Table, name string) string {
	if s := t.Sets[name]; s != nil && s.Type == "ipv6_addr" {
		return "ip6"
	}
	return "ip"
}

// insert puts r before rule i, or at the end for i < 0.
func (c *Chain) insert(i int, r *Rule) {
	if i < 0 {
		c.Rules = append(c.Rules, r)
		return
	}
	c.Rules = append(c.Rules[:i:i], append([]*Rule{r}, c.Rules[i:]...)...)
}

// insertCommand changes a table with the tool that listed it: a table
// iptables-nft made is in nft too, but only iptables knows its rules'
// positions and keeps them readable to iptables-save.
func insertCommand(sys System, pl placement) ([]string, error) {
	if pl.table.Iptables {
		return iptablesInsert(sys, pl)
	}
	return nftInsert(pl), nil
}

// nftInsert inserts before the stopping rule's handle, or appends. nft
// joins its arguments into one line, so the rule travels as one argument.
func nftInsert(pl placement) []string {
	t := pl.table
	if pl.position < 0 {
		return []string{"nft", "add", "rule", t.Family, t.Name, pl.chain.Name, pl.rule.Text}
	}
	return []string{"nft", "insert", "rule", t.Family, t.Name, pl.chain.Name, "handle", fmt.Sprint(pl.handle), pl.rule.Text}
}

func iptablesInsert(sys System, pl placement) ([]string, error) {
	t := pl.table
	if t.Family != "ip" && t.Family != "ip6" {
		return nil, fmt.Errorf("table %s %s: not an iptables table", t.Family, t.Name)
	}
	cmd := []string{sys.iptablesCmd(t.Family), "-t", t.Name}
	if pl.position < 0 {
		cmd = append(cmd, "-A", pl.chain.Name)
	} else {
		cmd = append(cmd, "-I", pl.chain.Name, fmt.Sprint(pl.position+1))
	}
	return append(cmd, iptablesRuleArgs(pl.rule)...), nil
}

// iptablesRuleArgs renders an allowRule for iptables.
func iptablesRuleArgs(r *Rule) []string {
	var args []string
	for _, m := range r.Matches {
		switch m.Field {
		case Proto:
			args = append(args, "-p", m.Protos[0], "-m", m.Protos[0])
		case DPort:
			args = append(args, "--dport", strings.Replace(m.Ports[0].String(), "-", ":", 1))
		case SAddr:
			args = append(args, "-s", m.Prefixes[0].String())
		case DAddr:
			if m.Set != "" {
				args = append(args, "-m", "set", "--match-set", m.Set, "dst")
			} else {
				args = append(args, "-d", m.Prefixes[0].String())
			}
		}
	}
	return append(args, "-m", "comment", "--comment", r.Comment, "-j", "ACCEPT")
}

// clone copies the tables and chains so a plan can insert rules into the
// copy; rules themselves are never changed and stay shared.
func (rs *Ruleset) clone() *Ruleset {
	out := &Ruleset{}
	for _, t := range rs.Tables {
		nt := *t
		nt.Chains = nil
		for _, c := range t.Chains {
			nc := *c
			nc.Rules = append([]*Rule(nil), c.Rules...)
			nt.Chains = append(nt.Chains, &nc)
		}
		out.Tables = append(out.Tables, &nt)
	}
	return out
}

// slug turns a comment into a name firewalld accepts for a service or
// policy: "remedy: FASP data" → "remedy-fasp-data".
func slug(comment string) string {
	s := strings.TrimSpace(strings.TrimPrefix(comment, CommentPrefix))
	s = strings.Trim(nonName.ReplaceAllString(strings.ToLower(s), "-"), "-")
	return "remedy-" + s
}

var nonName = regexp.MustCompile(`[^a-z0-9]+`)
