package firewall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
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
	Family string          `json:"family"`
	Table  string          `json:"table"`
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	Hook   string          `json:"hook"`
	Prio   int             `json:"prio"`
	Policy string          `json:"policy"`
	Dev    json.RawMessage `json:"dev"`
}

type nftSet struct {
	Family  string            `json:"family"`
	Table   string            `json:"table"`
	Name    string            `json:"name"`
	Type    json.RawMessage   `json:"type"`
	Map     json.RawMessage   `json:"map"`
	Flags   []string          `json:"flags"`
	Timeout int               `json:"timeout"`
	Elem    []json.RawMessage `json:"elem"`
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
				rs.Tables = append(rs.Tables, &Table{Family: t.Family, Name: t.Name, Sets: map[string]*Set{}, Origin: Nftables})
			}
		case "chain":
			err = rs.addNftChain(raw)
		case "set", "map":
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
	var dev string
	json.Unmarshal(c.Dev, &dev) // a list of devices stays "": unknown
	t.Chains = append(t.Chains, &Chain{Name: c.Name, Type: c.Type, Hook: c.Hook, Priority: c.Prio, Policy: c.Policy, Device: dev})
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
	set := &Set{Name: s.Name, Type: typeName(s.Type)}
	// A set a rule adds to is dynamic too; addNftRule marks those.
	set.Dynamic = s.Timeout > 0 || slices.Contains(s.Flags, "dynamic") || slices.Contains(s.Flags, "timeout")
	var mapType string
	json.Unmarshal(s.Map, &mapType)
	for _, e := range s.Elem {
		if !set.addElem(unwrapElem(e), mapType) {
			set.Opaque = true
		}
	}
	if len(s.Map) > 0 && mapType != "verdict" {
		set.Opaque = true // a data map (for dnat and the like), not a set to look up
	}
	t.Sets[s.Name] = set
	return nil
}

// typeName renders a set's type: "ipv4_addr", or "ipv4_addr . inet_service"
// for a concatenation.
func typeName(raw json.RawMessage) string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one
	}
	var parts []string
	json.Unmarshal(raw, &parts)
	return strings.Join(parts, " . ")
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

// addElem adds one element: a value, a concatenation, or for a verdict map
// a [key, verdict] pair.
func (s *Set) addElem(e json.RawMessage, mapType string) bool {
	if mapType != "" {
		var pair []json.RawMessage
		if json.Unmarshal(e, &pair) != nil || len(pair) != 2 {
			return false
		}
		key, ok := elemValues(unwrapElem(pair[0]))
		kind, body := exprObject(pair[1])
		if mapType == "verdict" {
			s.Verdicts = append(s.Verdicts, MapEntry{Key: key, Action: nftAction(kind, body, pair[1])})
		}
		return ok
	}
	vals, ok := elemValues(e)
	if len(vals) > 1 {
		s.Tuples = append(s.Tuples, vals)
		return ok
	}
	if len(vals) == 1 {
		s.Ports = append(s.Ports, vals[0].Ports...)
		s.Prefixes = append(s.Prefixes, vals[0].Prefixes...)
		s.Names = append(s.Names, vals[0].Names...)
		s.Nums = append(s.Nums, portsAsNums(vals[0].Ports)...)
	}
	return ok
}

// elemValues reads an element: one value, or each part of a concatenation.
func elemValues(e json.RawMessage) ([]Value, bool) {
	var c struct {
		Concat []json.RawMessage `json:"concat"`
	}
	parts := []json.RawMessage{e}
	if json.Unmarshal(e, &c) == nil && c.Concat != nil {
		parts = c.Concat
	}
	var out []Value
	for _, p := range parts {
		v := parseValue(p)
		if !v.ok || v.set != "" {
			return out, false
		}
		out = append(out, Value{Ports: v.ports, Prefixes: v.prefixes, Names: v.names})
	}
	return out, true
}

func portsAsNums(ps []PortRange) []NumRange {
	var out []NumRange
	for _, p := range ps {
		out = append(out, NumRange{uint32(p.Lo), uint32(p.Hi)})
	}
	return out
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
	rules := nftRules(r, t)
	for _, rule := range rules {
		for _, e := range rule.Effects {
			if s := t.Sets[e.Set]; s != nil && e.Kind == SetAdd {
				s.Dynamic = true
			}
		}
	}
	c.Rules = append(c.Rules, rules...)
	return nil
}

// nftRules converts one nft rule into model rules: one, or one per
// element when the rule ends in a verdict map (or a NAT map), because `k
// vmap {v1: a1, v2: a2}` behaves as `k v1 a1` then `k v2 a2` (map keys are
// distinct).
func nftRules(r nftRule, t *Table) []*Rule {
	base := Rule{Handle: r.Handle, Comment: r.Comment, Action: Action{Kind: Continue}}
	var expand func(Rule) []*Rule
	for _, e := range r.Expr {
		kind, body := exprObject(e)
		switch {
		case kind == "match":
			base.Matches = append(base.Matches, nftMatch(body)...)
		case kind == "vmap":
			expand = func(b Rule) []*Rule { return expandVmap(b, body, t) }
		case kind == "dnat" && natMap(body) != nil:
			expand = func(b Rule) []*Rule { return expandNatMap(b, body) }
		case nonTerminal[kind]:
		case kind == "set" && setOp(body) == "delete":
			// A later lookup of the set would differ from the read.
			base.Action = Action{Kind: Unknown, Target: compact(e)}
		case kind == "mangle" || kind == "notrack" || kind == "set":
			base.Matches = append(base.Matches, setStatementMatch(kind, body)...)
			base.Effects = append(base.Effects, nftEffect(kind, body))
		case rateLike[kind]:
			base.Matches = append(base.Matches, rateMatch(kind, body, compact(e)))
		case kind == "tproxy":
			base.Matches = append(base.Matches, tproxyMatch(body))
		case isXtMatch(kind, body):
			base.Matches = append(base.Matches, Match{Field: Opaque, Text: compact(e)})
		case kind == "xt":
			base.Action = xtTarget(body, e)
		default:
			base.Action = nftAction(kind, body, e)
		}
	}
	if expand != nil {
		return expand(base)
	}
	base.Text = nftText(&base)
	return []*Rule{&base}
}

