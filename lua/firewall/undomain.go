package firewall

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"remedy/lua/valid"
)

// Undoing allow_domain: removal by a comment that matches a domain's
// ("remedy: NAME") takes out, beside the rules, what only the rules
// needed: the refresh job (script, systemd timer and service, cron
// entry, or the detached loop of a host without init), the sets the
// job filled, firewalld's ipsets, and the domain's DNS rules when no
// other domain's job stays to need them.

// DomainJob is a refresh job allow_domain left on a host, read back from
// its script (ReadDomainJobs).
type DomainJob struct {
	Script string   // /usr/local/sbin/remedy-domain-...
	Domain string   // the name it re-resolves
	Files  []string // its timer, service or cron entry, those there are
}

// jobDir holds the refresh scripts; jobUnit names a domain's script,
// timer, service and cron entry.
const jobDir = "/usr/local/sbin/"

// jobFiles are where refreshJob may put a job's schedule.
func jobFiles(unit string) []string {
	return []string{"/etc/systemd/system/" + unit + ".timer", "/etc/systemd/system/" + unit + ".service", "/etc/cron.d/" + unit}
}

// DomainJobsArgv lists the refresh scripts, one a line: the script, the
// name its "name=" line resolves, and those of its schedule's files
// there are.
func DomainJobsArgv() []string {
	return []string{"sh", "-c", `for f in ` + jobDir + `remedy-domain-*; do
	[ -f "$f" ] || continue
	u=${f##*/}
	printf '%s %s' "$f" "$(sed -n 's/^name=\([^ ]*\) .*/\1/p' "$f" | head -n 1)"
	for x in /etc/systemd/system/$u.timer /etc/systemd/system/$u.service /etc/cron.d/$u; do
		[ ! -e "$x" ] || printf ' %s' "$x"
	done
	echo
done`}
}

