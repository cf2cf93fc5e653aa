package firewall

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// planFirewalld opens a through firewalld. Inbound, a service named after
// the comment carries the ports and the comment as its description (ports
// and rich rules have no comment of their own) and joins the zone;
// outbound, a policy from the host to any zone does the same. Both are
// permanent, then a reload makes them the runtime state: firewalld
// creates services and policies only in the permanent configuration.
func planFirewalld(sys System, a Allow) (Plan, error) {
	if sys.Zone == "" && a.Dir == "in" {
		return Plan{}, fmt.Errorf("firewalld: no zone to open %s/%s in", a.Proto, a.Ports)
	}
	name := slug(a.Comment)
	if a.Dir == "out" {
		name = policyName(a.Comment)
	}
	port := fmt.Sprintf("%s/%s", a.Ports, a.Proto)
	var cmds [][]string
	if a.Dir == "in" {
		cmds = [][]string{
			fwcmd("--new-service=" + name),
			fwcmd("--service="+name, "--set-description="+a.Comment),
			fwcmd("--service="+name, "--add-port="+port),
			fwcmd("--zone="+sys.Zone, zoneJoin(name, a)),
		}
	} else {
		cmds = [][]string{
			fwcmd("--new-policy=" + name),
			fwcmd("--policy="+name, "--set-description="+a.Comment),
			fwcmd("--policy="+name, "--set-priority="+policyPriority),
			fwcmd("--policy="+name, "--add-ingress-zone=HOST"),
			fwcmd("--policy="+name, "--add-egress-zone=ANY"),
			fwcmd("--policy="+name, policyAllow(a, port)),
		}
	}
	return Plan{Commands: append(cmds, []string{"firewall-cmd", "--reload"})}, nil
}

// policyPriority puts remedy's policies before the default priority (-1)
// an administrator's egress policy most likely has: firewalld runs lower
// priorities first, and a policy's DROP target would end the packet
// before remedy's accept is reached.
const policyPriority = "-100"

// policyName is slug's name for a firewalld policy, which may have at
// most 18 characters: long ones keep a prefix and a hash of the comment.
func policyName(comment string) string {
	name := "rmd-" + strings.TrimPrefix(slug(comment), "remedy-")
	if len(name) <= 18 {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(comment))
	return fmt.Sprintf("%s-%04x", strings.TrimRight(name[:13], "-"), h.Sum32()&0xffff)
}

func fwcmd(args ...string) []string {
	return append([]string{"firewall-cmd", "--permanent"}, args...)
}

// zoneJoin adds the service to the zone, through a rich rule when only
// some sources may use it.
func zoneJoin(service string, a Allow) string {
	if !a.Src.IsValid() {
		return "--add-service=" + service
	}
	return fmt.Sprintf(`--add-rich-rule=rule family="%s" source address="%s" service name="%s" accept`,
		richFamily(a.Src.Addr().Is6()), a.Src.Masked(), service)
}

func policyAllow(a Allow, port string) string {
	if !a.Dst.IsValid() {
		return "--add-port=" + port
	}
	return fmt.Sprintf(`--add-rich-rule=rule family="%s" destination address="%s" port port="%s" protocol="%s" accept`,
		richFamily(a.Dst.Addr().Is6()), a.Dst.Masked(), a.Ports, a.Proto)
}

func richFamily(v6 bool) string {
	if v6 {
		return "ipv6"
	}
	return "ipv4"
}

// removeFirewalld undoes planFirewalld for every service and policy whose
// name comes from a comment starting with prefix.
func removeFirewalld(sys System, inst Installed, prefix string) [][]string {
	name := slug(prefix)
	var cmds [][]string
	for _, s := range inst.FirewalldServices {
		if !strings.HasPrefix(s, name) {
			continue
		}
		for _, rich := range inst.FirewalldRichRules {
			if strings.Contains(rich, fmt.Sprintf(`service name="%s"`, s)) {
				cmds = append(cmds, fwcmd("--zone="+sys.Zone, "--remove-rich-rule="+rich))
			}
		}
		cmds = append(cmds, fwcmd("--zone="+sys.Zone, "--remove-service="+s), fwcmd("--delete-service="+s))
	}
	short := policyName(prefix)
	for _, p := range inst.FirewalldPolicies {
		if p == short || strings.HasPrefix(p, "rmd-"+strings.TrimPrefix(name, "remedy-")) {
			cmds = append(cmds, fwcmd("--delete-policy="+p))
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	return append(cmds, []string{"firewall-cmd", "--reload"})
}
