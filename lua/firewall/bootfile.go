package firewall

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A boot file keeps remedy's rules beside the site's own: remedy never
// dumps the live ruleset into it, which would freeze there whatever
// docker, fail2ban or libvirt had added by then, and drop what the file
// builds with includes and variables. In an iptables-save file remedy's
// rule is a line of its chain, where the chain's other lines put it. An
// nft file gets a block at its end, after everything it defines: one
// `insert rule ... index N` or `add rule` per rule, placing it where it
// goes among the chain's rules as the lines before it leave them, and an
// `add set` line before the first rule naming one of remedy's sets. An
// ipset file boot loads before the iptables rules gets a block creating
// remedy's sets.

// The lines around remedy's block in an nft boot file, and in an ipset
// file.
const (
	nftBlockStart   = "# remedy: the rules below are remedy's (firewall.allow); each goes where its index puts it in its chain"
	nftBlockEnd     = "# remedy: end of remedy's rules"
	ipsetBlockStart = "# remedy: the sets below are remedy's (firewall.allow_domain), created empty for the rules that name them; a job fills them"
	ipsetBlockEnd   = "# remedy: end of remedy's sets"
)

// PlanBootAllow returns the text of boot file f that makes a pass when
// boot loads it: text as is when its rules (rs, as boot would load them)
// let a pass already. For an iptables-save file only the probes of its
// family count.
func PlanBootAllow(f BootFile, text string, rs *Ruleset, a Allow) (string, error) {
	if err := a.validate(); err != nil {
		return "", err
	}
	a.Comment = remedyComment(a)
	var probes []Packet
	for _, p := range a.probes() {
		if f.Format == FormatNft || p.IPv6 == (f.Family == "ip6") {
			probes = append(probes, p)
		}
	}
	places, err := placeRules(rs.clone(), a, probes)
	if err != nil {
		return "", err
	}
	return addBootRules(f, text, rs, places)
}

// PlanBootAllowDomain returns the text of boot file f that lets the host
// reach d when boot loads it, as PlanAllowDomain does now: a rule per
// family accepting the members of remedy's sets, which boot creates
// empty for the refresh job to fill, and DNS let out; in an ipset file
// (FormatIpset), the sets themselves. text as is when what boot loads
// (rs) lets it through already.
func PlanBootAllowDomain(f BootFile, text string, rs *Ruleset, d Domain) (string, error) {
	if err := d.validate(); err != nil {
		return "", err
	}
	sets := hostNames(rs, d).sets
	if f.Format == FormatIpset {
		return addIpsets(text, sets)
	}
	sim := rs.clone()
	var places []placement
	plan := func(a Allow, probes []Packet) error {
		var fam []Packet
		for _, p := range probes {
			if f.Format == FormatNft || p.IPv6 == (f.Family == "ip6") {
				fam = append(fam, p)
			}
		}
		pls, err := placeRules(sim, a, fam)
		places = append(places, pls...)
		return err
	}
	for i, v6 := range []bool{false, true} {
		addSampleSet(sim, sets[i], d.sampleAddrs(v6))
	}
	for i, v6 := range []bool{false, true} {
		a := Allow{Dir: "out", Proto: d.Proto, Ports: PortRange{d.Port, d.Port}, DstSet: sets[i], Comment: d.comment()}
		if err := plan(a, d.probes(v6)); err != nil {
			return "", fmt.Errorf("allow_domain %s: %w", d.Name, err)
		}
	}
	for _, a := range d.dnsAllows() {
		if err := plan(a, a.probes()); err != nil {
			return "", fmt.Errorf("allow_domain %s: DNS: %w", d.Name, err)
		}
	}
	return addBootRules(f, text, rs, places)
}

// addBootRules puts placed rules into boot file f: lines of their chains
// in an iptables-save file, remedy's block in an nft file, with the sets
// they name where rs, what the file loads, lacks them.
func addBootRules(f BootFile, text string, rs *Ruleset, places []placement) (string, error) {
	if len(places) == 0 {
		return text, nil
	}
	if f.Format == FormatIptablesSave {
		return insertSaveRules(text, places)
	}
	base, block, err := splitNftBlock(text)
	if err != nil {
		return "", fmt.Errorf("%s: %w", f.Path, err)
	}
	for _, pl := range places {
		if def := setDefinition(rs, block, pl); def != "" {
			block = append(block, blockRule{def: def})
		}
		block = append(block, blockRule{family: pl.table.Family, table: pl.table.Name, chain: pl.chain.Name, index: pl.position, rule: pl.rule.Text})
	}
	return base + renderNftBlock(block), nil
}

