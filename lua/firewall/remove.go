package firewall

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strings"

	"remedy/lua/shell"
)

// Installed is what PlanRemove needs to know beyond the ruleset, for the
// tools that keep remedy's comments outside the kernel's rules.
//
// firewalld's come from its permanent configuration: over D-Bus, all in
// one command (FirewalldInstalledArgv), else from firewall-cmd.
type Installed struct {
	UfwNumbered        string   // `ufw status numbered`
	FirewalldServices  []string // `firewall-cmd --permanent --get-services`
	FirewalldPolicies  []string // `firewall-cmd --permanent --get-policies`
	FirewalldRichRules []string // `firewall-cmd --permanent --zone=ZONE --list-rich-rules`, one per line
	// FirewalldServicePorts are the ports of the services a removal
	// takes out ("8443/tcp"), over D-Bus only: where remedy put them in
	// the runtime beside the service, removal takes them out too.
	FirewalldServicePorts map[string][]string
	// Runtime is firewalld's runtime zone (HostRead.ZoneInfo), nil when
	// unknown: removal then reloads to take remedy's rich rules out of it.
	Runtime *Zone
	// FirewalldIpsets are the permanent configuration's ipsets.
	FirewalldIpsets []string
	// Ipsets are the kernel's ipsets (IpsetNamesArgv), on an iptables
	// host.
	Ipsets []string
	// DomainJobs are allow_domain's refresh jobs on the host
	// (ReadDomainJobs).
	DomainJobs []DomainJob
	// FirewalldComments are the descriptions, the comments they were
	// made for, of remedy's services and policies (remedy-* and rmd-*,
	// names that never clash) in firewalld's permanent configuration
	// (FirewalldCommentsArgv). Their names cannot say which comment
	// made them: slug maps "a.io-b" and "a.io b" alike, and a long
	// policy name is cut and hashed.
	FirewalldComments map[string]string
	// Over D-Bus: RuntimePolicies are the runtime's policies (nil when
	// unknown), LiveRules the rich rules remedy's live policy holds in
	// the runtime, and PolicySettings the permanent settings of each of
	// remedy's policies the runtime lacks (made since the last reload),
	// whose openings the live policy holds in their stead (busOutbound).
	RuntimePolicies []string
	LiveRules       []string
	PolicySettings  map[string]map[string][]string
}

// removalTakes reports whether removing the rules commented prefix
// takes the one commented comment. The prefix ends at a word: it takes
// a comment equal to it, or one going on after a space ("remedy:
// aspera" takes "remedy: aspera FASP"), never one whose last word only
// starts alike ("remedy: api.ibmaspera.co" leaves "remedy:
// api.ibmaspera.com", another domain's). A prefix ending in a space or
// the colon ends its word itself ("remedy:" takes all of remedy's).
func removalTakes(prefix, comment string) bool {
	rest, ok := strings.CutPrefix(comment, prefix)
	return ok && (rest == "" || rest[0] == ' ' || strings.HasSuffix(prefix, " ") || strings.HasSuffix(prefix, ":"))
}

// PlanRemove plans deleting every rule remedy added whose comment starts
// with prefix as whole words (removalTakes), which itself must start
// with "remedy:" so nothing remedy did not add can match. What
// allow_domain made under such a comment goes too (RemovedDomains):
// its refresh job is stopped first, so that it adds nothing back, then
// its rules and DNS rules are deleted, then the sets they named (a set
// in use cannot be deleted), then the job's files. A set of remedy's that a rule staying behind names is refused,
// before anything changes.
func PlanRemove(rs *Ruleset, sys System, inst Installed, prefix string) (Plan, error) {
	if !strings.HasPrefix(prefix, CommentPrefix) {
		return Plan{}, fmt.Errorf("remove: comment prefix %q does not start with %q", prefix, CommentPrefix)
	}
	domains := RemovedDomains(rs, inst, prefix)
	prefixes := removalPrefixes(rs, inst, prefix, domains)
	removed := func(comment string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool { return removalTakes(p, comment) })
	}
	var plan Plan
	for _, j := range inst.DomainJobs {
		if slices.Contains(domains, j.Domain) {
			plan.Commands = append(plan.Commands, stopJob(sys, j)...)
		}
	}
	var rules, sets [][]string
	var err error
	switch sys.Backend {
	case Nftables, IptablesLegacy, IptablesNft:
		rules = removeRules(rs, sys, removed)
		sets, err = removeSets(rs, inst, domains, removed)
	case Ufw:
		rules = removeUfw(inst.UfwNumbered, removed)
	case Firewalld:
		var gone []string
		for _, p := range prefixes {
			rules = append(rules, removeFirewalld(sys, inst, p)...)
			gone = append(gone, slices.DeleteFunc(slices.Clone(inst.FirewalldPolicies), func(name string) bool {
				return !removesPolicy(p, name, inst.FirewalldComments)
			})...)
		}
		if sys.Bus {
			rules = append(rules, liveRemovals(inst, gone)...)
		}
		if len(domains) > 0 {
			rules = append(rules, removeLivePolicy(sys, inst, prefixes)...)
		}
		sets = removeFirewalldIpsets(sys, inst, domains)
		rules = oneReload(append(rules, sets...))
		sets = nil
	default:
		return Plan{}, fmt.Errorf("no firewall backend %q to plan for", sys.Backend)
	}
	if err != nil {
		return Plan{}, err
	}
	plan.Commands = append(append(plan.Commands, rules...), sets...)
	for _, j := range inst.DomainJobs {
		if slices.Contains(domains, j.Domain) {
			plan.Commands = append(plan.Commands, removeJobFiles(j)...)
		}
	}
	plan.Already = len(plan.Commands) == 0
	return plan, nil
}

