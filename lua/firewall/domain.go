package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"remedy/lua/valid"
)

// Domain is egress to a service known by name whose addresses change.
type Domain struct {
	Name    string       // e.g. api.ibmaspera.com
	Proto   string       // tcp or udp
	Port    uint16       // e.g. 443
	Addrs   []netip.Addr // what the name resolves to now, if known
	Refresh time.Duration
	Init    string // Facts.Init: "systemd" gets a timer, anything else a cron entry
}

// File is a file a plan writes on the host.
type File struct {
	Path    string
	Content string
	Mode    uint32
}

// DomainPlan makes egress by name work: named sets (IPv4 and IPv6) a rule
// accepts, DNS let out when it is not, and a job that keeps the sets
// holding the name's current addresses.
type DomainPlan struct {
	Already  bool       // egress passes without a set: nothing to do
	Sets     [2]string  // the IPv4 and IPv6 set names
	Commands [][]string // create the sets and insert the rules
	Files    []File     // the refresh script and its timer or cron entry
	Start    [][]string // run the job now and schedule it
}

// Addresses the probes use to stand for "a member of the set", when the
// name's own addresses are not known for a family (RFC 5737, RFC 3849).
var (
	sampleV4 = netip.MustParseAddr("192.0.2.1")
	sampleV6 = netip.MustParseAddr("2001:db8::1")
)

// PlanAllowDomain plans egress to d. A hostname in a rule would be
// resolved once, when the rule loads; the sets are refreshed instead,
// every d.Refresh, which must not exceed the record's TTL.
func PlanAllowDomain(rs *Ruleset, sys System, d Domain) (DomainPlan, error) {
	if err := d.validate(); err != nil {
		return DomainPlan{}, err
	}
	n := hostNames(rs, d)
	if other := setOwner(rs, d, n.sets); other != "" {
		return DomainPlan{}, fmt.Errorf("allow_domain %s: its sets %s are %s's, which an earlier remedy named alike: remove %s's allow_domain and allow it again first", d.Name, strings.Join(n.sets[:], ", "), other, other)
	}
	plan := DomainPlan{Sets: n.sets}
	probes := append(d.probes(false), d.probes(true)...)
	if refreshed := withSamples(rs, plan.Sets, d); len(blocked(refreshed, probes)) == 0 {
		// Passing through remedy's own set still needs the job to keep it fresh.
		plan.Already = !acceptedBy(refreshed, probes, d.comment())
		if !plan.Already {
			plan.Files, plan.Start = refreshJob(sys, n.unit, plan.Sets, setHomes(rs, nil, plan.Sets), d)
		}
		return plan, nil
	}
	var err error
	switch sys.Backend {
	case Nftables, IptablesLegacy, IptablesNft:
		err = plan.rules(rs, sys, d)
	case Firewalld:
		plan.Commands = firewalldDomain(sys, plan.Sets, d)
	case Ufw:
		// The refresh job adds a ufw rule per address; nothing to create first.
	default:
		err = fmt.Errorf("%s has no address sets to match", sys.Backend)
	}
	if err != nil {
		return DomainPlan{}, fmt.Errorf("allow_domain %s: %w", d.Name, err)
	}
	dns, err := dnsPlan(rs, sys, d)
	if err != nil {
		return DomainPlan{}, err
	}
	plan.Commands = append(plan.Commands, dns...)
	if sys.Backend == Firewalld {
		plan.Commands = oneReload(plan.Commands)
	}
	plan.Files, plan.Start = refreshJob(sys, n.unit, plan.Sets, setHomes(rs, plan.Commands, plan.Sets), d)
	return plan, nil
}

// withSamples is rs with remedy's sets, where they exist, holding what
// the probes send to, as the refresh job would fill them: an IPv6 set
// stays empty while the name has no AAAA record, and must not count
// against a rule that is in place.
func withSamples(rs *Ruleset, sets [2]string, d Domain) *Ruleset {
	out := rs.clone()
	for i, v6 := range []bool{false, true} {
		for _, t := range out.Tables {
			if t.Sets[sets[i]] != nil {
				addSampleSet(&Ruleset{Tables: []*Table{t}}, sets[i], d.sampleAddrs(v6))
			}
		}
	}
	return out
}

