package firewall

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strings"

	"remedy/lua/shell"
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
// each on a small VM), and an opening needs no reload: the service joins
// the zone, or the policy is made, in the permanent configuration, and
// the runtime gets a rich rule to the same effect directly (liveRule), in
// the zone or, outbound, in remedy's live policy (busOutbound); the next
// reload (or boot) replaces it with the service or policy. Only the
// outbound opening that makes the live policy reloads, once per host.
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
	switch {
	case a.Dir == "out" && sys.Out.Made:
		// The comment's policy is there, as for a second address of the
		// same server: making it again fails with NAME_CONFLICT.
		cmds = [][]string{fwcmd("--policy="+name, policyAllow(a, port))}
	case a.Dir == "in":
		cmds = [][]string{
			fwcmd("--new-service=" + name),
			fwcmd("--service="+name, "--set-description="+a.Comment),
			fwcmd("--service="+name, "--add-port="+port),
			fwcmd("--zone="+sys.Zone, zoneJoin(name, a)),
		}
	default:
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
	if a.Dir == "out" {
		return busOutbound(sys, a)
	}
	name := slug(a.Comment)
	add := fwConfig("addService2", "sa{sv}", name, "2", "description", "s", a.Comment, "ports", "a(ss)", "1", a.Ports.String(), a.Proto)
	join := fwConf("Zone", sys.Zone, "addService", "s", name)
	if a.Src.IsValid() {
		join = fwConf("Zone", sys.Zone, "addRichRule", "s", richSource(a.Src, fmt.Sprintf(`service name="%s"`, name)))
	}
	live := fwRuntime("zone", "addRichRule", "ssi", sys.Zone, liveRule(a), "0")
	return [][]string{add, join, live}
}

// liveRule is the rich rule that stands for a's opening in the runtime
// until the next reload brings in its service or policy. A rich rule,
// not a port, even where a port would do: an administrator's port is
// then never taken for remedy's, and removal leaves it be.
func liveRule(a Allow) string {
	port := portMatch(a.Ports.String(), a.Proto)
	switch {
	case a.Src.IsValid():
		return richSource(a.Src, port)
	case a.Dst.IsValid():
		return richDest(a)
	}
	return "rule " + port + " accept"
}

// busOutbound opens a outbound over D-Bus: its policy in the permanent
// configuration, as boot and every reload load it, and its rich rule in
// remedy's live policy in the runtime. firewalld makes policies only in
// the permanent configuration, which the runtime loads at a reload; the
// live policy is the one remedy's openings share, so that only the first
// outbound opening on a host (the one that makes the live policy) costs
// a reload, and the runtime of every later one changes at once. The
// comment's policy exists already when the same comment opens another
// destination: it gets the new one beside its own.
func busOutbound(sys System, a Allow) [][]string {
	name := policyName(a.Comment)
	key, sig, entry := "ports", "a(ss)", []string{a.Ports.String(), a.Proto}
	if a.Dst.IsValid() {
		key, sig, entry = "rich_rules", "as", []string{richDest(a)}
	}
	var cmds [][]string
	if sys.Out.Own != nil {
		all := appendNew(sys.Out.Own[key], entry)
		n := len(all) / len(entry)
		cmds = append(cmds, fwConf("Policy", name, "update", "a{sv}", append([]string{"1", key, sig, fmt.Sprint(n)}, all...)...))
	} else {
		cmds = append(cmds, addPolicy(name, a.Comment, append([]string{key, sig, "1"}, entry...)...))
	}
	if sys.Out.Live == nil {
		return append(cmds, ensureLive(), fwReload(sys))
	}
	rules := appendNew(sys.Out.Live.RichRules, []string{liveRule(a)})
	return append(cmds, fwRuntime("policy", "setPolicySettings", "sa{sv}",
		append([]string{livePolicy, "1", "rich_rules", "as", fmt.Sprint(len(rules))}, rules...)...))
}

// appendNew appends entry (one element's words) to list unless list has
// it already.
func appendNew(list, entry []string) []string {
	for i := 0; i+len(entry) <= len(list); i += len(entry) {
		if slices.Equal(list[i:i+len(entry)], entry) {
			return list
		}
	}
	return append(slices.Clone(list), entry...)
}

// livePolicy is the name of remedy's live policy (see busOutbound): an
// empty policy from the host to any zone, before the administrator's, in
// the permanent configuration, whose runtime holds the rich rules of the
// outbound openings made since the last reload. policyName never makes
// a double hyphen.
const livePolicy = "rmd--live"

// FirewalldOut is what an outbound opening needs to know of firewalld
// (ReadFirewalldOut): over D-Bus, what its runtime holds of remedy's
// live policy, and the permanent policy of the opening's comment; nil
// for what is not there. Without busctl, only whether that policy is
// there (its file in the permanent configuration).
type FirewalldOut struct {
	Live *LivePolicy
	Own  map[string][]string // the policy's settings, as busSettings reads them
	Made bool                // the comment's policy is in the permanent configuration
}

