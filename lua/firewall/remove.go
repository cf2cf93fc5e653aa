package firewall

import (
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
}

// PlanRemove plans deleting every rule remedy added whose comment starts
// with prefix, which itself must start with "remedy:" so nothing remedy
// did not add can match.
func PlanRemove(rs *Ruleset, sys System, inst Installed, prefix string) (Plan, error) {
	if !strings.HasPrefix(prefix, CommentPrefix) {
		return Plan{}, fmt.Errorf("remove: comment prefix %q does not start with %q", prefix, CommentPrefix)
	}
	var plan Plan
	switch sys.Backend {
	case Nftables, IptablesLegacy, IptablesNft:
		plan.Commands = removeRules(rs, sys, prefix)
	case Ufw:
		plan.Commands = removeUfw(inst.UfwNumbered, prefix)
	case Firewalld:
		plan.Commands = removeFirewalld(sys, inst, prefix)
	default:
		return Plan{}, fmt.Errorf("no firewall backend %q to plan for", sys.Backend)
	}
	plan.Already = len(plan.Commands) == 0
	return plan, nil
}

// removeRules deletes by nft handle, or by iptables position from the
// end of each chain so earlier positions stay valid.
func removeRules(rs *Ruleset, sys System, prefix string) [][]string {
	var cmds [][]string
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			var handles []int
			for i, r := range c.Rules {
				id := r.Handle
				if t.Iptables {
					id = i + 1
				}
				if strings.HasPrefix(r.Comment, prefix) && !slices.Contains(handles, id) {
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
// configuration, each in a part: its services, policies and the zone's
// rich rules, and the ports of each service the removal takes out
// ("ports NAME"). One firewall-cmd start per list and service took
// seconds each.
func FirewalldInstalledArgv(zone, prefix string) []string {
	call := shell.Join("busctl", "call", "--", fwBusName)
	conf := shell.Join(fwBusPath+"/config", fwBusName+".config")
	script := shell.PartsPrelude + fwConfFunc + `set -e
part services; s=$(` + call + ` ` + conf + ` getServiceNames); echo "$s"
part policies; ` + call + ` ` + conf + ` getPolicyNames
part rich; z=$(fwconf Zone "$1"); ` + call + ` "$z" ` + fwBusName + `.config.zone getRichRules
for w in $s; do
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