// nonTerminal statements change nothing a verdict depends on.
var nonTerminal = map[string]bool{"counter": true, "log": true, "dup": true, "ct helper": true,
	"flow": true, "ct timeout": true, "ct expectation": true, "secmark": true}

// rateLike statements end the rule early once a rate, a quota or a count
// is passed; a probe is a single new connection, under every limit.
var rateLike = map[string]bool{"limit": true, "quota": true, "ct count": true, "meter": true}

// tproxyMatch reads nft's tproxy statement. It hands the packet to a
// transparent socket listening on its address and port, and the rule's
// later statements run; with no such socket the rule goes no further
// (NFT_BREAK), so it is a match on whether a proxy listens there. A
// packet of an established connection finds its own socket first.
// Either way the packet stays on the host, addressed as it was.
func tproxyMatch(body json.RawMessage) Match {
	var t struct {
		Addr string
		Port int
	}
	json.Unmarshal(body, &t)
	to := t.Addr
	if t.Port != 0 {
		to += fmt.Sprintf(":%d", t.Port)
	}
	return Match{Field: Transparent, Why: to, Text: "tproxy to " + to}
}

// isXtMatch reports an iptables-nft match nft can only show by name.
func isXtMatch(kind string, body json.RawMessage) bool {
	var x struct {
		Type string `json:"type"`
	}
	return kind == "xt" && json.Unmarshal(body, &x) == nil && x.Type == "match"
}

// xtTarget reads an iptables-nft target nft shows by name only: one that
// only observes continues; one whose effect later rules may see (a mark,
// notrack, an ipset element) or that decides cannot be followed without
// its options.
func xtTarget(body, whole json.RawMessage) Action {
	var x struct {
		Name string `json:"name"`
	}
	json.Unmarshal(body, &x)
	if observingTargets[x.Name] && !effectTargets[x.Name] {
		return Action{Kind: Continue}
	}
	return Action{Kind: Unknown, Target: compact(whole)}
}

// effectTargets change what later rules see.
var effectTargets = map[string]bool{"MARK": true, "CONNMARK": true, "CT": true, "NOTRACK": true, "SET": true}

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
		var r struct{ Type string }
		json.Unmarshal(body, &r)
		return Action{Kind: Reject, Reset: r.Type == "tcp reset"}
	case "jump", "goto":
		var t struct {
			Target string `json:"target"`
		}
		if json.Unmarshal(body, &t) == nil {
			return Action{Kind: ActionKind(kind), Target: t.Target}
		}
	case "snat", "masquerade":
		return Action{Kind: SNat, Target: kind}
	case "dnat", "redirect":
		if nat, ok := nftNAT(kind, body); ok {
			return Action{Kind: DNat, NAT: nat, Target: natText(nat)}
		}
	case "queue":
		var q struct {
			Flags json.RawMessage `json:"flags"`
		}
		json.Unmarshal(body, &q)
		return Action{Kind: Queue, Bypass: bytes.Contains(q.Flags, []byte(`"bypass"`)), Target: "queue " + compact(body)}
	}
	return Action{Kind: Unknown, Target: compact(whole)}
}

// nftNAT reads a dnat or redirect statement with a constant address and
// port; a map or an expression stays unknown.
func nftNAT(kind string, body json.RawMessage) (NAT, bool) {
	var d struct {
		Addr json.RawMessage `json:"addr"`
		Port json.RawMessage `json:"port"`
	}
	nat := NAT{Redirect: kind == "redirect"}
	if string(body) == "null" {
		return nat, true
	}
	if json.Unmarshal(body, &d) != nil {
		return nat, false
	}
	if d.Addr != nil {
		var s string
		if json.Unmarshal(d.Addr, &s) != nil {
			return nat, false
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nat, false
		}
		nat.Addr = a
	}
	if d.Port != nil {
		v := parseValue(d.Port)
		if !v.ok || len(v.ports) != 1 {
			return nat, false
		}
		nat.Ports = v.ports[0]
	}
	return nat, true
}

func natText(n NAT) string {
	var to string
	if n.Addr.IsValid() {
		to = n.Addr.String()
		if n.Addr.Is6() && n.Ports.Lo != 0 {
			to = "[" + to + "]"
		}
	}
	if n.Ports.Lo != 0 {
		to += ":" + n.Ports.String()
	}
	word := "dnat"
	if n.Redirect {
		word = "redirect"
	}
	if to == "" {
		return word
	}
	return word + " to " + to
}

// natMap returns the map of `dnat to tcp dport map { 80 : 10.0.0.2 }`.
func natMap(body json.RawMessage) json.RawMessage {
	var d struct {
		Addr struct {
			Map json.RawMessage `json:"map"`
		} `json:"addr"`
	}
	if json.Unmarshal(body, &d) != nil {
		return nil
	}
	return d.Addr.Map
}

