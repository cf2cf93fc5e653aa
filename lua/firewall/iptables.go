package firewall

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ReadIptablesSave reads the output of iptables-save (family "ip") or
// ip6tables-save (family "ip6"), legacy or nft. Matches and targets the
// model does not understand become Opaque matches and Unknown actions.
func ReadIptablesSave(out []byte, family string) (*Ruleset, error) {
	rs := &Ruleset{}
	var t *Table
	for n, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		var err error
		switch {
		case line == "" || line[0] == '#' || line == "COMMIT":
		case line[0] == '*':
			t = &Table{Family: family, Name: line[1:], Sets: map[string]*Set{}, Iptables: true}
			rs.Tables = append(rs.Tables, t)
		case t == nil:
			err = fmt.Errorf("%q outside a table", line)
		case line[0] == ':':
			err = t.addIptablesChain(line[1:])
		default:
			err = t.addIptablesRule(line)
		}
		if err != nil {
			return nil, fmt.Errorf("%stables-save line %d: %w", family, n+1, err)
		}
	}
	return rs, nil
}

// iptablesHooks gives each built-in chain's hook and each table's priority,
// as the kernel registers them.
var (
	iptablesHooks = map[string]string{"PREROUTING": "prerouting", "INPUT": "input",
		"FORWARD": "forward", "OUTPUT": "output", "POSTROUTING": "postrouting"}
	iptablesPriority = map[string]int{"raw": -300, "mangle": -150, "nat": -100, "filter": 0, "security": 50}
)

func (t *Table) addIptablesChain(decl string) error {
	f := strings.Fields(decl)
	if len(f) < 2 {
		return fmt.Errorf("chain declaration %q", decl)
	}
	c := &Chain{Name: f[0]}
	if f[1] != "-" {
		c.Type, c.Hook, c.Policy = "filter", iptablesHooks[f[0]], strings.ToLower(f[1])
		c.Priority = iptablesPriority[t.Name]
		if t.Name == "nat" && (c.Hook == "input" || c.Hook == "postrouting") {
			c.Priority = 100
		}
	}
	t.Chains = append(t.Chains, c)
	return nil
}

func (t *Table) addIptablesRule(line string) error {
	if strings.HasPrefix(line, "[") { // iptables-save -c puts "[packets:bytes] " first
		_, line, _ = strings.Cut(line, "] ")
	}
	args, err := splitArgs(line)
	if err != nil {
		return err
	}
	if len(args) < 2 || args[0] != "-A" {
		return fmt.Errorf("rule %q: not -A CHAIN", line)
	}
	c := t.Chain(args[1])
	if c == nil {
		return fmt.Errorf("rule %q: chain %s not declared", line, args[1])
	}
	r := &Rule{Handle: len(c.Rules) + 1, Text: line, Action: Action{Kind: Continue}}
	p := &ruleParser{t: t, r: r, args: args[2:]}
	if err := p.parse(); err != nil {
		return fmt.Errorf("rule %q: %w", line, err)
	}
	c.Rules = append(c.Rules, r)
	return nil
}

// ruleParser walks one rule's arguments after "-A CHAIN".
type ruleParser struct {
	t      *Table
	r      *Rule
	args   []string
	i      int
	negate bool
	opaque int // index+1 of the Match gathering the current module's unknown options; 0 for none
}

func (p *ruleParser) next() (string, error) {
	if p.i >= len(p.args) {
		return "", fmt.Errorf("%s needs a value", p.args[p.i-1])
	}
	p.i++
	return p.args[p.i-1], nil
}

func (p *ruleParser) parse() error {
	for p.i < len(p.args) {
		opt := p.args[p.i]
		p.i++
		var err error
		switch opt {
		case "!":
			p.negate = true
			continue
		case "-m", "--match":
			p.opaque = 0
			err = p.module()
		case "-j", "--jump", "-g", "--goto":
			err = p.target(opt)
		default:
			err = p.basic(opt)
		}
		if err != nil {
			return err
		}
		p.negate = false
	}
	return nil
}

