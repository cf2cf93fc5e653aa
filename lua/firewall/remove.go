package firewall

import (
	"fmt"
	"slices"
	"strings"
)

// Installed is what PlanRemove needs to know beyond the ruleset, for the
// tools that keep remedy's comments outside the kernel's rules.
type Installed struct {
	UfwNumbered        string   // `ufw status numbered`
	FirewalldServices  []string // `firewall-cmd --permanent --get-services`
	FirewalldPolicies  []string // `firewall-cmd --permanent --get-policies`
	FirewalldRichRules []string // `firewall-cmd --permanent --zone=ZONE --list-rich-rules`, one per line
	// FirewalldServicePorts are the ports of remedy's services
	// (`firewall-cmd --permanent --service=NAME --get-ports`: "8443/tcp").
	FirewalldServicePorts map[string][]string
	// Runtime is firewalld's runtime zone (HostRead.ZoneInfo), nil when
	// unknown: removal then reloads to take remedy's ports out of it.
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