// expandNatMap turns `dnat to K map { k1 : a1, ... }` into one rule per
// element, as expandVmap does for verdicts.
func expandNatMap(base Rule, body json.RawMessage) []*Rule {
	var m struct {
		Key  json.RawMessage `json:"key"`
		Data struct {
			Set [][2]json.RawMessage `json:"set"`
		} `json:"data"`
	}
	if json.Unmarshal(natMap(body), &m) != nil || len(m.Data.Set) == 0 {
		base.Action = Action{Kind: Unknown, Target: "dnat " + compact(body)}
		base.Text = nftText(&base)
		return []*Rule{&base}
	}
	var rules []*Rule
	var entries []MapEntry
	for _, kv := range m.Data.Set {
		r := base
		r.Matches = append(slices.Clip(base.Matches), keyMatch(m.Key, kv[0])...)
		if nat, ok := natTo(kv[1]); ok {
			r.Action = Action{Kind: DNat, NAT: nat, Target: natText(nat)}
		} else {
			r.Action = Action{Kind: Unknown, Target: "dnat " + compact(body)}
		}
		r.Text = nftText(&r)
		rules = append(rules, &r)
		key, _ := elemValues(kv[0])
		entries = append(entries, MapEntry{Key: key, Action: r.Action})
	}
	if chosen, ok := expandChoice(base, m.Key, entries); ok {
		return chosen // dnat to numgen random mod N map { ... }: one endpoint of N
	}
	return rules
}

// natTo reads a NAT map's data: an address, or an address and a port.
func natTo(data json.RawMessage) (NAT, bool) {
	vals, ok := elemValues(data)
	if !ok || len(vals) == 0 || len(vals) > 2 || len(vals[0].Prefixes) != 1 || vals[0].Prefixes[0].Bits() != vals[0].Prefixes[0].Addr().BitLen() {
		return NAT{}, false
	}
	n := NAT{Addr: vals[0].Prefixes[0].Addr()}
	if len(vals) == 2 {
		if len(vals[1].Ports) != 1 {
			return NAT{}, false
		}
		n.Ports = vals[1].Ports[0]
	}
	return n, true
}

// expandVmap turns a verdict map into one rule per element. A named map
// is expanded from its elements as read; one the model cannot read leaves
// the rule's action unknown.
func expandVmap(base Rule, body json.RawMessage, t *Table) []*Rule {
	var v struct {
		Key  json.RawMessage `json:"key"`
		Data json.RawMessage `json:"data"`
	}
	var inline struct {
		Set [][2]json.RawMessage `json:"set"`
	}
	var named string
	unknown := func() []*Rule {
		base.Action = Action{Kind: Unknown, Target: "vmap " + compact(body)}
		base.Text = nftText(&base)
		return []*Rule{&base}
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return unknown()
	}
	var entries []MapEntry
	switch {
	case json.Unmarshal(v.Data, &named) == nil && strings.HasPrefix(named, "@"):
		s := t.Sets[named[1:]]
		if s == nil || s.Opaque {
			return unknown()
		}
		entries = s.Verdicts
	case json.Unmarshal(v.Data, &inline) == nil && len(inline.Set) > 0:
		for _, kv := range inline.Set {
			key, ok := elemValues(kv[0])
			if !ok {
				return unknown()
			}
			kind, b := exprObject(kv[1])
			entries = append(entries, MapEntry{Key: key, Action: nftAction(kind, b, kv[1])})
		}
	default:
		return unknown()
	}
	if rules, ok := expandChoice(base, v.Key, entries); ok {
		return rules
	}
	k := nftKey(v.Key)
	var rules []*Rule
	for _, e := range entries {
		r := base
		m, ok := k.matchValues("==", e.Key)
		if !ok {
			m = []Match{{Field: Opaque, Text: compact(v.Key) + " (a verdict map's key)"}}
		}
		r.Matches = append(slices.Clip(base.Matches), m...)
		r.Action = e.Action
		r.Text = nftText(&r)
		rules = append(rules, &r)
	}
	return rules
}

// choiceKey reads a key that picks one of mod consecutive numbers from
// offset for each connection: numgen (random or inc), jhash and symhash
// (a hash of the packet the model does not compute). kube-proxy picks a
// Service's endpoint this way.
func choiceKey(key json.RawMessage) (lo, n int, what string, ok bool) {
	kind, body := exprObject(key)
	if kind != "numgen" && kind != "jhash" && kind != "symhash" {
		return 0, 0, "", false
	}
	var k struct {
		Mode        string
		Expr        json.RawMessage
		Mod, Offset int
	}
	if json.Unmarshal(body, &k) != nil || k.Mod <= 0 || k.Offset < 0 {
		return 0, 0, "", false
	}
	parts := []string{kind}
	if k.Mode != "" {
		parts = append(parts, k.Mode)
	}
	if k.Expr != nil {
		parts = append(parts, exprText(k.Expr))
	}
	what = strings.Join(parts, " ") + fmt.Sprintf(" mod %d", k.Mod)
	if k.Offset != 0 {
		what += fmt.Sprintf(" offset %d", k.Offset)
	}
	return k.Offset, k.Mod, what, true
}

