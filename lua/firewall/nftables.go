package firewall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// ReadNft reads the output of `nft -j list ruleset`. Expressions the model
// does not understand become Opaque matches or Unknown actions holding
// their JSON, so a verdict they could decide is reported as unknown.
func ReadNft(out []byte) (*Ruleset, error) {
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("nft -j list ruleset: %w", err)
	}
	rs := &Ruleset{}
	for i, obj := range doc.Nftables {
		if err := rs.addNftObject(obj); err != nil {
			return nil, fmt.Errorf("nft -j list ruleset: object %d: %w", i, err)
		}
	}
	return rs, nil
}

type nftTable struct {
	Family string `json:"family"`
	Name   string `json:"name"`
}

type nftChain struct {
	Family string `json:"family"`
	Table  string `json:"table"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Hook   string `json:"hook"`
	Prio   int    `json:"prio"`
	Policy string `json:"policy"`
}

type nftSet struct {
	Family string            `json:"family"`
	Table  string            `json:"table"`
	Name   string            `json:"name"`
	Type   json.RawMessage   `json:"type"`
	Elem   []json.RawMessage `json:"elem"`
}

type nftRule struct {
	Family  string            `json:"family"`
	Table   string            `json:"table"`
	Chain   string            `json:"chain"`
	Handle  int               `json:"handle"`
	Comment string            `json:"comment"`
	Expr    []json.RawMessage `json:"expr"`
}

func (rs *Ruleset) addNftObject(obj map[string]json.RawMessage) error {
	for kind, raw := range obj {
		var err error
		switch kind {
		case "table":
			var t nftTable
			if err = json.Unmarshal(raw, &t); err == nil {
				rs.Tables = append(rs.Tables, &Table{Family: t.Family, Name: t.Name, Sets: map[string]*Set{}})
			}
		case "chain":
			err = rs.addNftChain(raw)
		case "set":
			err = rs.addNftSet(raw)
		case "rule":
			err = rs.addNftRule(raw)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
	}
	return nil
}

func (rs *Ruleset) tableOf(family, name string) (*Table, error) {
	t := rs.Table(family, name)
	if t == nil {
		return nil, fmt.Errorf("table %s %s not listed before its contents", family, name)
	}
	return t, nil
}

func (rs *Ruleset) addNftChain(raw json.RawMessage) error {
	var c nftChain
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	t, err := rs.tableOf(c.Family, c.Table)
	if err != nil {
		return err
	}
	t.Chains = append(t.Chains, &Chain{Name: c.Name, Type: c.Type, Hook: c.Hook, Priority: c.Prio, Policy: c.Policy})
	return nil
}

func (rs *Ruleset) addNftSet(raw json.RawMessage) error {
	var s nftSet
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	t, err := rs.tableOf(s.Family, s.Table)
	if err != nil {
		return err
	}
	set := &Set{Name: s.Name}
	if err := json.Unmarshal(s.Type, &set.Type); err != nil {
		set.Opaque = true // a concatenation: its type is a list
	}
	for _, e := range s.Elem {
		if !set.add(unwrapElem(e)) {
			set.Opaque = true
		}
	}
	t.Sets[s.Name] = set
	return nil
}

// unwrapElem drops the {"elem": {"val": ...}} wrapper nft puts around an
// element that carries a timeout, expiry or comment.
func unwrapElem(e json.RawMessage) json.RawMessage {
	var w struct {
		Elem *struct {
			Val json.RawMessage `json:"val"`
		} `json:"elem"`
	}
	if json.Unmarshal(e, &w) == nil && w.Elem != nil {
		return w.Elem.Val
	}
	return e
}

func (s *Set) add(e json.RawMessage) bool {
	v := parseValue(e)
	s.Ports = append(s.Ports, v.ports...)
	s.Prefixes = append(s.Prefixes, v.prefixes...)
	s.Names = append(s.Names, v.names...)
	return v.ok
}

func (rs *Ruleset) addNftRule(raw json.RawMessage) error {
	var r nftRule
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	t, err := rs.tableOf(r.Family, r.Table)
	if err != nil {
		return err
	}
	c := t.Chain(r.Chain)
	if c == nil {
		return fmt.Errorf("rule %d: chain %s not listed before it", r.Handle, r.Chain)
	}
	c.Rules = append(c.Rules, nftRules(r)...)
	return nil
}

// nftRules converts one nft rule into model rules: one, or one per
// element when the rule ends in a verdict map, because `k vmap {v1: a1,
// v2: a2}` behaves as `k v1 a1` then `k v2 a2` (map keys are distinct).
func nftRules(r nftRule) []*Rule {
	base := Rule{Handle: r.Handle, Comment: r.Comment, Action: Action{Kind: Continue}}
	var vmap json.RawMessage
	for _, e := range r.Expr {
		kind, body := exprObject(e)
		switch {
		case kind == "match":
			base.Matches = append(base.Matches, nftMatch(body)...)
		case kind == "vmap":
			vmap = body
		case nonTerminal[kind]:
		case matchLike[kind] || isXtMatch(kind, body):
			base.Matches = append(base.Matches, Match{Field: Opaque, Text: compact(e)})
		default:
			base.Action = nftAction(kind, body, e)
		}
	}
	if vmap != nil {
		return expandVmap(base, vmap)
	}
	base.Text = renderNft(&base)
	return []*Rule{&base}
}

// nonTerminal statements change no verdict; matchLike ones may end the
// rule early (rate limits, quotas, xt matches) in ways a probe cannot know.
var (
	nonTerminal = map[string]bool{"counter": true, "log": true, "mangle": true, "notrack": true,
		"set": true, "dup": true, "ct helper": true, "flow": true}
	matchLike = map[string]bool{"limit": true, "quota": true, "ct count": true}
)

// isXtMatch reports an iptables-nft match nft can only show by name.
func isXtMatch(kind string, body json.RawMessage) bool {
	var x struct {
		Type string `json:"type"`
	}
	return kind == "xt" && json.Unmarshal(body, &x) == nil && x.Type == "match"
}

// exprObject splits a one-key JSON object such as {"accept": null}.
func exprObject(e json.RawMessage) (string, json.RawMessage) {
	var m map[string]json.RawMessage
	if json.Unmarshal(e, &m) != nil || len(m) != 1 {
		return "", e
	}
	for k, v := range m {
		return k, v
	}
	return "", e
}

func nftAction(kind string, body, whole json.RawMessage) Action {
	switch kind {
	case "accept", "drop", "return":
		return Action{Kind: ActionKind(kind)}
	case "reject":
		return Action{Kind: Reject}
	case "jump", "goto":
		var t struct {
			Target string `json:"target"`
		}
		if json.Unmarshal(body, &t) == nil {
			return Action{Kind: ActionKind(kind), Target: t.Target}
		}
	case "snat", "dnat", "masquerade", "redirect":
		// NAT statements end the chain with an accept.
		return Action{Kind: Accept}
	}
	return Action{Kind: Unknown, Target: compact(whole)}
}

func expandVmap(base Rule, body json.RawMessage) []*Rule {
	var v struct {
		Key  json.RawMessage `json:"key"`
		Data struct {
			Set [][2]json.RawMessage `json:"set"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &v); err != nil || len(v.Data.Set) == 0 {
		base.Action = Action{Kind: Unknown, Target: "vmap " + compact(body)}
		base.Text = renderNft(&base)
		return []*Rule{&base}
	}
	var rules []*Rule
	for _, kv := range v.Data.Set {
		r := base
		r.Matches = append(append([]Match{}, base.Matches...), keyMatch(v.Key, kv[0])...)
		kind, b := exprObject(kv[1])
		r.Action = nftAction(kind, b, kv[1])
		r.Text = renderNft(&r)
		rules = append(rules, &r)
	}
	return rules
}

func keyMatch(key, value json.RawMessage) []Match {
	m, _ := json.Marshal(map[string]any{"op": "==", "left": key, "right": value})
	return nftMatch(m)
}

// nftMatch converts one {"match": ...} expression. A transport port match
// (tcp dport 22) also implies its protocol, so it yields two matches.
func nftMatch(body json.RawMessage) []Match {
	var m struct {
		Op    string          `json:"op"`
		Left  json.RawMessage `json:"left"`
		Right json.RawMessage `json:"right"`
	}
	opaque := []Match{{Field: Opaque, Text: compact(body)}}
	if json.Unmarshal(body, &m) != nil {
		return opaque
	}
	field, family, proto := nftField(m.Left)
	if field == "" {
		return append(impliedProto(m.Left), assumedNft(m.Op, m.Left, m.Right, compact(body))...)
	}
	match, ok := valueMatch(field, m.Op, m.Right)
	if !ok {
		return opaque
	}
	match.Family = family
	if proto != "" {
		return []Match{{Field: Proto, Protos: []string{proto}}, match}
	}
	return []Match{match}
}

// nftField says which model field a match's left side reads, the address
// family it is bound to and the transport protocol it implies.
func nftField(left json.RawMessage) (field Field, family, proto string) {
	var l struct {
		Payload *struct{ Protocol, Field string } `json:"payload"`
		Meta    *struct{ Key string }             `json:"meta"`
		CT      *struct{ Key string }             `json:"ct"`
	}
	if json.Unmarshal(left, &l) != nil {
		return "", "", ""
	}
	switch {
	case l.Payload != nil:
		return payloadField(l.Payload.Protocol, l.Payload.Field)
	case l.Meta != nil:
		return metaFields[l.Meta.Key], "", ""
	case l.CT != nil && l.CT.Key == "state":
		return CTState, "", ""
	}
	return "", "", ""
}

var metaFields = map[string]Field{"l4proto": Proto, "iifname": IIf, "iif": IIf,
	"oifname": OIf, "oif": OIf, "nfproto": NFProto}

func payloadField(protocol, field string) (Field, string, string) {
	switch {
	case (protocol == "ip" || protocol == "ip6") && field == "saddr":
		return SAddr, protocol, ""
	case (protocol == "ip" || protocol == "ip6") && field == "daddr":
		return DAddr, protocol, ""
	case protocol == "ip" && field == "protocol", protocol == "ip6" && field == "nexthdr":
		return Proto, protocol, ""
	case field == "dport" || field == "sport":
		proto := protocol
		if proto == "th" {
			proto = ""
		}
		return map[string]Field{"dport": DPort, "sport": SPort}[field], "", proto
	}
	return "", "", ""
}

// impliedProto returns the protocol a payload match depends on: "icmpv6
// type 1" can only match ICMPv6 packets, whatever the rest means.
func impliedProto(left json.RawMessage) []Match {
	var l struct {
		Payload *struct{ Protocol string } `json:"payload"`
	}
	if json.Unmarshal(left, &l) != nil || l.Payload == nil {
		return nil
	}
	switch p := l.Payload.Protocol; p {
	case "ip", "ip6":
		return []Match{{Field: NFProto, Names: []string{map[string]string{"ip": "ipv4", "ip6": "ipv6"}[p]}}}
	case "tcp", "udp", "udplite", "sctp", "dccp", "icmp", "esp", "ah", "comp":
		return []Match{{Field: Proto, Protos: []string{p}}}
	case "icmpv6":
		return []Match{{Field: Proto, Protos: []string{"ipv6-icmp"}}}
	}
	return nil
}

// assumedNft recognises matches whose outcome follows from what a probe
// is, and makes anything else Opaque.
func assumedNft(op string, left, right json.RawMessage, text string) []Match {
	var l struct {
		CT  *struct{ Key string } `json:"ct"`
		Fib *struct {
			Result string   `json:"result"`
			Flags  []string `json:"flags"`
		} `json:"fib"`
	}
	_ = json.Unmarshal(left, &l)
	switch {
	case l.CT != nil && l.CT.Key == "status":
		// A probe opens a fresh connection to the host itself: no NAT, not
		// expected, not yet seen a reply.
		return []Match{{Field: Assumed, Holds: false, Text: text}}
	case l.Fib != nil && l.Fib.Result == "type" && len(l.Fib.Flags) == 1:
		field := map[string]Field{"saddr": SrcType, "daddr": DstType}[l.Fib.Flags[0]]
		if m, ok := valueMatch(field, op, right); ok && field != "" {
			return []Match{m}
		}
	case l.Fib != nil && l.Fib.Result == "oif" && string(right) == "false":
		// "fib ... oif missing" is reverse-path filtering; a probe comes
		// from a routable source.
		return []Match{{Field: Assumed, Holds: false, Text: text}}
	}
	return []Match{{Field: Opaque, Text: text}}
}

// parsed is the right-hand side of a match or a set element.
type parsed struct {
	ports    []PortRange
	prefixes []netip.Prefix
	names    []string
	set      string
	ok       bool
}

func valueMatch(field Field, op string, right json.RawMessage) (Match, bool) {
	m := Match{Field: field, Negate: op == "!="}
	switch op {
	case "==", "!=", "in":
	case "<", "<=", ">", ">=":
		return comparison(m, op, right)
	default:
		return m, false
	}
	v := parseValue(right)
	m.Set = v.set
	switch field {
	case SPort, DPort:
		m.Ports = v.ports
		return m, v.ok && (v.set != "" || len(v.ports) > 0)
	case SAddr, DAddr:
		m.Prefixes = v.prefixes
		return m, v.ok && (v.set != "" || len(v.prefixes) > 0)
	case Proto:
		m.Protos = v.names
	default:
		m.Names = v.names
	}
	return m, v.ok && (v.set != "" || len(v.names) > 0)
}

// comparison turns `tcp dport < 1024` into a port range.
func comparison(m Match, op string, right json.RawMessage) (Match, bool) {
	var n int
	if (m.Field != DPort && m.Field != SPort) || json.Unmarshal(right, &n) != nil || n < 1 || n > 65534 {
		return m, false // not a port comparison, or one that is empty or always true: left opaque
	}
	r := map[string]PortRange{"<": {0, uint16(n - 1)}, "<=": {0, uint16(n)},
		">": {uint16(n + 1), 65535}, ">=": {uint16(n), 65535}}[op]
	m.Ports = []PortRange{r}
	return m, true
}

// parseValue reads a number, a string (name, address, "@set"), a range,
// a prefix, a list or an anonymous {"set": [...]} of those.
func parseValue(raw json.RawMessage) parsed {
	raw = bytes.TrimSpace(raw)
	var out parsed
	var n int
	var s string
	var list []json.RawMessage
	var obj struct {
		Set    []json.RawMessage `json:"set"`
		Range  []json.RawMessage `json:"range"`
		Prefix *struct {
			Addr string `json:"addr"`
			Len  int    `json:"len"`
		} `json:"prefix"`
	}
	switch {
	case json.Unmarshal(raw, &n) == nil:
		out.ports, out.ok = []PortRange{{uint16(n), uint16(n)}}, n >= 0 && n <= 65535
		out.names = []string{fmt.Sprint(n)}
	case json.Unmarshal(raw, &s) == nil:
		out = parseString(s)
	case json.Unmarshal(raw, &list) == nil:
		out = parseList(list)
	case json.Unmarshal(raw, &obj) == nil && obj.Set != nil:
		out = parseList(obj.Set)
	case len(obj.Range) == 2:
		out = parseRange(obj.Range)
	case obj.Prefix != nil:
		p, err := netip.ParsePrefix(fmt.Sprintf("%s/%d", obj.Prefix.Addr, obj.Prefix.Len))
		out.prefixes, out.ok = []netip.Prefix{p}, err == nil
	}
	return out
}

func parseString(s string) parsed {
	if strings.HasPrefix(s, "@") {
		return parsed{set: s[1:], ok: true}
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return parsed{prefixes: []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}, ok: true}
	}
	return parsed{names: []string{s}, ok: true}
}

func parseList(list []json.RawMessage) parsed {
	out := parsed{ok: true}
	for _, e := range list {
		v := parseValue(e)
		out.ports = append(out.ports, v.ports...)
		out.prefixes = append(out.prefixes, v.prefixes...)
		out.names = append(out.names, v.names...)
		out.ok = out.ok && v.ok && v.set == ""
	}
	return out
}

func parseRange(r []json.RawMessage) parsed {
	var lo, hi int
	if json.Unmarshal(r[0], &lo) == nil && json.Unmarshal(r[1], &hi) == nil {
		return parsed{ports: []PortRange{{uint16(lo), uint16(hi)}}, ok: true}
	}
	var a, b string
	if json.Unmarshal(r[0], &a) != nil || json.Unmarshal(r[1], &b) != nil {
		return parsed{}
	}
	return addrRange(a, b)
}

// addrRange covers an address range with prefixes, as iptables' iprange
// and nft's "a-b" both need.
func addrRange(a, b string) parsed {
	lo, err1 := netip.ParseAddr(a)
	hi, err2 := netip.ParseAddr(b)
	if err1 != nil || err2 != nil || hi.Less(lo) || lo.BitLen() != hi.BitLen() {
		return parsed{}
	}
	var out parsed
	for {
		bits := lo.BitLen()
		for bits > 0 {
			p := netip.PrefixFrom(lo, bits-1).Masked()
			if p.Addr() != lo || lastAddr(p).Compare(hi) > 0 {
				break
			}
			bits--
		}
		p := netip.PrefixFrom(lo, bits)
		out.prefixes = append(out.prefixes, p)
		last := lastAddr(p)
		if last == hi || !last.Next().IsValid() {
			break
		}
		lo = last.Next()
	}
	out.ok = true
	return out
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}