// basic handles the options iptables itself knows, outside any module.
func (p *ruleParser) basic(opt string) error {
	field, ok := map[string]Field{"-p": Proto, "--protocol": Proto, "-s": SAddr, "--source": SAddr,
		"-d": DAddr, "--destination": DAddr, "-i": IIf, "--in-interface": IIf,
		"-o": OIf, "--out-interface": OIf}[opt]
	if !ok {
		p.keepOpaque(opt)
		return nil
	}
	v, err := p.next()
	if err != nil {
		return err
	}
	m := Match{Field: field, Negate: p.negate}
	switch field {
	case Proto:
		m.Protos = []string{strings.ToLower(v)}
	case SAddr, DAddr:
		m.Prefixes, err = parsePrefixes(v)
	default:
		m.Names = []string{v}
	}
	p.r.Matches = append(p.r.Matches, m)
	return err
}

// keepOpaque keeps an option the model does not understand, with the
// values that follow it, in an Opaque match: one per module, so
// "-m limit --limit 3/min --limit-burst 10" stays one condition.
func (p *ruleParser) keepOpaque(opt string) {
	text := opt
	for p.i < len(p.args) && !strings.HasPrefix(p.args[p.i], "-") && p.args[p.i] != "!" {
		text += " " + p.args[p.i]
		p.i++
	}
	if p.negate {
		text = "! " + text
	}
	if p.opaque > 0 {
		p.r.Matches[p.opaque-1].Text += " " + text
		return
	}
	p.r.Matches = append(p.r.Matches, Match{Field: Opaque, Text: text})
	p.opaque = len(p.r.Matches)
}

// module reads "-m NAME" and the options that belong to it.
func (p *ruleParser) module() error {
	name, err := p.next()
	if err != nil {
		return err
	}
	p.negate = false
	for p.i < len(p.args) {
		opt := p.args[p.i]
		if opt == "!" && p.i+1 < len(p.args) && strings.HasPrefix(p.args[p.i+1], "--") {
			p.negate = true
			p.i++
			continue
		}
		if !strings.HasPrefix(opt, "--") {
			return nil
		}
		p.i++
		if err := p.moduleOption(name, opt); err != nil {
			return fmt.Errorf("-m %s %s: %w", name, opt, err)
		}
		p.negate = false
	}
	return nil
}

func (p *ruleParser) moduleOption(module, opt string) error {
	switch {
	case module == "comment" && opt == "--comment":
		v, err := p.next()
		p.r.Comment = v
		return err
	case opt == "--dport" || opt == "--destination-port" || opt == "--dports" || opt == "--destination-ports":
		return p.ports(DPort)
	case opt == "--sport" || opt == "--source-port" || opt == "--sports" || opt == "--source-ports":
		return p.ports(SPort)
	case opt == "--ctstate" || (module == "state" && opt == "--state"):
		v, err := p.next()
		p.r.Matches = append(p.r.Matches, Match{Field: CTState, Negate: p.negate, Names: strings.Split(strings.ToLower(v), ",")})
		return err
	case module == "set" && opt == "--match-set":
		return p.ipset()
	case module == "addrtype" && (opt == "--dst-type" || opt == "--src-type"):
		v, err := p.next()
		field := map[string]Field{"--dst-type": DstType, "--src-type": SrcType}[opt]
		p.r.Matches = append(p.r.Matches, Match{Field: field, Negate: p.negate, Names: strings.Split(v, ",")})
		return err
	case module == "iprange" && (opt == "--src-range" || opt == "--dst-range"):
		return p.iprange(opt)
	case module == "rt" && opt == "--rt-type":
		// ufw drops IPv6 type 0 routing headers; a probe carries none.
		v, err := p.next()
		p.r.Matches = append(p.r.Matches, Match{Field: Assumed, Holds: p.negate, Text: "-m rt --rt-type " + v})
		return err
	}
	if p.opaque == 0 {
		opt = "-m " + module + " " + opt
	}
	p.keepOpaque(opt)
	return nil
}