// expandChoice expands a map whose key is a choice (choiceKey): each
// element holds when the choice falls on it, which the model cannot
// know, so each is undecided and every one is followed; but when the
// elements cover every value the choice can take, the last one holds on
// the path where no earlier one did, and no path falls through the map.
// An element outside the choice's values never holds.
func expandChoice(base Rule, key json.RawMessage, entries []MapEntry) ([]*Rule, bool) {
	lo, n, what, ok := choiceKey(key)
	if !ok {
		return nil, false
	}
	hi := lo + n - 1
	inRange := make([][]PortRange, len(entries))
	covered := map[int]bool{}
	last := -1
	for i, e := range entries {
		if len(e.Key) != 1 || len(e.Key[0].Ports) == 0 {
			return nil, false
		}
		for _, p := range e.Key[0].Ports {
			a, b := max(int(p.Lo), lo), min(int(p.Hi), hi)
			if a > b {
				continue
			}
			inRange[i] = append(inRange[i], PortRange{uint16(a), uint16(b)})
			for x := a; x <= b; x++ {
				covered[x] = true
			}
			last = i
		}
	}
	var rules []*Rule
	for i, e := range entries {
		r := base
		var vals []string
		for _, p := range e.Key[0].Ports {
			vals = append(vals, p.String())
		}
		val := strings.Join(vals, ", ")
		m := Match{Field: Choice, Why: what, Text: what + " " + val}
		switch {
		case len(inRange[i]) == 0:
			m = Match{Field: Assumed, Holds: false, Why: fmt.Sprintf("%s never picks %s", what, val), Text: m.Text}
		case i == last && len(covered) == n:
			m = Match{Field: Assumed, Holds: true, Why: fmt.Sprintf("%s picks one of the map's values: this one, where no earlier one was picked", what), Text: m.Text}
		}
		r.Matches = append(slices.Clip(base.Matches), m)
		r.Action = e.Action
		r.Text = nftText(&r)
		rules = append(rules, &r)
	}
	return rules, true
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
	if json.Unmarshal(body, &m) != nil {
		return []Match{{Field: Opaque, Text: compact(body)}}
	}
	text := matchText(m.Op, m.Left, m.Right)
	k := nftKey(m.Left)
	if k.assumed != nil {
		return append(k.implied(), k.assumed(m.Op, m.Right, text)...)
	}
	if k.field == "" {
		return append(k.implied(), Match{Field: Opaque, Text: text})
	}
	ms, ok := k.match(m.Op, m.Right)
	if !ok {
		return append(k.implied(), Match{Field: Opaque, Text: text})
	}
	return ms
}

// key is what the left side of a match reads: a field, bound to an
// address family, implying a transport protocol, under a mask; or the
// parts of a concatenation. assumed decides matches whose outcome follows
// from what a probe is.
type key struct {
	field   Field
	family  string
	proto   string
	mask    uint32
	parts   []key
	text    string
	assumed func(op string, right json.RawMessage, text string) []Match
}

func nftKey(left json.RawMessage) key {
	kind, body := exprObject(left)
	k := key{text: compact(left)}
	switch kind {
	case "payload":
		var p struct{ Protocol, Field string }
		json.Unmarshal(body, &p)
		return payloadKey(k, p.Protocol, p.Field)
	case "meta":
		var mk struct{ Key string }
		json.Unmarshal(body, &mk)
		return metaKey(k, mk.Key)
	case "ct":
		var c struct{ Key, Dir string }
		json.Unmarshal(body, &c)
		return ctKey(k, c.Key, c.Dir)
	case "fib":
		k.assumed = func(op string, right json.RawMessage, text string) []Match {
			return fibMatch(body, op, right, text)
		}
		return k
	case "&":
		var and []json.RawMessage
		if json.Unmarshal(body, &and) != nil || len(and) != 2 {
			return k
		}
		inner := nftKey(and[0])
		mask, ok := numValue(inner.field, and[1])
		if !ok || inner.field == "" || inner.parts != nil || !numeric[inner.field] {
			return key{text: k.text}
		}
		inner.mask, inner.text = mask, k.text
		return inner
	case "concat":
		var parts []json.RawMessage
		json.Unmarshal(body, &parts)
		k.field = Concat
		for _, p := range parts {
			pk := nftKey(p)
			if pk.field == "" || pk.field == Concat || pk.assumed != nil {
				return key{text: k.text}
			}
			k.parts = append(k.parts, pk)
		}
		return k
	case "tcp option":
		var o struct{ Name, Field string }
		json.Unmarshal(body, &o)
		if o.Name == "maxseg" && o.Field == "size" {
			k.field, k.proto = TCPMSS, "tcp"
		}
		// Other options (SACK, timestamps, window scale) vary by the
		// client's stack: left opaque.
	case "exthdr", "ip option":
		k.assumed = absentHeader
	case "ipsec":
		k.assumed = noIPsec
	}
	return k
}

func payloadKey(k key, protocol, field string) key {
	switch {
	case (protocol == "ip" || protocol == "ip6") && field == "saddr":
		k.field, k.family = SAddr, protocol
	case (protocol == "ip" || protocol == "ip6") && field == "daddr":
		k.field, k.family = DAddr, protocol
	case protocol == "ip" && field == "protocol", protocol == "ip6" && field == "nexthdr":
		k.field, k.family = Proto, protocol
	case field == "dport" || field == "sport":
		k.field = map[string]Field{"dport": DPort, "sport": SPort}[field]
		if protocol != "th" {
			k.proto = protocol
		}
	case protocol == "tcp" && field == "flags":
		k.field, k.proto = TCPFlags, "tcp"
	case protocol == "ip" && (field == "length" || field == "hdrlength" || field == "ttl" || field == "frag-off" || field == "dscp"),
		protocol == "ip6" && (field == "length" || field == "hoplimit" || field == "dscp"):
		k.field, k.family = map[string]Field{"length": Length, "hdrlength": HdrLen, "ttl": TTL,
			"hoplimit": TTL, "frag-off": FragOff, "dscp": DSCP}[field], protocol
		if protocol == "ip6" && field == "length" {
			k.field = "" // ip6's payload length is not meta length: left opaque
		}
	case protocol == "ip" && field == "version", protocol == "ip6" && field == "version":
		k.field = NFProto
		k.family = protocol
	}
	return k
}

var metaFields = map[string]Field{"l4proto": Proto, "iifname": IIf, "iif": IIf,
	"oifname": OIf, "oif": OIf, "nfproto": NFProto, "protocol": NFProto, "pkttype": PktType,
	"mark": MarkField, "length": Length, "skuid": SockUID, "skgid": SockGID}

