package firewall

import (
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"remedy/lua/change"
	"remedy/lua/firewall"
	"remedy/lua/modules/net"
	"remedy/lua/remote"
)

// AllowDomain lets the host reach a domain whose addresses change: sets
// of its addresses a rule accepts, DNS let out if blocked, and a job
// re-resolving it every d.Refresh; 0 takes the record's TTL (between a
// minute and an hour), asked for only when a job is needed. Then it
// checks that the name resolves, the sets hold it and a connection
// succeeds.
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
	if err != nil || plan.Already {
		return Changed{}, err
	}
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
	if err := applyDomain(s, seq, plan); err != nil {
		return Changed{}, err
	}
	check := change.Step{Describe: fmt.Sprintf("# resolve %s again, check the firewall lets its addresses out and connect to it from the host", d.Name),
		Run: func() error { return checkDomain(s, d) }}
	if _, err := seq.Apply(check, nil); err != nil {
		return Changed{}, err
	}
	return Changed{Commands: plan.Commands}, nil
}

func planDomain(s change.Session, st *State, d firewall.Domain) (firewall.DomainPlan, error) {
	plan, err := firewall.PlanAllowDomain(st.Rules, st.System, d)
	if err != nil {
		return plan, fmt.Errorf("%s: %w", s.Name(), err)
	}
	return plan, nil
}

// applyDomain applies the rules, writes the job's files and starts the
// job when anything was new, then saves the rules where boot loads them.
func applyDomain(s change.Session, seq change.Sequence, plan firewall.DomainPlan) error {
	if err := commands(seq, plan.Commands); err != nil {
		return err
	}
	changed := len(plan.Commands) > 0
	for _, f := range plan.Files {
		res, err := seq.Apply(change.File{Path: f.Path, Content: []byte(f.Content), Mode: fmt.Sprintf("%04o", f.Mode)}, nil)
		if err != nil {
			return err
		}
		changed = changed || res.Changed
	}
	if changed {
		if err := commands(seq, plan.Start); err != nil {
			return err
		}
	}
	for _, p := range plan.Persist {
		save := change.Step{Describe: fmt.Sprintf("# save the live rules to %s: %s", p.Path, strings.Join(p.Dump, " ")),
			Run: func() error { return persist(s, seq, p) }}
		if _, err := seq.Apply(save, nil); err != nil {
			return err
		}
	}
	return nil
}

// persist writes a file from its dump, validated by the tool that will
// load it at boot.
func persist(s change.Session, seq change.Sequence, p firewall.Persist) error {
	dump, err := query(s, false, p.Dump...)
	if err != nil {
		return err
	}
	if _, err := seq.Apply(change.Command{Argv: []string{"mkdir", "-p", path.Dir(p.Path)}}, nil); err != nil {
		return err
	}
	_, err = seq.Apply(change.File{Path: p.Path, Content: []byte(p.Header + string(dump)), Backup: true, Validate: persistValidator(p)}, nil)
	return err
}

func persistValidator(p firewall.Persist) []string {
	switch p.Dump[0] {
	case "nft":
		return []string{"nft", "-c", "-f", "%s"}
	case "iptables-save", "ip6tables-save":
		return []string{strings.TrimSuffix(p.Dump[0], "-save") + "-restore", "--test", "%s"}
	}
	return nil
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
		p := firewall.Packet{Dir: "out", Proto: d.Proto, Port: int(d.Port), Dst: a}
		if r := st.Verdict(p); r.Verdict != firewall.VerdictAccept {
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
// prefetch lists them.
func DomainReads(name string) [][]string { return [][]string{net.ResolveArgv(name), ttlArgv(name)} }

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
