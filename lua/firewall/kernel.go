package firewall

import (
	"fmt"
	"slices"
	"strings"
)

// KernelReads is the output of the commands that show what the kernel
// holds; any may be empty (a tool not installed, or nothing to show).
type KernelReads struct {
	Nft         []byte // nft -j list ruleset
	NftSave     []byte // iptables-nft-save
	NftSave6    []byte // ip6tables-nft-save
	LegacySave  []byte // iptables-legacy-save
	LegacySave6 []byte // ip6tables-legacy-save
	Ipset       []byte // ipset save
}

// Detection is which tool made each table the kernel holds, and why.
type Detection struct {
	// Presence holds the kernel's part of what Governing weighs: legacy
	// rules, iptables-nft rules, nftables' own tables.
	Presence
	// Tables says, per table, whose it is and how that was decided:
	// "ip filter: iptables-nft's: iptables-nft-save lists its chains and
	// rules as nft holds them".
	Tables []string
	// Changing names the tables whose chains, rule counts or rules'
	// verdicts differ between nft's listing and iptables-nft-save's, read
	// one after the other, with how: a table that changed between the two
	// (Read reads it again). One iptables-nft-save calls incompatible
	// differs for good and is not here.
	Changing []string
}

// ReadKernel models every table the kernel holds: nft's JSON for all of
// nftables, with iptables-nft-save's rules in the tables iptables-nft
// made (where nft shows their matches only as xt expressions), and the
// legacy tables beside them (legacy and nftables hooks both see a
// packet). A table is iptables-nft's only when iptables-nft-save shows it
// whole: the same chains, hooks, policies, number of rules and rules'
// verdicts as nft, and no "incompatible" warning; any other table is
// nftables' own, whatever its name, and its rules are nft's.
func ReadKernel(r KernelReads) (*Ruleset, Detection, error) {
	rs := &Ruleset{}
	if len(strings.TrimSpace(string(r.Nft))) > 0 {
		nft, err := ReadNft(r.Nft)
		if err != nil {
			return nil, Detection{}, err
		}
		rs = nft
	}
	var d Detection
	for _, in := range []struct {
		out            []byte
		family, origin string
	}{
		{r.NftSave, "ip", IptablesNft}, {r.NftSave6, "ip6", IptablesNft},
		{r.LegacySave, "ip", IptablesLegacy}, {r.LegacySave6, "ip6", IptablesLegacy},
	} {
		saved, err := ReadIptablesSave(in.out, in.family)
		if err != nil {
			return nil, Detection{}, fmt.Errorf("%s-save: %w", strings.Replace(in.origin, "iptables", map[string]string{"ip": "iptables", "ip6": "ip6tables"}[in.family], 1), err)
		}
		for _, t := range saved.Tables {
			t.Origin = in.origin
		}
		var notes, changing []string
		rs, notes, changing = merge(rs, saved)
		d.Tables = append(d.Tables, notes...)
		d.Changing = append(d.Changing, changing...)
	}
	if err := ReadIpsetSave(rs, r.Ipset); err != nil {
		return nil, Detection{}, err
	}
	d.detect(rs)
	return rs, d, nil
}

// merge returns rs, nft's tables, with iptables-save's tables over it:
// legacy tables beside nft's, iptables-nft's rules into the tables
// iptables-nft made, any other table kept as nft shows it; a note on
// each table both list, and how each table whose two listings differ in
// shape (not one iptables-nft-save calls incompatible) differs.
func merge(rs, over *Ruleset) (*Ruleset, []string, []string) {
	out := &Ruleset{Tables: append([]*Table(nil), rs.Tables...)}
	var notes, changing []string
	for _, t := range over.Tables {
		i := out.nftTable(t.Family, t.Name)
		if t.Origin == IptablesLegacy || i < 0 {
			out.Tables = append(out.Tables, t)
			continue
		}
		merged, why := splice(out.Tables[i], t)
		notes = append(notes, fmt.Sprintf("%s %s: %s", t.Family, t.Name, why))
		if merged != nil {
			out.Tables[i] = merged
		} else if !t.Incompatible {
			changing = append(changing, fmt.Sprintf("%s %s: %s", t.Family, t.Name, sameShape(out.Tables[i], t)))
		}
	}
	return out, notes, changing
}

// nftTable finds the table nft listed (not a legacy one), or -1.
func (rs *Ruleset) nftTable(family, name string) int {
	for i, t := range rs.Tables {
		if t.Family == family && t.Name == name && t.Origin != IptablesLegacy {
			return i
		}
	}
	return -1
}