func metaKey(k key, name string) key {
	if f, ok := metaFields[name]; ok {
		k.field = f
		return k
	}
	switch name {
	case "time", "hour", "day":
		k.assumed = func(op string, right json.RawMessage, text string) []Match {
			return []Match{{Field: TimeField, Text: text}}
		}
	case "iiftype", "oiftype":
		k.assumed = func(op string, right json.RawMessage, text string) []Match {
			return []Match{ifTypeMatch(name, op, right, text)}
		}
	case "secpath":
		k.assumed = noIPsec
	}
	return k
}

func ctKey(k key, name, dir string) key {
	switch {
	case name == "state":
		k.field = CTState
	case name == "status":
		k.field = CtStatus
	case name == "mark":
		k.field = CtMarkField
	case name == "direction":
		k.assumed = func(op string, right json.RawMessage, text string) []Match {
			m, _ := valueMatch(Assumed, op, right)
			holds := slices.Contains(m.Names, "original") != m.Negate
			return []Match{{Field: Assumed, Holds: holds, Why: "the first packet goes in the original direction", Text: text}}
		}
	case (name == "saddr" || name == "daddr") && dir == "original":
		k.field = map[string]Field{"saddr": SAddr, "daddr": DAddr}[name]
	}
	return k
}

// numeric fields compare numbers, under a mask.
var numeric = map[Field]bool{TCPFlags: true, MarkField: true, CtMarkField: true, Length: true,
	HdrLen: true, TTL: true, FragOff: true, DSCP: true, TCPMSS: true}

// implied returns the matches a key implies on its own: "tcp dport"
// implies TCP, "ip saddr" in an inet table IPv4.
func (k key) implied() []Match {
	var out []Match
	if k.proto != "" {
		out = append(out, Match{Field: Proto, Protos: []string{k.proto}})
	}
	if k.field == "" || k.field == Opaque {
		return append(out, impliedProto(k.text)...)
	}
	return out
}

// match builds the model's match for `k op right`.
func (k key) match(op string, right json.RawMessage) ([]Match, bool) {
	if k.field == Concat {
		return k.concatMatch(op, right)
	}
	m, ok := valueMatch(k.field, op, right)
	if !ok {
		return nil, false
	}
	m.Family, m.Mask, m.Text = k.family, k.mask, ""
	if op == "in" && numeric[k.field] && len(m.Nums) == 1 {
		m.AnyBit = true
	}
	if numeric[k.field] || k.field == CtStatus || k.field == PktType || k.field == SockUID || k.field == SockGID {
		m.Text = k.describe(op, right)
	}
	if k.field == NFProto && k.family != "" {
		// "ip version 4" holds for every IPv4 packet, "ip version 6" for none.
		version := map[string]string{"ip": "4", "ip6": "6"}[k.family]
		name := "none"
		if slices.Contains(m.Names, version) {
			name = map[string]string{"ip": "ipv4", "ip6": "ipv6"}[k.family]
		}
		m = Match{Field: NFProto, Names: []string{name}, Negate: m.Negate, Text: k.describe(op, right)}
	}
	return append(k.implied(), m), true
}

// matchValues builds the match for a verdict map's key: k equal to vals.
func (k key) matchValues(op string, vals []Value) ([]Match, bool) {
	if k.field == Concat {
		if len(vals) != len(k.parts) {
			return nil, false
		}
		return append(k.impliedParts(), Match{Field: Concat, Key: k.fields(), Tuples: [][]Value{vals},
			Text: exprText(json.RawMessage(k.text)) + " " + valuesText(vals)}), true
	}
	if k.field == "" || len(vals) != 1 || k.assumed != nil {
		return nil, false
	}
	v := vals[0]
	m := Match{Field: k.field, Family: k.family, Mask: k.mask}
	switch {
	case numeric[k.field]:
		m.Nums = portsAsNums(v.Ports)
		m.Text = exprText(json.RawMessage(k.text)) + " " + valuesText(vals)
	case k.field == DPort || k.field == SPort:
		m.Ports = v.Ports
	case k.field == SAddr || k.field == DAddr:
		m.Prefixes = v.Prefixes
	case k.field == Proto:
		m.Protos = v.Names
	default:
		m.Names = v.Names
	}
	return append(k.implied(), m), true
}

func (k key) fields() []Field {
	var fs []Field
	for _, p := range k.parts {
		fs = append(fs, p.field)
	}
	return fs
}

func (k key) impliedParts() []Match {
	var out []Match
	for _, p := range k.parts {
		out = append(out, p.implied()...)
		if p.family != "" && (p.field == SAddr || p.field == DAddr) {
			out = append(out, Match{Field: NFProto, Names: []string{map[string]string{"ip": "ipv4", "ip6": "ipv6"}[p.family]}})
		}
	}
	return out
}

func (k key) concatMatch(op string, right json.RawMessage) ([]Match, bool) {
	if op != "==" && op != "!=" && op != "in" {
		return nil, false
	}
	m := Match{Field: Concat, Key: k.fields(), Negate: op == "!=", Text: matchText(op, json.RawMessage(k.text), right)}
	named, elems := setElems(right)
	if named != "" {
		m.Set = named
		return append(k.impliedParts(), m), true
	}
	for _, e := range elems {
		vals, ok := elemValues(e)
		if !ok || len(vals) != len(k.parts) {
			return nil, false
		}
		m.Tuples = append(m.Tuples, vals)
	}
	return append(k.impliedParts(), m), true
}

func (k key) describe(op string, right json.RawMessage) string {
	return matchText(op, json.RawMessage(k.text), right)
}