// ReadDomainJobs reads DomainJobsArgv's output. A script whose name line
// is not a domain name is not one remedy wrote, and is left out.
func ReadDomainJobs(out []byte) []DomainJob {
	var jobs []DomainJob
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || valid.Domain(f[1]) != nil || !strings.HasPrefix(f[0], jobDir+"remedy-domain-") {
			continue
		}
		j := DomainJob{Script: f[0], Domain: f[1]}
		for _, x := range f[2:] {
			if slices.Contains(jobFiles(path.Base(f[0])), x) {
				j.Files = append(j.Files, x)
			}
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// IpsetNamesArgv lists the kernel's ipsets, one a line; nothing where
// ipset is not installed.
func IpsetNamesArgv() []string {
	return []string{"sh", "-c", "command -v ipset >/dev/null || exit 0; ipset list -n"}
}

// RemovedDomains are the domains whose allow_domain a removal of prefix
// undoes: those whose comment it takes (removalTakes), of a refresh job on
// the host or of a rule naming the domain's sets.
func RemovedDomains(rs *Ruleset, inst Installed, prefix string) []string {
	var out []string
	add := func(name string) {
		if removalTakes(prefix, Domain{Name: name}.comment()) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	for _, j := range inst.DomainJobs {
		add(j.Domain)
	}
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				name, ok := strings.CutPrefix(r.Comment, CommentPrefix+" ")
				if !ok || valid.Domain(name) != nil {
					continue
				}
				if namesSet(&Ruleset{Tables: []*Table{t}}, r.Comment, setNames(name)) || namesSet(&Ruleset{Tables: []*Table{t}}, r.Comment, legacySetNames(name)) {
					add(name)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// jobsStay reports whether a refresh job of a domain not in domains
// stays on the host.
func jobsStay(inst Installed, domains []string) bool {
	return slices.ContainsFunc(inst.DomainJobs, func(j DomainJob) bool { return !slices.Contains(domains, j.Domain) })
}

// setsNamed are the sets a rule looks up or adds to.
func setsNamed(r *Rule) []string {
	var out []string
	for _, m := range r.Matches {
		if m.Set != "" {
			out = append(out, m.Set)
		}
	}
	for _, e := range r.Effects {
		if e.Set != "" {
			out = append(out, e.Set)
		}
	}
	return out
}

// removeSets deletes the domains' nft sets and ipsets (in rs or
// inst.Ipsets), once the rules removed says go are gone. A set a rule that stays names is an error:
// deleting it would fail, and keeping it silently would leave remedy's
// behind.
func removeSets(rs *Ruleset, inst Installed, domains []string, removed func(comment string) bool) ([][]string, error) {
	var cmds [][]string
	names := removedSetNames(rs, inst, domains)
	for _, d := range domains {
		for _, name := range names[d] {
			// The job creates both ipsets, an IPv6 one also where no
			// ip6tables table is there to hold it in rs.
			ipset := slices.Contains(inst.Ipsets, name)
			for _, t := range rs.Tables {
				if t.Sets[name] == nil {
					continue
				}
				if user := setUser(t, name, removed); user != "" {
					return nil, fmt.Errorf("remove: allow_domain %s: its set %s stays in use by %s, which the comment does not match: remove that rule first", d, name, user)
				}
				if t.Iptables {
					ipset = true
					continue
				}
				cmds = append(cmds, []string{"nft", "delete", "set", t.Family, t.Name, name})
			}
			if ipset {
				cmds = append(cmds, []string{"ipset", "destroy", name})
			}
		}
	}
	return cmds, nil
}

// setUser names a rule of t that names set and stays, if any.
func setUser(t *Table, set string, removed func(comment string) bool) string {
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			if !removed(r.Comment) && slices.Contains(setsNamed(r), set) {
				return fmt.Sprintf("a rule of %s %s chain %s (%q)", t.Family, t.Name, c.Name, r.Comment)
			}
		}
	}
	return ""
}

// removeLivePolicy deletes remedy's live policy, which allow_domain
// made, once no policy of remedy's stays whose runtime it could hold
// (busOutbound): undoing the last outbound opening leaves nothing of
// remedy's behind.
func removeLivePolicy(sys System, inst Installed, prefixes []string) [][]string {
	removed := func(p string) bool {
		return slices.ContainsFunc(prefixes, func(pre string) bool { return removesPolicy(pre, p, inst.FirewalldComments) })
	}
	// "remedy:" names it, and removeFirewalld takes it out already.
	if !slices.Contains(inst.FirewalldPolicies, livePolicy) || removed(livePolicy) {
		return nil
	}
	for _, p := range inst.FirewalldPolicies {
		if strings.HasPrefix(p, "rmd-") && p != livePolicy && !removed(p) {
			return nil
		}
	}
	if sys.Bus {
		return [][]string{fwConf("Policy", livePolicy, "remove", ""), fwReload(sys)}
	}
	return [][]string{fwcmd("--delete-policy=" + livePolicy), fwReload(sys)}
}

// removeFirewalldIpsets deletes the domains' ipsets from firewalld's
// permanent configuration; the reload after takes them out of the
// runtime, after the policy naming them.
func removeFirewalldIpsets(sys System, inst Installed, domains []string) [][]string {
	var cmds [][]string
	// firewalld's rules carry no comments: its policies' say which stay.
	names := removedSetNames(&Ruleset{}, inst, domains)
	for _, d := range domains {
		for _, name := range names[d] {
			switch {
			case !slices.Contains(inst.FirewalldIpsets, name):
			case sys.Bus:
				cmds = append(cmds, fwConf("IPSet", name, "remove", ""))
			default:
				cmds = append(cmds, fwcmd("--delete-ipset="+name))
			}
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	return append(cmds, fwReload(sys))
}

// stopJob stops a refresh job before the rules go, so that no run adds
// them back: the timer (and a run in progress) under systemd, the
// detached loop on a host without init. A cron entry runs no more once
// removeJobFiles deletes it.
func stopJob(sys System, j DomainJob) [][]string {
	unit := path.Base(j.Script)
	var cmds [][]string
	if slices.Contains(j.Files, "/etc/systemd/system/"+unit+".timer") {
		cmds = append(cmds, []string{"systemctl", "disable", "--now", unit + ".timer"})
	}
	if slices.Contains(j.Files, "/etc/systemd/system/"+unit+".service") {
		cmds = append(cmds, []string{"systemctl", "stop", unit + ".service"})
	}
	if sys.Init == "none" {
		cmds = append(cmds, []string{"sh", "-c", stopLoop, "sh", j.Script})
	}
	return cmds
}

// stopLoop kills refreshJob's detached loop running script $1, with the
// run or the sleep it is in: setsid made the loop its process group's
// leader.
const stopLoop = `for p in /proc/[0-9]*; do
	case $(tr '\0' '\n' < "$p/cmdline" 2>/dev/null | sed -n 3p) in
	"while :; do $1; sleep "*) kill -- "-${p#/proc/}" 2>/dev/null || kill "${p#/proc/}" 2>/dev/null || : ;;
	esac
done`

// removeJobFiles deletes the job's script and schedule, then has systemd
// forget its units.
func removeJobFiles(j DomainJob) [][]string {
	cmds := [][]string{append([]string{"rm", "-f", "--", j.Script}, j.Files...)}
	if slices.ContainsFunc(j.Files, func(f string) bool { return strings.HasPrefix(f, "/etc/systemd/") }) {
		cmds = append(cmds, []string{"systemctl", "daemon-reload"})
	}
	return cmds
}

// removalPrefixes are the comment prefixes a removal of prefix deletes
// rules by: prefix, and, once no other domain's job stays to need DNS
// let out, the DNS rules of the domains it undoes and those an earlier
// removal kept for a job that has gone since (dnsOrphans).
func removalPrefixes(rs *Ruleset, inst Installed, prefix string, domains []string) []string {
	prefixes := []string{prefix}
	if jobsStay(inst, domains) {
		return prefixes
	}
	for _, d := range append(slices.Clone(domains), dnsOrphans(rs, inst, domains)...) {
		for _, a := range (Domain{Name: d}).dnsAllows() {
			prefixes = append(prefixes, a.Comment)
		}
	}
	return prefixes
}

// dnsOrphans are the domains, beside domains, that DNS rules of remedy's
// on the host were made for (dnsAllows), in the kernel's rules, ufw's
// or firewalld's policies: their allow_domain was removed while another
// domain's job needed DNS let out.
func dnsOrphans(rs *Ruleset, inst Installed, domains []string) []string {
	comments := slices.Collect(maps.Values(inst.FirewalldComments))
	for _, line := range strings.Split(inst.UfwNumbered, "\n") {
		if m := ufwNumbered.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			comments = append(comments, m[2])
		}
	}
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				comments = append(comments, r.Comment)
			}
		}
	}
	var out []string
	for _, c := range comments {
		rest, ok := strings.CutPrefix(c, CommentPrefix+" DNS/")
		_, name, found := strings.Cut(rest, " for ")
		if ok && found && valid.Domain(name) == nil && !slices.Contains(domains, name) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// PlanBootRemoveDomains is PlanBootRemove for a removal that also undoes
// domains (RemovedDomains): their DNS rules go too, and the definitions
// of their sets, from remedy's block of an nft file or of an ipset file.
func PlanBootRemoveDomains(f BootFile, text string, rs *Ruleset, prefix string, domains []string, inst Installed) (string, error) {
	var sets []string
	names := removedSetNames(rs, inst, domains)
	for _, d := range domains {
		sets = append(sets, names[d]...)
	}
	if f.Format == FormatIpset {
		return removeIpsets(text, sets)
	}
	var err error
	for _, p := range removalPrefixes(rs, inst, prefix, domains) {
		if text, err = PlanBootRemove(f, text, rs, p); err != nil {
			return "", err
		}
	}
	if f.Format != FormatNft || len(sets) == 0 {
		return text, nil
	}
	base, block, err := splitNftBlock(text)
	if err != nil {
		return "", fmt.Errorf("%s: %w", f.Path, err)
	}
	kept := slices.DeleteFunc(block, func(r blockRule) bool {
		f := strings.Fields(r.def) // add set FAMILY TABLE NAME { ... }
		return len(f) > 4 && slices.Contains(sets, f[4])
	})
	return base + renderNftBlock(kept), nil
}

// removeIpsets takes sets out of remedy's block of an ipset file, and
// the block out when it is left empty.
func removeIpsets(text string, sets []string) (string, error) {
	start := strings.Index(text, ipsetBlockStart+"\n")
	if start < 0 {
		return text, nil
	}
	rest := text[start+len(ipsetBlockStart)+1:]
	end := strings.Index(rest, ipsetBlockEnd+"\n")
	if end < 0 {
		return "", fmt.Errorf("remedy's block of sets has no end line %q", ipsetBlockEnd)
	}
	var kept []string
	for _, line := range strings.Split(strings.TrimSpace(rest[:end]), "\n") {
		if f := strings.Fields(line); line != "" && !(len(f) > 1 && f[0] == "create" && slices.Contains(sets, f[1])) {
			kept = append(kept, line)
		}
	}
	block := ""
	if len(kept) > 0 {
		block = ipsetBlockStart + "\n" + strings.Join(kept, "\n") + "\n" + ipsetBlockEnd + "\n"
	}
	return text[:start] + block + rest[end+len(ipsetBlockEnd)+1:], nil
}