// acceptedBy reports whether a rule carrying comment lets a probe pass.
func acceptedBy(rs *Ruleset, probes []Packet, comment string) bool {
	for _, p := range probes {
		for _, o := range Verdict(rs, p).paths {
			if o.index >= 0 && o.chain.Rules[o.index].Comment == comment {
				return true
			}
		}
	}
	return false
}

// setHomes lists, as "family table set", every nft table that holds one
// of the sets now or that the commands create it in.
func setHomes(rs *Ruleset, cmds [][]string, sets [2]string) []string {
	var homes []string
	for _, t := range rs.Tables {
		for _, name := range sets {
			if t.Sets[name] != nil {
				homes = append(homes, strings.Join([]string{t.Family, t.Name, name}, " "))
			}
		}
	}
	for _, c := range cmds {
		if len(c) > 6 && c[0] == "nft" && c[2] == "set" {
			homes = append(homes, strings.Join(c[3:6], " "))
		}
	}
	return homes
}

func (d Domain) validate() error {
	switch {
	case valid.Domain(d.Name) != nil:
		return fmt.Errorf("allow_domain: %q is not a domain name", d.Name)
	case d.Proto != "tcp" && d.Proto != "udp":
		return fmt.Errorf("allow_domain %s: proto %q: want tcp or udp", d.Name, d.Proto)
	case d.Port == 0:
		return fmt.Errorf("allow_domain %s: no port", d.Name)
	case d.Refresh < time.Minute:
		return fmt.Errorf("allow_domain %s: refresh every %s: at least a minute", d.Name, d.Refresh)
	}
	return nil
}

func (d Domain) comment() string { return CommentPrefix + " " + d.Name }

// probes are packets to the name's addresses, or to a sample address
// standing for them, in one family.
func (d Domain) probes(v6 bool) []Packet {
	var out []Packet
	for _, a := range d.sampleAddrs(v6) {
		out = append(out, Packet{Dir: "out", Proto: d.Proto, Port: int(d.Port), Dst: a})
	}
	return out
}

func (d Domain) sampleAddrs(v6 bool) []netip.Addr {
	var out []netip.Addr
	for _, a := range d.Addrs {
		if a.Is6() == v6 {
			out = append(out, a)
		}
	}
	if len(out) > 0 {
		return out
	}
	return []netip.Addr{map[bool]netip.Addr{false: sampleV4, true: sampleV6}[v6]}
}

// rules plans, per family, a rule accepting the set's members before
// whatever stops them, on a copy of the ruleset in which every table
// holds the sets with the probe addresses; sets are created only in the
// tables that get a rule and lack them.
func (p *DomainPlan) rules(rs *Ruleset, sys System, d Domain) error {
	sim := rs.clone()
	for i, v6 := range []bool{false, true} {
		addSampleSet(sim, p.Sets[i], d.sampleAddrs(v6))
		a := Allow{Dir: "out", Proto: d.Proto, Ports: PortRange{d.Port, d.Port}, DstSet: p.Sets[i], Comment: d.comment()}
		fam, err := planRules(sim, sys, a, d.probes(v6))
		if err != nil {
			return err
		}
		for _, cmd := range fam.Commands {
			for _, c := range createSet(rs, cmd, p.Sets[i], v6) {
				if !slices.ContainsFunc(p.Commands, func(prev []string) bool { return slices.Equal(prev, c) }) {
					p.Commands = append(p.Commands, c)
				}
			}
			p.Commands = append(p.Commands, cmd)
		}
	}
	return nil
}

