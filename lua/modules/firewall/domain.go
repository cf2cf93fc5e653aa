package firewall

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"remedy/lua"
	"remedy/lua/change"
	"remedy/lua/firewall"
	"remedy/lua/modules/net"
	"remedy/lua/remote"
)

// AllowDomain lets the host reach a domain whose addresses change: sets
// of its addresses a rule accepts, DNS let out if blocked, and a job
// re-resolving it every d.Refresh; 0 takes the record's TTL (between a
// minute and an hour), asked for only when a job is needed. The sets and
// rules go into what boot loads too, and only they: it refuses, before
// anything changes, when a reboot would not keep them. When it changed
// anything, it then checks that the name resolves, the sets hold it and a
// connection succeeds.
func AllowDomain(s change.Session, d firewall.Domain) (Changed, error) {
	addrs, err := resolve(s, d.Name)
	if err != nil {
		return Changed{}, err
	}
	d.Addrs = addrs
	fromTTL := d.Refresh == 0
	if fromTTL {
		d.Refresh = 300 * time.Second
	}
	st, seq, err := readForChange(s)
	if err != nil {
		return Changed{}, err
	}
	plan, err := planDomain(s, st, d)
	if err != nil {
		return Changed{}, err
	}
	edit := func(f firewall.BootFile, text string, rs *firewall.Ruleset) (string, error) {
		return firewall.PlanBootAllowDomain(f, text, rs, d)
	}
	boot, err := planBootDomain(s, st.System, d, edit)
	if err != nil || plan.Already && boot.empty() {
		return Changed{}, err
	}
	changed := !boot.empty()
	if !plan.Already {
		if fromTTL {
			ttl, err := refresh(s, d.Name)
			if err != nil {
				return Changed{}, err
			}
			d.Refresh = time.Duration(ttl) * time.Second
			if plan, err = planDomain(s, st, d); err != nil {
				return Changed{}, err
			}
		}
		live, err := applyDomain(seq, plan)
		if err != nil {
			return Changed{}, err
		}
		changed = changed || live
	}
	if err := applyBoot(s, seq, boot, edit); err != nil {
		return Changed{}, err
	}
	if changed {
		check := change.Step{Describe: fmt.Sprintf("# resolve %s again, check the firewall lets its addresses out and connect to it from the host", d.Name),
			Run: func() error { return checkDomain(s, d) }}
		if _, err := seq.Apply(check, nil); err != nil {
			return Changed{}, err
		}
	}
	return Changed{Commands: plan.Commands, Boot: !boot.empty()}, nil
}

func planDomain(s change.Session, st *State, d firewall.Domain) (firewall.DomainPlan, error) {
	plan, err := firewall.PlanAllowDomain(st.Rules, st.System, d)
	if err != nil {
		return plan, fmt.Errorf("%s: %w", s.Name(), err)
	}
	return plan, nil
}

// planBootDomain plans the boot files that carry the domain's sets and
// rules. iptables rules name ipsets, which boot must create before it
// loads them: the ipset file boot loads gets remedy's sets, and a host
// where nothing loads ipsets is refused.
func planBootDomain(s change.Session, sys firewall.System, d firewall.Domain, edit bootEdit) (bootChange, error) {
	c, err := planBoot(s, sys, "allow_domain "+d.Name, false, edit)
	if err != nil || len(c.writes) == 0 || (sys.Backend != firewall.IptablesLegacy && sys.Backend != firewall.IptablesNft) {
		return c, err
	}
	bu, err := readBootUnits(s)
	if err != nil {
		return c, err
	}
	f, problem := firewall.BootIpsets(sys, bu.units, bu.plugins)
	if problem != "" {
		return c, fmt.Errorf("%s: firewall: refusing to allow_domain %s: a reboot would not keep it: %s", s.Name(), d.Name, problem)
	}
	return c, c.edit(s, []firewall.BootFile{f}, edit)
}

// applyDomain applies the rules, writes the job's files and starts the
// job when anything was new, and says whether it was.
func applyDomain(seq change.Sequence, plan firewall.DomainPlan) (bool, error) {
	if err := commands(seq, plan.Commands); err != nil {
		return false, err
	}
	changed := len(plan.Commands) > 0
	for _, f := range plan.Files {
		res, err := seq.Apply(change.File{Path: f.Path, Content: []byte(f.Content), Mode: fmt.Sprintf("%04o", f.Mode)}, nil)
		if err != nil {
			return false, err
		}
		changed = changed || res.Changed
	}
	if !changed {
		return false, nil
	}
	return true, commands(seq, plan.Start)
}

