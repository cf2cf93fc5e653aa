package firewall

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strings"
)

// planFirewalld opens a through firewalld. What identifies remedy's
// opening is a service named after the comment (inbound; ports and rich
// rules have no comment of their own) or a policy from the host to any
// zone (outbound), carrying the comment as its description: removal and
// audits find them by name. firewalld creates services and policies only
// in its permanent configuration, and its runtime learns of them at a
// reload, which flushes what other tools keep in the runtime alone
// (Docker's and libvirt's rules, fail2ban's ipsets) and is slow.
//
// Where busctl can call firewalld's D-Bus API (sys.Bus), each change is
// one D-Bus call, not a firewall-cmd start (a Python interpreter, 2-4 s
// each on a small VM), and an inbound opening needs no reload: the
// service joins the zone in the permanent configuration, and the runtime
// zone gets the same ports directly (a rich rule when only some sources
// may use them), which firewalld allows at runtime; the next reload (or
// boot) replaces them with the service, to the same effect. An outbound
// policy still needs one reload, the only way its runtime gets one.
// Without busctl every change is a firewall-cmd --permanent, then one
// reload.
func planFirewalld(sys System, a Allow) (Plan, error) {
	if sys.Zone == "" && a.Dir == "in" {
		return Plan{}, fmt.Errorf("firewalld: no zone to open %s/%s in", a.Proto, a.Ports)
	}
	if sys.Bus {
		return Plan{Commands: busFirewalld(sys, a)}, nil
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
	return Plan{Commands: append(cmds, fwReload(sys))}, nil
}

// busFirewalld is planFirewalld over D-Bus.
func busFirewalld(sys System, a Allow) [][]string {
	ports := a.Ports.String()
	if a.Dir == "out" {
		allow := []string{"ports", "a(ss)", "1", ports, a.Proto}
		if a.Dst.IsValid() {
			allow = []string{"rich_rules", "as", "1", richDest(a)}
		}
		return [][]string{addPolicy(policyName(a.Comment), a.Comment, allow...), fwReload(sys)}
	}
	name := slug(a.Comment)
	add := fwConfig("addService2", "sa{sv}", name, "2", "description", "s", a.Comment, "ports", "a(ss)", "1", ports, a.Proto)
	join := fwConf("Zone", sys.Zone, "addService", "s", name)
	live := fwRuntime("zone", "addPort", "sssi", sys.Zone, ports, a.Proto, "0")
	if a.Src.IsValid() {
		join = fwConf("Zone", sys.Zone, "addRichRule", "s", richSource(a.Src, fmt.Sprintf(`service name="%s"`, name)))
		live = fwRuntime("zone", "addRichRule", "ssi", sys.Zone,
			richSource(a.Src, fmt.Sprintf(`port port="%s" protocol="%s"`, ports, a.Proto)), "0")
	}
	return [][]string{add, join, live}
}

// The names of firewalld's D-Bus API: the runtime is the main object,
// the permanent configuration the config object and one object per
// zone, service, policy and ipset under it.
const (
	fwBusName = "org.fedoraproject.FirewallD1"
	fwBusPath = "/org/fedoraproject/FirewallD1"
)

// fwBus calls a method of firewalld's D-Bus API with busctl, whose
// arguments are the signature and then each value (an array's length
// first). "--" ends busctl's options, as a negative priority would start one.
func fwBus(path, iface, method, sig string, args ...string) []string {
	argv := []string{"busctl", "call", "--", fwBusName, path, iface, method}
	if sig != "" {
		argv = append(argv, sig)
	}
	return append(argv, args...)
}

// fwRuntime calls a method of the runtime's interface iface ("zone",
// "ipset", "" for the main one).
func fwRuntime(iface, method, sig string, args ...string) []string {
	if iface != "" {
		iface = "." + iface
	}
	return fwBus(fwBusPath, fwBusName+iface, method, sig, args...)
}

// fwConfig calls a method of the permanent configuration's config object.
func fwConfig(method, sig string, args ...string) []string {
	return fwBus(fwBusPath+"/config", fwBusName+".config", method, sig, args...)
}

// fwConfScript calls a method on the permanent configuration's object of
// a zone, service, policy or ipset: D-Bus names it by a path, which the
// config object's get<Kind>ByName answers as `o "PATH"`.
const fwConfScript = `p=$(busctl call -- ` + fwBusName + ` ` + fwBusPath + `/config ` + fwBusName + `.config "get$1ByName" s "$2") || exit
p=${p#o \"}; p=${p%\"}; shift 2; exec busctl call -- ` + fwBusName + ` "$p" "$@"`

// fwConf calls method on the permanent object of kind ("Zone",
// "Service", "Policy", "IPSet") named name.
func fwConf(kind, name, method, sig string, args ...string) []string {
	argv := []string{"sh", "-c", fwConfScript, "sh", kind, name, fwBusName + ".config." + strings.ToLower(kind), method}
	if sig != "" {
		argv = append(argv, sig)
	}
	return append(argv, args...)
}

// addPolicy creates a policy from the host to any zone, before the
// administrator's (policyPriority), allowing what allow says (a settings
// key, its signature and value).
func addPolicy(name, comment string, allow ...string) []string {
	return fwConfig("addPolicy", "sa{sv}", append([]string{name, "5", "description", "s", comment,
		"priority", "i", policyPriority, "ingress_zones", "as", "1", "HOST", "egress_zones", "as", "1", "ANY"}, allow...)...)
}

// fwReload makes firewalld's runtime its permanent configuration.
func fwReload(sys System) []string {
	if sys.Bus {
		return fwRuntime("", "reload", "")
	}
	return []string{"firewall-cmd", "--reload"}
}

// isReload reports whether argv is fwReload's.
func isReload(argv []string) bool {
	return slices.Equal(argv, fwReload(System{Bus: true})) || slices.Equal(argv, fwReload(System{}))
}

// oneReload moves the reloads among cmds to a single one at their end:
// what several plans make permanent reaches the runtime at once.
func oneReload(cmds [][]string) [][]string {
	var out [][]string
	var reload []string
	for _, c := range cmds {
		if isReload(c) {
			reload = c
			continue
		}
		out = append(out, c)
	}
	if reload != nil {
		out = append(out, reload)
	}
	return out
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
	return "--add-rich-rule=" + richSource(a.Src, fmt.Sprintf(`service name="%s"`, service))
}

// richSource is a rich rule accepting what from the sources src.
func richSource(src netip.Prefix, what string) string {
	return fmt.Sprintf(`rule family="%s" source address="%s" %s accept`, richFamily(src.Addr().Is6()), src.Masked(), what)
}

func policyAllow(a Allow, port string) string {
	if !a.Dst.IsValid() {
		return "--add-port=" + port
	}
	return "--add-rich-rule=" + richDest(a)
}

// richDest is a rich rule accepting a's port to its destinations.
func richDest(a Allow) string {
	return fmt.Sprintf(`rule family="%s" destination address="%s" port port="%s" protocol="%s" accept`,
		richFamily(a.Dst.Addr().Is6()), a.Dst.Masked(), a.Ports, a.Proto)
}

func richFamily(v6 bool) string {
	if v6 {
		return "ipv6"
	}
	return "ipv4"
}

// removeFirewalld undoes planFirewalld for every service and policy whose
// name comes from a comment starting with prefix: in the permanent
// configuration, and, over D-Bus, in the runtime as busFirewalld put it
// there (or a reload since); a policy's runtime, and the runtime of a
// host without busctl, lose it at one reload.
func removeFirewalld(sys System, inst Installed, prefix string) [][]string {
	name := slug(prefix)
	var cmds [][]string
	reload := false
	for _, s := range inst.FirewalldServices {
		if !RemovesService(prefix, s) {
			continue
		}
		var rich []string
		for _, r := range inst.FirewalldRichRules {
			if strings.Contains(r, fmt.Sprintf(`service name="%s"`, s)) {
				rich = append(rich, r)
			}
		}
		if !sys.Bus {
			for _, r := range rich {
				cmds = append(cmds, fwcmd("--zone="+sys.Zone, "--remove-rich-rule="+r))
			}
			cmds = append(cmds, fwcmd("--zone="+sys.Zone, "--remove-service="+s), fwcmd("--delete-service="+s))
			reload = true
			continue
		}
		for _, r := range rich {
			cmds = append(cmds, fwConf("Zone", sys.Zone, "removeRichRule", "s", r))
		}
		// Removing a service takes it out of the zones' service lists.
		cmds = append(cmds, fwConf("Service", s, "remove", ""))
		if inst.Runtime == nil {
			reload = true
			continue
		}
		cmds = append(cmds, runtimeRemovals(sys.Zone, *inst.Runtime, s, inst.FirewalldServicePorts[s], rich)...)
	}
	short := policyName(prefix)
	for _, p := range inst.FirewalldPolicies {
		if p == short || strings.HasPrefix(p, "rmd-"+strings.TrimPrefix(name, "remedy-")) {
			if sys.Bus {
				cmds = append(cmds, fwConf("Policy", p, "remove", ""))
			} else {
				cmds = append(cmds, fwcmd("--delete-policy="+p))
			}
			reload = true
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	if reload {
		cmds = append(cmds, fwReload(sys))
	}
	return cmds
}

// RemovesService reports whether removing the rules commented prefix
// removes the firewalld service named service.
func RemovesService(prefix, service string) bool {
	return strings.HasPrefix(service, slug(prefix))
}

// runtimeRemovals take service out of the runtime zone rt: the service,
// where a reload put it there, and the ports or rich rules busFirewalld
// added beside it, where they still are. ports are the service's
// ("8443/tcp"), rich the permanent zone's rich rules naming it.
func runtimeRemovals(zone string, rt Zone, service string, ports, rich []string) [][]string {
	var cmds [][]string
	if slices.Contains(rt.Services, service) {
		cmds = append(cmds, fwRuntime("zone", "removeService", "ss", zone, service))
	}
	for _, pp := range ports {
		port, proto, ok := strings.Cut(pp, "/")
		if !ok {
			continue
		}
		if len(rich) == 0 && slices.Contains(rt.Ports, pp) {
			cmds = append(cmds, fwRuntime("zone", "removePort", "sss", zone, port, proto))
		}
		for _, r := range rich {
			live := strings.Replace(r, fmt.Sprintf(`service name="%s"`, service), fmt.Sprintf(`port port="%s" protocol="%s"`, port, proto), 1)
			if slices.Contains(rt.RichRules, live) {
				cmds = append(cmds, fwRuntime("zone", "removeRichRule", "ss", zone, live))
			}
		}
	}
	return cmds
}