func (p *ruleParser) ports(field Field) error {
	v, err := p.next()
	if err != nil {
		return err
	}
	m := Match{Field: field, Negate: p.negate}
	for _, part := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		if !isRange {
			hi = lo
		}
		l, err1 := strconv.ParseUint(lo, 10, 16)
		h, err2 := strconv.ParseUint(hi, 10, 16)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("port %q", part)
		}
		m.Ports = append(m.Ports, PortRange{uint16(l), uint16(h)})
	}
	p.r.Matches = append(p.r.Matches, m)
	return nil
}

// ipset reads "--match-set NAME src" (or dst); the set's contents are not
// in iptables-save, so it stays unresolved unless the caller adds the set.
func (p *ruleParser) ipset() error {
	name, err := p.next()
	if err != nil {
		return err
	}
	dir, err := p.next()
	if err != nil {
		return err
	}
	field := map[string]Field{"src": SAddr, "dst": DAddr}[dir]
	if field == "" {
		p.r.Matches = append(p.r.Matches, Match{Field: Opaque, Text: "-m set --match-set " + name + " " + dir})
		return nil
	}
	p.r.Matches = append(p.r.Matches, Match{Field: field, Negate: p.negate, Set: name})
	return nil
}

func (p *ruleParser) iprange(opt string) error {
	v, err := p.next()
	if err != nil {
		return err
	}
	a, b, _ := strings.Cut(v, "-")
	r := addrRange(a, b)
	if !r.ok {
		return fmt.Errorf("address range %q", v)
	}
	field := map[string]Field{"--src-range": SAddr, "--dst-range": DAddr}[opt]
	p.r.Matches = append(p.r.Matches, Match{Field: field, Negate: p.negate, Prefixes: r.prefixes})
	return nil
}

// Targets that only observe or mark a packet, and those (NAT) that end
// the chain as an accept would.
var (
	observingTargets = map[string]bool{"LOG": true, "NFLOG": true, "ULOG": true, "MARK": true,
		"CONNMARK": true, "TCPMSS": true, "CT": true, "NOTRACK": true, "TRACE": true, "AUDIT": true,
		"CLASSIFY": true, "DSCP": true, "TOS": true, "TTL": true, "HL": true, "SET": true, "CHECKSUM": true}
	natTargets = map[string]bool{"DNAT": true, "SNAT": true, "MASQUERADE": true, "REDIRECT": true, "NETMAP": true}
)

func (p *ruleParser) target(opt string) error {
	name, err := p.next()
	if err != nil {
		return err
	}
	p.i = len(p.args) // the rest are the target's own options
	switch {
	case opt == "-g" || opt == "--goto":
		p.r.Action = Action{Kind: Goto, Target: name}
	case name == "ACCEPT" || name == "DROP" || name == "RETURN" || name == "REJECT":
		p.r.Action = Action{Kind: ActionKind(strings.ToLower(name))}
	case p.t.Chain(name) != nil:
		p.r.Action = Action{Kind: Jump, Target: name}
	case observingTargets[name]:
	case natTargets[name]:
		p.r.Action = Action{Kind: Accept}
	default:
		p.r.Action = Action{Kind: Unknown, Target: "-j " + name}
	}
	return nil
}

func parsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(v, ",") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return nil, fmt.Errorf("address %q: %w", s, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

// splitArgs splits an iptables-save line into words; iptables-save quotes
// words with spaces in double quotes and escapes quotes inside them.
func splitArgs(line string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quoted && ch == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case ch == '"':
			quoted, inWord = !quoted, true
		case !quoted && (ch == ' ' || ch == '\t'):
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
			}
			inWord = false
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote in %q", line)
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}