func addSampleSet(rs *Ruleset, name string, addrs []netip.Addr) {
	typ := "ipv4_addr"
	if addrs[0].Is6() {
		typ = "ipv6_addr"
	}
	set := &Set{Name: name, Type: typ}
	for _, a := range addrs {
		set.Prefixes = append(set.Prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	for _, t := range rs.Tables {
		t.Sets = mapWith(t.Sets, name, set)
	}
}

// mapWith returns a copy of m with k set: the clone shares its sets map
// with the host's ruleset, which must not change.
func mapWith(m map[string]*Set, k string, v *Set) map[string]*Set {
	out := map[string]*Set{k: v}
	for key, val := range m {
		if key != k {
			out[key] = val
		}
	}
	return out
}

// createSet returns the commands creating the set a rule command needs,
// unless the host already has it (or an earlier command made it).
func createSet(rs *Ruleset, rule []string, name string, v6 bool) [][]string {
	if rule[0] == "nft" {
		fam, table := rule[3], rule[4]
		if t := rs.Table(fam, table); t != nil && t.Sets[name] != nil {
			return nil
		}
		typ := map[bool]string{false: "ipv4_addr", true: "ipv6_addr"}[v6]
		return [][]string{{"nft", "add", "set", fam, table, name, "{ type " + typ + "; flags timeout; }"}}
	}
	family := map[bool]string{false: "inet", true: "inet6"}[v6]
	// -exist makes this a no-op when the set is there already.
	return [][]string{{"ipset", "create", name, "hash:ip", "family", family, "-exist"}}
}

// firewalldDomain creates firewalld ipsets and a policy from the host to
// any zone accepting the port to their members, permanent (the only way
// firewalld makes either), then one reload; over D-Bus where it can.
func firewalldDomain(sys System, sets [2]string, d Domain) [][]string {
	policy := policyName(d.comment())
	var rich []string
	for i, fam := range []string{"ipv4", "ipv6"} {
		rich = append(rich, fmt.Sprintf(`rule family="%s" destination ipset="%s" port port="%d" protocol="%s" accept`,
			fam, sets[i], d.Port, d.Proto))
	}
	if sys.Bus {
		var cmds [][]string
		for i, fam := range []string{"inet", "inet6"} {
			// (version, short, description, type, options, entries)
			cmds = append(cmds, fwConfig("addIPSet", "s(ssssa{ss}as)", sets[i], "", "", d.comment(), "hash:ip", "1", "family", fam, "0"))
		}
		// The reload brings remedy's live policy in too: a later
		// outbound opening then needs none (busOutbound).
		return append(cmds, addPolicy(policy, d.comment(), "rich_rules", "as", "2", rich[0], rich[1]), ensureLive(), fwReload(sys))
	}
	cmds := [][]string{
		fwcmd("--new-ipset="+sets[0], "--type=hash:ip", "--option=family=inet"),
		fwcmd("--new-ipset="+sets[1], "--type=hash:ip", "--option=family=inet6"),
		fwcmd("--new-policy=" + policy),
		fwcmd("--policy="+policy, "--set-description="+d.comment()),
		fwcmd("--policy="+policy, "--set-priority="+policyPriority),
		fwcmd("--policy="+policy, "--add-ingress-zone=HOST"),
		fwcmd("--policy="+policy, "--add-egress-zone=ANY"),
	}
	for _, r := range rich {
		cmds = append(cmds, fwcmd("--policy="+policy, "--add-rich-rule="+r))
	}
	return append(cmds, fwReload(sys))
}

// dnsAllows let DNS out (udp and tcp 53): the refresh job must resolve
// the name.
func (d Domain) dnsAllows() []Allow {
	var out []Allow
	for _, proto := range []string{"udp", "tcp"} {
		out = append(out, Allow{Dir: "out", Proto: proto, Ports: PortRange{53, 53},
			Comment: fmt.Sprintf("%s DNS/%s for %s", CommentPrefix, proto, d.Name)})
	}
	return out
}

// dnsPlan lets DNS out when the firewall stops it.
func dnsPlan(rs *Ruleset, sys System, d Domain) ([][]string, error) {
	var cmds [][]string
	for _, a := range d.dnsAllows() {
		p, err := PlanAllow(rs, sys, a)
		if err != nil {
			return nil, fmt.Errorf("allow_domain %s: DNS: %w", d.Name, err)
		}
		cmds = append(cmds, p.Commands...)
	}
	return cmds, nil
}