// checkDomain is allow_domain's own check: the name resolves now, the
// firewall passes its addresses (the sets hold them), and a connection
// from the host succeeds.
func checkDomain(s change.Session, d firewall.Domain) error {
	name := s.Name()
	addrs, err := resolve(s, d.Name)
	if err != nil {
		return err
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%s: allow_domain: %s does not resolve on the host", name, d.Name)
	}
	st, err := Read(s)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		// As the host sends it: by its route to the address, from that
		// interface's address.
		_, r, err := st.Probe(s, firewall.Probe{Dir: "out", Proto: d.Proto, Port: int(d.Port), Peer: a})
		if err != nil {
			return err
		}
		if r.Verdict != firewall.VerdictAccept {
			return fmt.Errorf("%s: allow_domain: %s (%s) does not pass: %s", name, d.Name, a, r.Reason)
		}
	}
	if d.Proto != "tcp" {
		return nil
	}
	out, err := s.Query("timeout", "5", "bash", "-c", `exec 3<>"/dev/tcp/$0/$1"`, d.Name, strconv.Itoa(int(d.Port)))
	if err != nil || out.ExitCode != 0 {
		return fmt.Errorf("%s: allow_domain: cannot connect to %s port %d from the host: %v %s", name, d.Name, d.Port, err, remote.Excerpt(out.Stderr))
	}
	return nil
}

// resolve returns the name's addresses as the host's applications see
// them, asked as net.resolve asks, so that the two share one read.
func resolve(s change.Session, name string) ([]netip.Addr, error) {
	out, err := s.QueryCached(net.ResolveArgv(name)...)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	for _, a := range net.ParseAhosts(string(out.Stdout)) {
		if ip, err := netip.ParseAddr(a); err == nil && !ip.Is4In6() {
			addrs = append(addrs, ip)
		}
	}
	return addrs, nil
}

// ttlScript prints the smallest TTL of the name's A and AAAA records when
// dig is there to ask.
const ttlScript = `command -v dig >/dev/null 2>&1 || exit 0
dig +noall +answer "$1" A "$1" AAAA | awk '$4 == "A" || $4 == "AAAA" {print $2}' | sort -n | head -n 1`

func ttlArgv(name string) []string { return []string{"sh", "-c", ttlScript, "sh", name} }

// DomainReads are the reads AllowDomain takes for a domain: a playbook's
// prefetch lists them. They are its addresses, its TTL, and the content
// and state of each file its refresh job may write (the plan reads those
// it writes, to say whether they change).
func DomainReads(name string) [][]string {
	reads := [][]string{net.ResolveArgv(name), ttlArgv(name)}
	for _, p := range firewall.JobPaths(name) {
		reads = append(reads, lua.WriteReads(p)...)
	}
	return reads
}

// refresh returns how often to re-resolve name: its TTL kept between a
// minute and an hour; five minutes when it cannot be read (no dig, or a
// name from the hosts file).
func refresh(s change.Session, name string) (int, error) {
	out, err := s.QueryCached(ttlArgv(name)...)
	if err != nil {
		return 0, err
	}
	return parseTTL(out.Stdout), nil
}

func parseTTL(out []byte) int {
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || n <= 0 {
		return 300
	}
	return min(max(n, 60), 3600)
}

// bootIpsetsRemoval adds to c, on an iptables host, the ipset file boot
// loads, from which removing domains takes their sets. A host where
// nothing loads ipsets at boot has none of remedy's there.
func bootIpsetsRemoval(s change.Session, sys firewall.System, c *bootChange, domains []string, edit bootEdit) error {
	if len(domains) == 0 || (sys.Backend != firewall.IptablesLegacy && sys.Backend != firewall.IptablesNft) {
		return nil
	}
	bu, err := readBootUnits(s)
	if err != nil {
		return err
	}
	f, problem := firewall.BootIpsets(sys, bu.units, bu.plugins)
	if problem != "" {
		return nil
	}
	return c.edit(s, []firewall.BootFile{f}, edit)
}