// setDefinition is the `add set` line a placed rule needs before it: the
// set it names, where neither the file's own rules nor remedy's block
// define it.
func setDefinition(rs *Ruleset, block []blockRule, pl placement) string {
	for _, m := range pl.rule.Matches {
		if m.Set == "" {
			continue
		}
		if t := rs.Table(pl.table.Family, pl.table.Name); t != nil && t.Sets[m.Set] != nil {
			return ""
		}
		cmd := createSet(&Ruleset{}, []string{"nft", "add", "rule", pl.table.Family, pl.table.Name}, m.Set, m.Family == "ip6")[0]
		def := strings.Join(cmd[1:], " ")
		if slices.ContainsFunc(block, func(r blockRule) bool { return r.def == def }) {
			return ""
		}
		return def
	}
	return ""
}

// addIpsets makes an ipset file create remedy's sets, in remedy's block
// at its end.
func addIpsets(text string, sets [2]string) (string, error) {
	want := []string{"create " + sets[0] + " hash:ip family inet", "create " + sets[1] + " hash:ip family inet6"}
	base, lines := text, []string(nil)
	if start := strings.Index(text, ipsetBlockStart+"\n"); start >= 0 {
		rest := text[start+len(ipsetBlockStart)+1:]
		end := strings.Index(rest, ipsetBlockEnd+"\n")
		if end < 0 {
			return "", fmt.Errorf("remedy's block of sets has no end line %q", ipsetBlockEnd)
		}
		base = text[:start] + rest[end+len(ipsetBlockEnd)+1:]
		lines = strings.Split(strings.TrimSpace(rest[:end]), "\n")
	}
	added := false
	for _, w := range want {
		if !slices.Contains(lines, w) {
			lines, added = append(lines, w), true
		}
	}
	if !added {
		return text, nil
	}
	if base != "" && !strings.HasSuffix(base, "\n") {
		base += "\n"
	}
	return base + ipsetBlockStart + "\n" + strings.Join(lines, "\n") + "\n" + ipsetBlockEnd + "\n", nil
}

// PlanBootRemove returns the text of boot file f without remedy's rules
// whose comment starts with prefix as whole words (removalTakes). rs is
// its rules as boot would load them, from which an nft block's other
// rules get their new indexes.
func PlanBootRemove(f BootFile, text string, rs *Ruleset, prefix string) (string, error) {
	if !strings.HasPrefix(prefix, CommentPrefix) {
		return "", fmt.Errorf("remove: comment prefix %q does not start with %q", prefix, CommentPrefix)
	}
	if f.Format == FormatIptablesSave {
		return removeSaveRules(text, prefix), nil
	}
	base, block, err := splitNftBlock(text)
	if err != nil {
		return "", fmt.Errorf("%s: %w", f.Path, err)
	}
	kept, err := reindex(block, baseLengths(rs, block), func(r blockRule) bool {
		return !removalTakes(prefix, r.comment())
	})
	if err != nil {
		return "", fmt.Errorf("%s: %w", f.Path, err)
	}
	return base + renderNftBlock(kept), nil
}

// blockRule is one line of remedy's block in an nft boot file: a rule for
// a chain, inserted before the rule at index, or appended (index -1); or,
// with def, the definition of a set its rules name.
type blockRule struct {
	family, table, chain string
	index                int
	rule                 string
	def                  string // "add set FAMILY TABLE NAME { ... }"
}

var blockLine = regexp.MustCompile(`^(insert|add) rule (\S+) (\S+) (\S+) (?:index (\d+) )?(.+)$`)

func (r blockRule) line() string {
	if r.def != "" {
		return r.def
	}
	if r.index < 0 {
		return fmt.Sprintf("add rule %s %s %s %s", r.family, r.table, r.chain, r.rule)
	}
	return fmt.Sprintf("insert rule %s %s %s index %d %s", r.family, r.table, r.chain, r.index, r.rule)
}

func (r blockRule) key() string { return r.family + " " + r.table + " " + r.chain }

var nftComment = regexp.MustCompile(`comment "([^"]*)"`)

func (r blockRule) comment() string {
	if m := nftComment.FindStringSubmatch(r.rule); m != nil {
		return m[1]
	}
	return ""
}

// splitNftBlock splits an nft file into the site's text and remedy's
// block of rules.
func splitNftBlock(text string) (string, []blockRule, error) {
	start := strings.Index(text, nftBlockStart+"\n")
	if start < 0 {
		if text != "" && !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		return text, nil, nil
	}
	rest := text[start+len(nftBlockStart)+1:]
	end := strings.Index(rest, nftBlockEnd+"\n")
	if end < 0 {
		return "", nil, fmt.Errorf("remedy's block of rules has no end line %q", nftBlockEnd)
	}
	var block []blockRule
	for _, line := range strings.Split(strings.TrimSpace(rest[:end]), "\n") {
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "add set ") {
			block = append(block, blockRule{def: line})
			continue
		}
		m := blockLine.FindStringSubmatch(line)
		if m == nil || (m[1] == "insert") != (m[5] != "") {
			return "", nil, fmt.Errorf("remedy's block of rules: cannot read %q", line)
		}
		r := blockRule{family: m[2], table: m[3], chain: m[4], index: -1, rule: m[6]}
		if m[5] != "" {
			r.index, _ = strconv.Atoi(m[5])
		}
		block = append(block, r)
	}
	return text[:start] + rest[end+len(nftBlockEnd)+1:], block, nil
}