// removeRules deletes by nft handle, or by iptables position from the
// end of each chain so earlier positions stay valid.
func removeRules(rs *Ruleset, sys System, removed func(comment string) bool) [][]string {
	var cmds [][]string
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			var handles []int
			for i, r := range c.Rules {
				id := r.Handle
				if t.Iptables {
					id = i + 1
				}
				if removed(r.Comment) && !slices.Contains(handles, id) {
					handles = append(handles, id)
				}
			}
			slices.Reverse(handles)
			for _, h := range handles {
				cmds = append(cmds, deleteCommand(sys, t, c, h))
			}
		}
	}
	return cmds
}

func deleteCommand(sys System, t *Table, c *Chain, h int) []string {
	if !t.Iptables {
		return []string{"nft", "delete", "rule", t.Family, t.Name, c.Name, "handle", fmt.Sprint(h)}
	}
	return []string{sys.iptablesCmd(t.Family), "-t", t.Name, "-D", c.Name, fmt.Sprint(h)}
}

// FirewalldInstalledArgv reads over D-Bus, in one command, what removing
// the rules commented prefix needs of firewalld's permanent
// configuration, each in a part: its services, policies, the zone's
// rich rules and the ipsets, the comments remedy's services and
// policies were made for (firewalldComments), and the ports of each
// service whose name the removal could take ("ports NAME"); and of the
// runtime, its policies and remedy's live policy's rules, with the
// permanent settings of each of remedy's policies it lacks ("settings
// NAME"), which a removal takes out of the live policy (liveRemovals).
// One firewall-cmd start per list and service took seconds each.
func FirewalldInstalledArgv(zone, prefix string) []string {
	call := shell.Join("busctl", "call", "--", fwBusName)
	conf := shell.Join(fwBusPath+"/config", fwBusName+".config")
	script := shell.PartsPrelude + fwConfFunc + `set -e
part services; s=$(` + call + ` ` + conf + ` getServiceNames); echo "$s"
part policies; pp=$(` + call + ` ` + conf + ` getPolicyNames); echo "$pp"
part runtime; rt=$(` + shell.Join(fwRuntime("policy", "getPolicies", "")...) + `); echo "$rt"
part live; ` + shell.Join(fwRuntime("policy", "getPolicySettings", "s", livePolicy)...) + ` 2>/dev/null || :
for w in $pp; do
	case $w in \"rmd-*) w=${w#\"}; w=${w%\"}
		case " $rt " in *" \"$w\" "*) ;; *) part "settings $w"; p=$(fwconf Policy "$w"); ` + call + ` "$p" ` + fwBusName + `.config.policy getSettings ;; esac ;;
	esac
done
part rich; z=$(fwconf Zone "$1"); ` + call + ` "$z" ` + fwBusName + `.config.zone getRichRules
part ipsets; ` + call + ` ` + conf + ` getIPSetNames
` + firewalldComments + `for w in $s; do
	case $w in \""$2"*) w=${w#\"}; w=${w%\"}; part "ports $w"; p=$(fwconf Service "$w"); ` + call + ` "$p" ` + fwBusName + `.config.service getPorts ;; esac
done`
	return []string{"sh", "-c", script, "sh", zone, slug(prefix)}
}