// LivePolicy is what firewalld's runtime holds of remedy's live policy.
type LivePolicy struct {
	RichRules []string
}

// FirewalldOutArgv reads, for the outbound opening a, the runtime
// settings of remedy's live policy and the permanent ones of a's
// comment's policy, each in a part ("live", "own") that is empty where
// the policy is not or busctl is missing; and whether firewalld keeps
// that policy's file ("made"), which a host without busctl goes by.
func FirewalldOutArgv(a Allow) []string {
	return []string{"sh", "-c", shell.PartsPrelude + fwConfFunc + `part live; ` + shell.Join(fwRuntime("policy", "getPolicySettings", "s", livePolicy)...) + ` 2>/dev/null
part own; p=$(fwconf Policy "$1" 2>/dev/null) && ` + shell.Join("busctl", "call", "--", fwBusName) + ` "$p" ` + fwBusName + `.config.policy getSettings
part made; [ ! -f "/etc/firewalld/policies/$1.xml" ] || echo made
exit 0`, "sh", policyName(remedyComment(a))}
}

// ReadFirewalldOut reads FirewalldOutArgv's output.
func ReadFirewalldOut(out []byte) (FirewalldOut, error) {
	parts, err := shell.Parts(out)
	if err != nil {
		return FirewalldOut{}, err
	}
	fo := FirewalldOut{Made: strings.TrimSpace(string(parts["made"])) == "made"}
	if live := strings.TrimSpace(string(parts["live"])); live != "" {
		set, err := busSettings([]byte(live))
		if err != nil {
			return FirewalldOut{}, fmt.Errorf("%s: %w", livePolicy, err)
		}
		fo.Live = &LivePolicy{RichRules: set["rich_rules"]}
	}
	if own := strings.TrimSpace(string(parts["own"])); own != "" {
		if fo.Own, err = busSettings([]byte(own)); err != nil {
			return FirewalldOut{}, err
		}
	}
	return fo, nil
}