// splice returns iptables-nft's view of a table nft also lists, when it
// is the same table: every chain, hook, policy and rule count agrees. Each
// rule keeps nft's meaning where nft reads all of it (nft's expressions
// are what the kernel runs) and takes iptables' where nft shows xt
// expressions; text and positions are iptables', which changes it.
func splice(nft, ipt *Table) (*Table, string) {
	if ipt.Incompatible {
		return nil, "nftables' own: iptables-nft-save says it holds chains iptables cannot show"
	}
	if why := sameShape(nft, ipt); why != "" {
		return nil, "nftables' own: " + why
	}
	out := *ipt
	out.Sets = nft.Sets
	out.Chains = nil
	xt := false
	for _, c := range ipt.Chains {
		nc := *c
		nc.Rules = nil
		var nftRules []*Rule
		if n := nft.Chain(c.Name); n != nil {
			nftRules = n.Rules
		}
		for i, r := range c.Rules {
			nr := *r
			if i < len(nftRules) && nftReadsAll(nftRules[i]) {
				nr.Matches, nr.Effects, nr.Action = nftRules[i].Matches, nftRules[i].Effects, nftRules[i].Action
			} else {
				xt = true
			}
			nc.Rules = append(nc.Rules, &nr)
		}
		out.Chains = append(out.Chains, &nc)
	}
	why := "iptables-nft's: iptables-nft-save lists its chains and rules as nft holds them"
	if xt {
		why += ", and nft shows its matches as xt expressions"
	}
	return &out, why
}

// sameShape says how two views of a table differ, or "" when they agree:
// the same chains (iptables-nft-save may add empty built-in chains with
// policy ACCEPT), hooks, policies, numbers of rules and rules' verdicts.
func sameShape(nft, ipt *Table) string {
	for _, n := range nft.Chains {
		c := ipt.Chain(n.Name)
		switch {
		case c == nil:
			return fmt.Sprintf("iptables-nft-save does not list its chain %s", n.Name)
		case c.Hook != n.Hook || (n.Hook != "" && c.Policy != n.Policy):
			return fmt.Sprintf("its chain %s is hooked or set otherwise than iptables would", n.Name)
		case len(c.Rules) != len(n.Rules):
			return fmt.Sprintf("chain %s holds %d rules in nft, %d in iptables-nft-save", n.Name, len(n.Rules), len(c.Rules))
		}
		for i, r := range n.Rules {
			if a, b := r.Action, c.Rules[i].Action; !sameVerdict(a, b) {
				return fmt.Sprintf("rule %d of chain %s is %s in nft, %s in iptables-nft-save", i+1, n.Name, verdictName(a), verdictName(b))
			}
		}
	}
	for _, c := range ipt.Chains {
		if nft.Chain(c.Name) == nil && (len(c.Rules) > 0 || (c.Policy != "accept" && c.Policy != "")) {
			return fmt.Sprintf("iptables-nft-save lists a chain %s nft does not hold", c.Name)
		}
	}
	return ""
}

// sameVerdict: two readings of a rule agree on its verdict, or one of
// them cannot tell (a target nft shows as an xt expression). A rule
// replaced by another between the two listings keeps the count of rules;
// its verdict, which both show, is what a read can compare for free, and
// nft translates iptables' verdicts whole, so they never differ
// otherwise.
func sameVerdict(a, b Action) bool {
	if a.Kind == Unknown || b.Kind == Unknown {
		return true
	}
	return a.Kind == b.Kind && (a.Kind != Jump && a.Kind != Goto || a.Target == b.Target)
}

func verdictName(a Action) string {
	if a.Kind == Jump || a.Kind == Goto {
		return string(a.Kind) + " " + a.Target
	}
	return string(a.Kind)
}

// nftReadsAll reports a rule nft shows without xt expressions, and the
// model reads whole.
func nftReadsAll(r *Rule) bool {
	if r.Action.Kind == Unknown {
		return false
	}
	for _, m := range r.Matches {
		if m.Field == Opaque {
			return false
		}
	}
	return true
}

// detect fills in which backends hold rules.
func (d *Detection) detect(rs *Ruleset) {
	for _, t := range rs.Tables {
		if !t.filters() {
			continue
		}
		switch t.Origin {
		case IptablesLegacy:
			d.IptablesLegacy = true
			d.Tables = append(d.Tables, fmt.Sprintf("%s %s: iptables-legacy's: iptables-legacy-save shows rules or a policy that drops", t.Family, t.Name))
		case IptablesNft:
			d.IptablesNft = true
		default:
			d.NftTables = append(d.NftTables, t.Family+" "+t.Name)
			if hasXt(t) {
				why := "not readable by iptables-nft-save"
				if slices.ContainsFunc(d.Changing, func(c string) bool { return strings.HasPrefix(c, t.Family+" "+t.Name+": ") }) {
					why = "changed between nft's listing and iptables-nft-save's"
				}
				d.Tables = append(d.Tables, fmt.Sprintf("%s %s: made by iptables-nft (nft shows xt expressions) but %s: its xt matches stay undecided", t.Family, t.Name, why))
			}
		}
	}
}

// filters reports whether a table holds a rule or a base chain whose
// policy is not accept.
func (t *Table) filters() bool {
	for _, c := range t.Chains {
		if len(c.Rules) > 0 || (c.Base() && c.Policy != "accept" && c.Policy != "") {
			return true
		}
	}
	return false
}

func hasXt(t *Table) bool {
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			if strings.Contains(r.Text, `{"xt":`) {
				return true
			}
		}
	}
	return false
}

// Governing names the backend that owns the host's rules, as Governing
// does for Presence, with the reasons for each table.
func (d Detection) Governing(firewalld, ufw bool) (backend, why string) {
	p := d.Presence
	p.FirewalldRunning, p.UfwActive = firewalld, ufw
	backend, why = Governing(p)
	if len(d.Tables) > 0 {
		why += " (" + strings.Join(d.Tables, "; ") + ")"
	}
	return backend, why
}