// matchText renders a match in nft's syntax: "tcp flags & (fin | syn)
// == syn", "meta mark 42".
func matchText(op string, left, right json.RawMessage) string {
	if op == "==" || op == "in" {
		op = ""
	}
	r := exprText(right)
	if kind, _ := exprObject(left); kind == "fib" && (r == "false" || r == "true") {
		r = map[string]string{"false": "missing", "true": "exists"}[r]
	}
	return strings.Join(strings.Fields(exprText(left)+" "+op+" "+r), " ")
}

// exprText renders an nft JSON expression the way nft prints it, as far
// as a reader needs: payloads, meta and ct keys, fib, binary operators,
// sets, ranges, prefixes and concatenations; anything else as its JSON.
func exprText(raw json.RawMessage) string {
	var n json.Number
	var s string
	var list []json.RawMessage
	switch {
	case json.Unmarshal(raw, &n) == nil:
		return n.String()
	case json.Unmarshal(raw, &s) == nil:
		return s
	case json.Unmarshal(raw, &list) == nil:
		return "{ " + joinExprs(list, ", ") + " }"
	}
	kind, body := exprObject(raw)
	var f struct {
		Protocol, Field, Key, Result, Addr, Name string
		Flags                                    []string
		Len                                      int
	}
	json.Unmarshal(body, &f)
	var parts []json.RawMessage
	json.Unmarshal(body, &parts)
	switch kind {
	case "payload":
		return f.Protocol + " " + f.Field
	case "meta":
		return "meta " + f.Key
	case "tcp option":
		return strings.TrimSpace("tcp option " + f.Name + " " + f.Field)
	case "ct":
		return "ct " + f.Key
	case "fib":
		return "fib " + strings.Join(f.Flags, " . ") + " " + f.Result
	case "prefix":
		return fmt.Sprintf("%s/%d", f.Addr, f.Len)
	case "set":
		return "{ " + joinExprs(parts, ", ") + " }"
	case "range":
		return joinExprs(parts, "-")
	case "concat":
		return joinExprs(parts, " . ")
	case "&", "|", "^", "<<", ">>":
		return "(" + joinExprs(parts, " "+kind+" ") + ")"
	}
	return compact(raw)
}

func joinExprs(list []json.RawMessage, sep string) string {
	var out []string
	for _, e := range list {
		out = append(out, exprText(e))
	}
	return strings.Join(out, sep)
}

func valuesText(vals []Value) string {
	var parts []string
	for _, v := range vals {
		var vs []string
		for _, p := range v.Ports {
			vs = append(vs, p.String())
		}
		for _, p := range v.Prefixes {
			vs = append(vs, p.String())
		}
		vs = append(vs, v.Names...)
		parts = append(parts, strings.Join(vs, ","))
	}
	return strings.Join(parts, " . ")
}

// impliedProto returns the protocol a payload match depends on: "icmpv6
// type 1" can only match ICMPv6 packets, whatever the rest means.
func impliedProto(text string) []Match {
	var l struct {
		Payload *struct{ Protocol string } `json:"payload"`
	}
	if json.Unmarshal([]byte(text), &l) != nil || l.Payload == nil {
		return nil
	}
	switch p := l.Payload.Protocol; p {
	case "ip", "ip6":
		return []Match{{Field: NFProto, Names: []string{map[string]string{"ip": "ipv4", "ip6": "ipv6"}[p]}}}
	case "tcp", "udp", "udplite", "sctp", "dccp", "icmp", "esp", "ah", "comp", "gre":
		return []Match{{Field: Proto, Protos: []string{p}}}
	case "icmpv6":
		return []Match{{Field: Proto, Protos: []string{"ipv6-icmp"}}}
	}
	return nil
}

// fibMatch decides fib lookups: address types (fib daddr type local) are
// address-type matches; "fib ... oif missing" is reverse-path filtering,
// and a probe comes from a routable source.
func fibMatch(body json.RawMessage, op string, right json.RawMessage, text string) []Match {
	var f struct {
		Result string   `json:"result"`
		Flags  []string `json:"flags"`
	}
	json.Unmarshal(body, &f)
	switch {
	case f.Result == "type" && (slices.Contains(f.Flags, "saddr") || slices.Contains(f.Flags, "daddr")):
		field := DstType
		if slices.Contains(f.Flags, "saddr") {
			field = SrcType
		}
		if m, ok := valueMatch(field, op, right); ok {
			m.Text = text
			return []Match{m}
		}
	case f.Result == "oif" && string(right) == "false":
		return []Match{{Field: Assumed, Holds: op == "!=", Why: "a valid reverse path to the source", Text: text}}
	}
	return []Match{{Field: Opaque, Text: text}}
}

// absentHeader decides "exthdr X exists" and "ip option X exists": a
// probe has no IPv6 extension headers and no IPv4 options. Reading a field
// of a header that is not there fails the match, whatever it compares.
func absentHeader(op string, right json.RawMessage, text string) []Match {
	holds := false
	if string(right) == "true" || string(right) == "false" {
		holds = (string(right) == "false") != (op == "!=")
	}
	return []Match{{Field: Assumed, Holds: holds, Why: ipHeaderWhy, Text: text}}
}

// noIPsec decides "meta secpath exists" and ipsec matches: a probe is
// plain, not IPsec.
func noIPsec(op string, right json.RawMessage, text string) []Match {
	holds := string(right) == "false"
	if op == "!=" {
		holds = !holds
	}
	return []Match{{Field: Assumed, Holds: holds, Why: "not IPsec", Text: text}}
}