// ensureLive makes remedy's live policy in the permanent configuration
// unless it is there: the reload after it brings it into the runtime.
func ensureLive() []string {
	return append([]string{"sh", "-c", fwConfFunc + `fwconf Policy "$1" >/dev/null 2>&1 && exit; shift; exec "$@"`, "sh", livePolicy},
		addPolicy(livePolicy, CommentPrefix+" outbound openings until firewalld's next reload")...)
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

// fwConfFunc defines the shell function `fwconf KIND NAME`, which prints
// the D-Bus path of the permanent object of a zone, service, policy or
// ipset ("Zone", "Service", "Policy", "IPSet") by that name: D-Bus names
// such an object by a path, which the config object's get<Kind>ByName
// answers as `o "PATH"`. Every script that calls a permanent object's
// method defines it.
var fwConfFunc = `fwconf() {
	p=$(` + shell.Join("busctl", "call", "--", fwBusName, fwBusPath+"/config", fwBusName+".config") + ` "get$1ByName" s "$2") || return
	p=${p#o \"}; echo "${p%\"}"
}
`

// fwConfScript calls, with the arguments KIND NAME then busctl's
// interface, method, signature and values, a method on the permanent
// object of that kind and name.
var fwConfScript = fwConfFunc + `p=$(fwconf "$1" "$2") || exit; shift 2
exec ` + shell.Join("busctl", "call", "--", fwBusName) + ` "$p" "$@"`

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
// key, its signature and value), if anything.
func addPolicy(name, comment string, allow ...string) []string {
	n := 4
	if len(allow) > 0 {
		n++
	}
	return fwConfig("addPolicy", "sa{sv}", append([]string{name, fmt.Sprint(n), "description", "s", comment,
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

// oneReload moves the reloads among cmds to a single one at their end,
// and the making of remedy's live policy (ensureLive) to one right
// before it: what several plans make permanent reaches the runtime at
// once.
func oneReload(cmds [][]string) [][]string {
	var out [][]string
	var reload, live []string
	for _, c := range cmds {
		switch {
		case isReload(c):
			reload = c
		case slices.Equal(c, ensureLive()):
			live = c
		default:
			out = append(out, c)
		}
	}
	if live != nil {
		out = append(out, live)
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

// removeFirewalld undoes planFirewalld for every service and policy made
// for a comment the removal of prefix takes: in the permanent
// configuration, and, over D-Bus, in the runtime as busFirewalld put it
// there (or a reload since); the runtime of a policy a reload loaded,
// and the runtime of a host without busctl, lose it at one reload.
// remedy's live policy goes only with everything remedy added
// (removesPolicy).
func removeFirewalld(sys System, inst Installed, prefix string) [][]string {
	var cmds [][]string
	reload := false
	for _, s := range inst.FirewalldServices {
		if !removesService(prefix, s, inst.FirewalldComments) {
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
	for _, p := range inst.FirewalldPolicies {
		if !removesPolicy(prefix, p, inst.FirewalldComments) {
			continue
		}
		if !sys.Bus {
			cmds = append(cmds, fwcmd("--delete-policy="+p))
			reload = true
			continue
		}
		cmds = append(cmds, fwConf("Policy", p, "remove", ""))
		// firewalld has no method deleting a policy from its runtime:
		// one the runtime holds goes at a reload. One made since the
		// last reload is not there, its openings in remedy's live
		// policy instead, which liveRemovals changes.
		if !liveOnly(inst, p) {
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

// removesPolicy reports whether removing the rules commented prefix
// removes the firewalld policy named policy, by the comment it was made
// for (comments, Installed.FirewalldComments). remedy's live policy
// holds no opening of its own, but the runtime's of every outbound one:
// it goes only with everything remedy added.
func removesPolicy(prefix, policy string, comments map[string]string) bool {
	if policy == livePolicy {
		return strings.TrimSpace(prefix) == CommentPrefix
	}
	return removesNamed(prefix, policy, "rmd-", policyName(prefix), comments)
}

// removesService reports whether removing the rules commented prefix
// removes the firewalld service named service.
func removesService(prefix, service string, comments map[string]string) bool {
	return removesNamed(prefix, service, "remedy-", slug(prefix), comments)
}

// removesNamed decides for a service or policy by the comment it was
// made for; where that is unknown, by its name alone: exact is the
// name the prefix's own comment makes, and everything remedy added
// (prefix "remedy:") takes every name starting with own.
func removesNamed(prefix, name, own, exact string, comments map[string]string) bool {
	if c, ok := comments[name]; ok {
		return removalTakes(prefix, c)
	}
	return name == exact || strings.TrimSpace(prefix) == CommentPrefix && strings.HasPrefix(name, own)
}

// runtimeRemovals take service out of the runtime zone rt: the service,
// where a reload put it there, and the rich rules busFirewalld added
// beside it (liveRule), where they still are. ports are the service's
// ("8443/tcp"), rich the permanent zone's rich rules naming it. A port
// in the runtime zone is never remedy's (liveRule), even one of the
// service's: an administrator's, which stays.
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
		live := []string{"rule " + portMatch(port, proto) + " accept"}
		if len(rich) > 0 {
			live = nil
			for _, r := range rich {
				live = append(live, strings.Replace(r, fmt.Sprintf(`service name="%s"`, service), portMatch(port, proto), 1))
			}
		}
		for _, r := range live {
			if slices.Contains(rt.RichRules, r) {
				cmds = append(cmds, fwRuntime("zone", "removeRichRule", "ss", zone, r))
			}
		}
	}
	return cmds
}

// portMatch is a rich rule's port element.
func portMatch(port, proto string) string {
	return fmt.Sprintf(`port port="%s" protocol="%s"`, port, proto)
}

// liveOnly reports whether policy p's openings are in the runtime only
// through remedy's live policy: the runtime lacks it (made since the
// last reload), as the removal's read found.
func liveOnly(inst Installed, p string) bool {
	return inst.RuntimePolicies != nil && !slices.Contains(inst.RuntimePolicies, p) && inst.PolicySettings[p] != nil
}

// liveRemovals takes the openings of the policies gone that the runtime
// lacks (liveOnly) out of remedy's live policy, which holds them in
// their stead, at once: with the permanent policies gone, runtime and
// permanent configuration agree without a reload. A rule a policy that
// stays makes too stays.
func liveRemovals(inst Installed, gone []string) [][]string {
	drop, keep := map[string]bool{}, map[string]bool{}
	for p, set := range inst.PolicySettings {
		for _, r := range policyLiveRules(set) {
			if slices.Contains(gone, p) {
				drop[r] = true
			} else {
				keep[r] = true
			}
		}
	}
	var rules []string
	for _, r := range inst.LiveRules {
		if !drop[r] || keep[r] {
			rules = append(rules, r)
		}
	}
	if len(rules) == len(inst.LiveRules) {
		return nil
	}
	return [][]string{fwRuntime("policy", "setPolicySettings", "sa{sv}",
		append([]string{livePolicy, "1", "rich_rules", "as", fmt.Sprint(len(rules))}, rules...)...)}
}

// policyLiveRules are the rules busOutbound put in the live policy for
// a policy's settings (busSettings): a rich rule per port, its rich
// rules as they are (liveRule).
func policyLiveRules(set map[string][]string) []string {
	var out []string
	ports := set["ports"]
	for i := 0; i+1 < len(ports); i += 2 {
		out = append(out, "rule "+portMatch(ports[i], ports[i+1])+" accept")
	}
	return append(out, set["rich_rules"]...)
}