func renderNftBlock(block []blockRule) string {
	if len(block) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(nftBlockStart + "\n")
	for _, r := range block {
		b.WriteString(r.line() + "\n")
	}
	b.WriteString(nftBlockEnd + "\n")
	return b.String()
}

// baseLengths counts, per chain the block names, the rules the site's
// text gives it: the chain's rules as loaded less the block's.
func baseLengths(rs *Ruleset, block []blockRule) map[string]int {
	n := map[string]int{}
	for _, r := range block {
		if r.def != "" {
			continue
		}
		if _, ok := n[r.key()]; ok {
			n[r.key()]--
			continue
		}
		if t := rs.Table(r.family, r.table); t != nil {
			if c := t.Chain(r.chain); c != nil {
				n[r.key()] = rulePosition(c, len(c.Rules))
			}
		}
		n[r.key()]--
	}
	return n
}

// reindex keeps the block's rules that keep() says, each with the index
// that puts it where it was among the rules before it: it replays the
// block over chains of base[chain] rules, drops the others, and reads
// the kept rules' positions off the result.
func reindex(block []blockRule, base map[string]int, keep func(blockRule) bool) ([]blockRule, error) {
	seqs := map[string][]int{} // per chain: -1 for a site rule, else the block rule's number
	for i, r := range block {
		if r.def != "" {
			continue
		}
		seq, ok := seqs[r.key()]
		if !ok {
			seq = slices.Repeat([]int{-1}, max(base[r.key()], 0))
		}
		if r.index > len(seq) {
			return nil, fmt.Errorf("%q: chain %s has %d rules there", r.line(), r.key(), len(seq))
		}
		if r.index < 0 {
			seq = append(seq, i)
		} else {
			seq = slices.Insert(seq, r.index, i)
		}
		seqs[r.key()] = seq
	}
	placed := map[int]bool{}
	var out []blockRule
	for i, r := range block {
		if r.def != "" {
			out = append(out, r)
			continue
		}
		if !keep(r) {
			continue
		}
		seq := seqs[r.key()]
		at, before, total := slices.Index(seq, i), 0, 0
		for j, id := range seq {
			if id == -1 || placed[id] {
				total++
				if j < at {
					before++
				}
			}
		}
		placed[i] = true
		r.index = before
		if before == total {
			r.index = -1
		}
		out = append(out, r)
	}
	return out, nil
}

// insertSaveRules puts each placed rule into an iptables-save text as a
// line of its chain: before the chain's position-th rule line, or after
// its last one.
func insertSaveRules(text string, places []placement) (string, error) {
	lines := strings.Split(text, "\n")
	for _, pl := range places {
		at, err := saveRuleLine(lines, pl.table.Name, pl.chain.Name, pl.position)
		if err != nil {
			return "", err
		}
		lines = slices.Insert(lines, at, "-A "+pl.chain.Name+" "+saveArgs(iptablesRuleArgs(pl.rule)))
	}
	return strings.Join(lines, "\n"), nil
}

// saveRuleLine finds the line before which a rule goes: the chain's
// position-th "-A" line in the table's section, or the line after its
// last one (COMMIT when the chain has none); position -1 appends.
func saveRuleLine(lines []string, table, chain string, position int) (int, error) {
	in, seen, last := false, 0, -1
	for i, line := range lines {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "*"):
			in = line == "*"+table
		case !in:
		case strings.HasPrefix(line, "-A "+chain+" "):
			if seen == position {
				return i, nil
			}
			seen, last = seen+1, i
		case line == "COMMIT":
			if last >= 0 {
				return last + 1, nil
			}
			return i, nil
		}
	}
	return 0, fmt.Errorf("iptables-save file: no *%s section ending in COMMIT", table)
}

// saveArgs joins iptables arguments as iptables-save prints them: a value
// with a blank or a quote in double quotes.
func saveArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			a = strconv.Quote(a)
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

var saveComment = regexp.MustCompile(`--comment ("(?:[^"\\]|\\.)*"|\S+)`)

// removeSaveRules drops the rule lines whose comment starts with prefix.
func removeSaveRules(text, prefix string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if m := saveComment.FindStringSubmatch(line); m != nil && strings.HasPrefix(strings.TrimSpace(line), "-A ") {
			c := m[1]
			if u, err := strconv.Unquote(c); err == nil {
				c = u
			}
			if removalTakes(prefix, c) {
				continue
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