// ifTypeMatch decides "meta iiftype ether": every interface but lo is
// Ethernet-like here.
func ifTypeMatch(name, op string, right json.RawMessage, text string) Match {
	m, ok := valueMatch(Assumed, op, right)
	if !ok {
		return Match{Field: Opaque, Text: text}
	}
	field := IIf
	if name == "oiftype" {
		field = OIf
	}
	out := Match{Field: field, Negate: !m.Negate, Names: []string{"lo"}, Text: text}
	if slices.Contains(m.Names, "loopback") {
		out.Negate = m.Negate
	} else if !slices.Contains(m.Names, "ether") {
		return Match{Field: Opaque, Text: text}
	}
	return out
}

// ipHeaderWhy names what a probe assumes about its IP header.
const ipHeaderWhy = "a plain IP header (no options or extension headers, not a fragment, DSCP 0, an ordinary TTL)"

// rateMatch decides a rate limit, quota or connection count for a single
// new connection: under every limit, and with only itself counted.
func rateMatch(kind string, body json.RawMessage, text string) Match {
	if kind == "meter" {
		var m struct {
			Name string          `json:"name"`
			Stmt json.RawMessage `json:"stmt"`
		}
		json.Unmarshal(body, &m)
		k, b := exprObject(m.Stmt)
		if !rateLike[k] || k == "meter" {
			return Match{Field: Opaque, Text: text}
		}
		r := rateMatch(k, b, "")
		r.Why += " (meter " + m.Name + ", per key)"
		r.Text = fmt.Sprintf("meter %s { %s }", m.Name, r.Text)
		return r
	}
	var r struct {
		Rate     int    `json:"rate"`
		Per      string `json:"per"`
		Burst    int    `json:"burst"`
		Val      int64  `json:"val"`
		ValUnit  string `json:"val_unit"`
		Used     int64  `json:"used"`
		UsedUnit string `json:"used_unit"`
		Inv      bool   `json:"inv"`
	}
	if json.Unmarshal(body, &r) != nil {
		return Match{Field: Opaque, Text: text}
	}
	over := map[bool]string{true: "over "}[r.Inv]
	m := Match{Field: Assumed}
	switch kind {
	case "limit":
		m.Holds = !r.Inv
		m.Why = fmt.Sprintf("under the rate limit %d/%s (a single new connection)", r.Rate, r.Per)
		m.Text = fmt.Sprintf("limit rate %s%d/%s burst %d packets", over, r.Rate, r.Per, r.Burst)
	case "ct count":
		m.Holds = (1 > r.Val) == r.Inv
		m.Why = "one connection counted (no other connection from this source)"
		m.Text = fmt.Sprintf("ct count %s%d", over, r.Val)
	case "quota":
		used, quota := r.Used*unitBytes(r.UsedUnit), r.Val*unitBytes(r.ValUnit)
		m.Holds = (used >= quota) == r.Inv
		m.Why = fmt.Sprintf("the quota as of now: %d of %d bytes used", used, quota)
		m.Text = fmt.Sprintf("quota %s%d %s", over, r.Val, r.ValUnit)
	}
	return m
}

func unitBytes(u string) int64 {
	if n, ok := map[string]int64{"kbytes": 1 << 10, "mbytes": 1 << 20, "gbytes": 1 << 30}[u]; ok {
		return n
	}
	return 1
}

// setOp is a set statement's operation: add, update or delete.
func setOp(body json.RawMessage) string {
	var s struct {
		Op string `json:"op"`
	}
	json.Unmarshal(body, &s)
	return s.Op
}

// setStatementMatch decides the limit an "update @s { key limit ... }"
// statement carries: the statement ends the rule when the limit is passed.
func setStatementMatch(kind string, body json.RawMessage) []Match {
	if kind != "set" {
		return nil
	}
	var s struct {
		Stmt []json.RawMessage `json:"stmt"`
	}
	json.Unmarshal(body, &s)
	var out []Match
	for _, st := range s.Stmt {
		k, b := exprObject(st)
		if rateLike[k] {
			out = append(out, rateMatch(k, b, compact(st)))
		} else if !nonTerminal[k] {
			out = append(out, Match{Field: Opaque, Text: compact(st)})
		}
	}
	return out
}