// ReadFirewalldInstalled reads FirewalldInstalledArgv's output.
func ReadFirewalldInstalled(out []byte) (Installed, error) {
	parts, err := shell.Parts(out)
	if err != nil {
		return Installed{}, fmt.Errorf("firewalld's configuration: %w", err)
	}
	var in Installed
	lists := []struct {
		part string
		into *[]string
	}{{"services", &in.FirewalldServices}, {"policies", &in.FirewalldPolicies}, {"rich", &in.FirewalldRichRules}}
	for _, l := range lists {
		if *l.into, err = busList(parts[l.part]); err != nil {
			return Installed{}, fmt.Errorf("firewalld's %s: %w", l.part, err)
		}
	}
	// A capture from before removal read the ipsets has no such part.
	if body, ok := parts["ipsets"]; ok {
		if in.FirewalldIpsets, err = busList(body); err != nil {
			return Installed{}, fmt.Errorf("firewalld's ipsets: %w", err)
		}
	}
	in.FirewalldComments = readComments(parts)
	if err := readLive(parts, &in); err != nil {
		return Installed{}, err
	}
	in.FirewalldServicePorts = map[string][]string{}
	for name, body := range parts {
		svc, ok := strings.CutPrefix(name, "ports ")
		if !ok {
			continue
		}
		if in.FirewalldServicePorts[svc], err = busList(body); err != nil {
			return Installed{}, fmt.Errorf("firewalld service %s: %w", svc, err)
		}
	}
	return in, nil
}

// readLive reads what FirewalldInstalledArgv says of the runtime's
// policies, remedy's live policy and the policies made since the last
// reload; a capture from before removal read them has no such parts.
func readLive(parts map[string][]byte, in *Installed) error {
	body, ok := parts["runtime"]
	if !ok {
		return nil
	}
	var err error
	if in.RuntimePolicies, err = busList(body); err != nil {
		return fmt.Errorf("firewalld's runtime policies: %w", err)
	}
	if live := strings.TrimSpace(string(parts["live"])); live != "" {
		set, err := busSettings([]byte(live))
		if err != nil {
			return fmt.Errorf("firewalld's %s: %w", livePolicy, err)
		}
		in.LiveRules = set["rich_rules"]
	}
	in.PolicySettings = map[string]map[string][]string{}
	for name, body := range parts {
		if p, ok := strings.CutPrefix(name, "settings "); ok {
			if in.PolicySettings[p], err = busSettings(body); err != nil {
				return fmt.Errorf("firewalld policy %s: %w", p, err)
			}
		}
	}
	return nil
}

// firewalldComments prints, in a part "comment NAME" each, the file of
// each of remedy's services and policies in firewalld's permanent
// configuration, whose description is the comment the object was made
// for: firewalld keeps every object it makes in /etc/firewalld. One cat,
// where a D-Bus call per object costs 0.1-0.3 s and a firewall-cmd 2-4 s.
const firewalldComments = `for f in /etc/firewalld/services/remedy-*.xml /etc/firewalld/policies/rmd-*.xml; do
	[ -f "$f" ] || continue
	n=${f##*/}; part "comment ${n%.xml}"; cat "$f"
done
`

// FirewalldCommentsArgv reads the comments remedy's firewalld services
// and policies were made for (Installed.FirewalldComments), for a host
// where FirewalldInstalledArgv cannot.
func FirewalldCommentsArgv() []string {
	return []string{"sh", "-c", shell.PartsPrelude + `part comments
` + firewalldComments}
}

// ReadFirewalldComments reads FirewalldCommentsArgv's output.
func ReadFirewalldComments(out []byte) (map[string]string, error) {
	parts, err := shell.Parts(out)
	if err != nil {
		return nil, fmt.Errorf("firewalld's services and policies: %w", err)
	}
	return readComments(parts), nil
}

// readComments reads the descriptions of the "comment NAME" parts. A
// file that is not firewalld's XML is left out: removal then goes by
// the object's name alone, which takes it only for its own comment.
func readComments(parts map[string][]byte) map[string]string {
	comments := map[string]string{}
	for part, body := range parts {
		name, ok := strings.CutPrefix(part, "comment ")
		if !ok {
			continue
		}
		var obj struct {
			Description string `xml:"description"`
		}
		if xml.Unmarshal(body, &obj) == nil && obj.Description != "" {
			comments[name] = strings.TrimSpace(obj.Description)
		}
	}
	return comments
}