// nftEffect reads a statement that changes the packet or its connection
// for later rules: mangle (marks), notrack, or adding to a set.
func nftEffect(kind string, body json.RawMessage) Effect {
	text := kind + " " + compact(body)
	if kind == "mangle" {
		var m struct{ Key, Value json.RawMessage }
		if json.Unmarshal(body, &m) == nil && m.Key != nil && m.Value != nil {
			text = exprText(m.Key) + " set " + exprText(m.Value)
		}
	}
	switch kind {
	case "notrack":
		return Effect{Kind: NoTrack, Text: "notrack"}
	case "set":
		var s struct {
			Op   string          `json:"op"`
			Elem json.RawMessage `json:"elem"`
			Set  string          `json:"set"`
		}
		json.Unmarshal(body, &s)
		e := Effect{Kind: SetAdd, Set: strings.TrimPrefix(s.Set, "@"), Text: text}
		k := nftKey(s.Elem)
		if k.field == Concat {
			e.Key = k.fields()
		} else if k.field != "" {
			e.Key = []Field{k.field}
		}
		return e
	}
	var m struct {
		Key   json.RawMessage `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	json.Unmarshal(body, &m)
	target := nftKey(m.Key).field
	if target != MarkField && target != CtMarkField {
		return Effect{Kind: NoEffect, Text: text}
	}
	e := Effect{Kind: Mark, Text: text}
	if target == CtMarkField {
		e.Kind = CtMark
	}
	return markValue(e, target, m.Value)
}

// markValue reads a mark's new value: a constant, the other mark, or the
// same mark combined with a constant.
func markValue(e Effect, target Field, v json.RawMessage) Effect {
	if n, ok := numValue(MarkField, v); ok {
		e.And, e.Xor = 0, n
		return e
	}
	if src := nftKey(v).field; (src == MarkField || src == CtMarkField) && src != target {
		e.Copy, e.And = true, 0xffffffff
		return e
	}
	op, body := exprObject(v)
	var pair []json.RawMessage
	if json.Unmarshal(body, &pair) != nil || len(pair) != 2 || nftKey(pair[0]).field != target {
		e.Unknown = true
		return e
	}
	n, ok := numValue(MarkField, pair[1])
	switch {
	case !ok:
		e.Unknown = true
	case op == "|":
		e.And, e.Xor = ^n, n
	case op == "&":
		e.And, e.Xor = n, 0
	case op == "^":
		e.And, e.Xor = 0xffffffff, n
	default:
		e.Unknown = true
	}
	return e
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
	if numeric[field] {
		return numMatch(m, right)
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

// numMatch reads the values of a numeric field: numbers, ranges, sets,
// and named flags (tcp flags syn, dscp cs1).
func numMatch(m Match, right json.RawMessage) (Match, bool) {
	named, vals := setElems(right)
	if named != "" {
		m.Set = named
		return m, true
	}
	for _, v := range vals {
		var r struct {
			Range []json.RawMessage `json:"range"`
		}
		if json.Unmarshal(v, &r) == nil && len(r.Range) == 2 {
			lo, ok1 := numValue(m.Field, r.Range[0])
			hi, ok2 := numValue(m.Field, r.Range[1])
			if !ok1 || !ok2 {
				return m, false
			}
			m.Nums = append(m.Nums, NumRange{lo, hi})
			continue
		}
		n, ok := numValue(m.Field, v)
		if !ok {
			return m, false
		}
		m.Nums = append(m.Nums, NumRange{n, n})
	}
	return m, len(m.Nums) > 0
}

// setElems reads the right side of a match: a named set ("@name"), the
// elements of an anonymous set, or one value.
func setElems(right json.RawMessage) (named string, elems []json.RawMessage) {
	var s string
	if json.Unmarshal(right, &s) == nil && strings.HasPrefix(s, "@") {
		return s[1:], nil
	}
	var set struct {
		Set []json.RawMessage `json:"set"`
	}
	if json.Unmarshal(right, &set) == nil && set.Set != nil {
		return "", set.Set
	}
	return "", []json.RawMessage{right}
}

// numValue reads a number, a flag name, a list or "|" of flag names.
func numValue(field Field, raw json.RawMessage) (uint32, bool) {
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return uint32(n), n >= 0 && n <= 0xffffffff
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		v, ok := namedNums[field][s]
		return v, ok
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		if op, body := exprObject(raw); op == "|" {
			json.Unmarshal(body, &list)
		}
	}
	if len(list) == 0 {
		return 0, false
	}
	var out uint32
	for _, e := range list {
		v, ok := numValue(field, e)
		if !ok {
			return 0, false
		}
		out |= v
	}
	return out, true
}

var namedNums = map[Field]map[string]uint32{
	TCPFlags: {"fin": 0x01, "syn": 0x02, "rst": 0x04, "psh": 0x08, "ack": 0x10, "urg": 0x20, "ecn": 0x40, "cwr": 0x80},
	DSCP: {"cs0": 0, "cs1": 8, "cs2": 16, "cs3": 24, "cs4": 32, "cs5": 40, "cs6": 48, "cs7": 56, "af11": 10,
		"af12": 12, "af13": 14, "af21": 18, "af22": 20, "af23": 22, "af31": 26, "af32": 28, "af33": 30,
		"af41": 34, "af42": 36, "af43": 38, "ef": 46, "va": 44, "be": 0},
}

// comparison turns `tcp dport < 1024` or `ip length > 1000` into a range.
func comparison(m Match, op string, right json.RawMessage) (Match, bool) {
	var n int64
	if json.Unmarshal(right, &n) != nil {
		return m, false
	}
	max := int64(0xffffffff)
	if m.Field == DPort || m.Field == SPort {
		max = 65535
	} else if !numeric[m.Field] {
		return m, false
	}
	lo, hi := map[string][2]int64{"<": {0, n - 1}, "<=": {0, n}, ">": {n + 1, max}, ">=": {n, max}}[op][0],
		map[string][2]int64{"<": {0, n - 1}, "<=": {0, n}, ">": {n + 1, max}, ">=": {n, max}}[op][1]
	if lo > hi || lo < 0 || hi > max {
		return m, false // empty, or always true: left opaque
	}
	if m.Field == DPort || m.Field == SPort {
		m.Ports = []PortRange{{uint16(lo), uint16(hi)}}
	} else {
		m.Nums = []NumRange{{uint32(lo), uint32(hi)}}
	}
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
		return parsed{ports: []PortRange{{uint16(lo), uint16(hi)}}, ok: lo >= 0 && hi <= 65535}
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

// nftText renders a rule read from nft: matches the renderer knows in
// nft syntax, the others as read, then the statements that change state
// and the verdict.
func nftText(r *Rule) string {
	shown := Rule{Action: r.Action, Comment: r.Comment}
	for _, m := range r.Matches {
		if m.Text != "" {
			m = Match{Field: Opaque, Text: m.Text}
		}
		shown.Matches = append(shown.Matches, m)
	}
	for _, e := range r.Effects {
		shown.Matches = append(shown.Matches, Match{Field: Opaque, Text: e.Text})
	}
	if r.Action.Kind == DNat || r.Action.Kind == SNat || r.Action.Kind == Queue {
		shown.Action = Action{Kind: Unknown, Target: r.Action.Target}
	}
	return renderNft(&shown)
}
