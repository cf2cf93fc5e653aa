package firewall

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua"
	"remedy/lua/firewall"
	"remedy/lua/shell"
	"remedy/lua/valid"
)

func init() {
	flow := `{dir: "in"|"out", proto: "tcp"|"udp", port?: integer, range?: string, src?: string, dst?: string, comment?: string, persist?: boolean}`
	lua.Register(lua.Module{
		Name: "firewall",
		Warm: append([][]string{firewall.ReadArgv}, bootWarm()...),
		Doc: `Reads the host firewall (nftables, iptables legacy or nft, firewalld, ufw),
says whether a packet would pass and which rule decides, and opens flows
with the narrowest change through the tool that governs (Facts.Firewall).
Every rule it adds carries a comment starting "remedy:". A change on the
input path is made under a timed revert armed on the host, disarmed only
after a fresh SSH connection succeeds.`,
		Funcs: []lua.Func{
			{Name: "rules", Returns: []lua.Param{{Name: "rs", Type: "remedy.FirewallRules"}},
				Doc: "Returns the backend that governs, why, and every base and regular chain with its rules.", Call: fwRules},
			{Name: "verdict", Params: []lua.Param{{Name: "probe", Type: `{dir: "in"|"out", proto: string, port: integer, src?: string, dst?: string, iface?: string, sport?: integer}`,
				Doc: "a new connection's first packet: src defaults, in, to the controller's address as the host sees it (\"any\": from anywhere, the rules that test it followed both ways); dst, out, to anywhere; iface (arriving in, leaving out) to the one the host's route to the peer uses; the host's address to that interface's; sport to an ephemeral port"}},
				Returns: []lua.Param{{Name: "v", Type: "remedy.FirewallVerdict"}},
				Doc:     "Evaluates the probe as the kernel would: every base chain of the hooks it crosses, in priority order, with the rest of the first packet worked out from the host's own routes and addresses (a first SYN, a plain IP header, pkttype host), each assumption named in the reason. \"unknown\" when a rule the model cannot read could decide.",
				Call:    fwVerdict},
			{Name: "route_read", Params: []lua.Param{{Name: "addr", Type: "string", Doc: "a peer's IP address"}},
				Returns: []lua.Param{{Name: "argv", Type: "string[]", Doc: "the command"}},
				Doc:     "The read firewall.verdict takes for the host's route to a peer other than the controller, without running it: list it in a playbook's prefetch.",
				Call:    fwRouteRead},
			{Name: "allow", Params: []lua.Param{{Name: "flow", Type: flow, Doc: "port or range (\"33001-33010\"); src limits an inbound flow, dst an outbound one; persist = true enables the unit that loads the rules at boot when it is disabled"}},
				Returns: []lua.Param{{Name: "res", Type: "remedy.FirewallChange"}},
				Doc:     "Makes the flow pass now and after a reboot: nothing when it already does, else an accept rule before each rule or policy that stops it, and the same rule in the file boot loads (only remedy's rule: the live ruleset is never dumped there). Refuses before changing anything when a reboot would not keep the change (no unit loads the rules, or it is disabled). Fails when the flow still does not pass afterwards.",
				Call:    fwAllow},
			{Name: "remove", Params: []lua.Param{{Name: "opts", Type: "{comment: string, persist?: boolean}", Doc: `removes every rule whose comment is this or goes on after it with a space: whole words ("remedy: aspera" takes "remedy: aspera FASP", not "remedy: asperax"); what allow_domain made under such a comment goes too`}},
				Returns: []lua.Param{{Name: "res", Type: "remedy.FirewallChange"}},
				Doc:     "Removes the rules remedy added under a comment, live and from the file boot loads. A comment matching an allow_domain's (\"remedy: DOMAIN\") undoes it whole: its refresh job (timer, service, script, cron entry or loop) stopped and deleted, its rules and DNS rules, its sets, ipsets and firewalld policy.", Call: fwRemove},
			{Name: "allow_domain", Params: []lua.Param{{Name: "opts", Type: `{domain: string, proto?: "tcp"|"udp", port?: integer, dir?: "out", refresh?: integer}`, Doc: "proto tcp and port 443 by default; refresh in seconds, default the record's TTL (60-3600) or 300"}},
				Returns: []lua.Param{{Name: "res", Type: "remedy.FirewallChange"}},
				Doc:     "Lets the host reach a domain whose addresses change: sets of its addresses a rule accepts, DNS let out if blocked, and a job re-resolving it. The sets and rules go into the file boot loads too (only remedy's: the live ruleset is never dumped there; at boot the sets start empty until the job fills them); it refuses before changing anything when a reboot would not keep them. After a change, checks that it resolves, the set holds it and a connection succeeds.",
				Call:    fwAllowDomain},
			{Name: "domain_reads", Params: []lua.Param{{Name: "domain", Type: "string"}},
				Returns: []lua.Param{{Name: "reads", Type: "string[][]", Doc: "commands"}},
				Doc:     "The reads allow_domain takes for a domain (its addresses, its TTL, the files its refresh job may write), without running them: list them in a playbook's prefetch.",
				Call:    fwDomainReads},
		},
		Types: fwTypes,
	})
}

var fwTypes = []lua.Class{
	{Name: "remedy.FirewallVerdict", Doc: "The fate of a probe packet.", Fields: []lua.Param{
		{Name: "verdict", Type: `"accept"|"drop"|"reject"|"forward"|"unknown"`, Doc: "forward: destination NAT sends it to another host"},
		{Name: "chain", Type: "string", Doc: `the deciding chain, "inet filter input"`},
		{Name: "rule", Type: "string", Doc: `the deciding rule; "" when the chain's policy decides`},
		{Name: "reason", Type: "string", Doc: "why, including each assumption the verdict rests on and what an unknown verdict depends on"},
		{Name: "src", Type: "string", Doc: `the probe's source address; "" when unknown`},
		{Name: "dst", Type: "string", Doc: `the probe's destination address; "" when unknown (out, to anywhere)`},
		{Name: "iface", Type: "string", Doc: `the interface it arrives on (in) or leaves by (out); "" when unknown`},
		{Name: "explain", Type: "string", Doc: "when not accepted, firewalld: the zone and what it lets in; ufw: its defaults and rules for the port"}}},
	{Name: "remedy.FirewallChange", Doc: "What a firewall change did, or would do in check mode.", Fields: []lua.Param{
		{Name: "changed", Type: "boolean"},
		{Name: "commands", Type: "string[]", Doc: "the commands run, or that would run"},
		{Name: "before", Type: "string", Doc: "the verdict that made the change necessary"}}},
	{Name: "remedy.FirewallRules", Doc: "The host's packet filter.", Fields: []lua.Param{
		{Name: "backend", Type: "string", Doc: "Facts.Firewall"},
		{Name: "why", Type: "string", Doc: "Facts.FirewallWhy"},
		{Name: "chains", Type: "{table: string, name: string, hook: string, priority: integer, policy: string, rules: string[]}[]"}}},
}

func fwRules(e *lua.Env, L *glua.LState) int {
	st, err := Read(e)
	if err != nil {
		e.Fail(err)
	}
	chains := L.NewTable()
	for _, t := range st.Rules.Tables {
		for _, c := range t.Chains {
			ct := L.NewTable()
			ct.RawSetString("table", glua.LString(t.Family+" "+t.Name))
			ct.RawSetString("name", glua.LString(c.Name))
			ct.RawSetString("hook", glua.LString(c.Hook))
			ct.RawSetString("priority", glua.LNumber(c.Priority))
			ct.RawSetString("policy", glua.LString(c.Policy))
			rules := L.NewTable()
			for _, r := range c.Rules {
				rules.Append(glua.LString(r.Text))
			}
			ct.RawSetString("rules", rules)
			chains.Append(ct)
		}
	}
	t := L.NewTable()
	t.RawSetString("backend", glua.LString(e.Facts().Firewall))
	t.RawSetString("why", glua.LString(e.Facts().FirewallWhy))
	t.RawSetString("chains", chains)
	L.Push(t)
	return 1
}

func fwVerdict(e *lua.Env, L *glua.LState) int {
	o := lua.TableArg(L, 1, "firewall.verdict", false, "dir", "proto", "port", "src", "dst", "iface", "sport")
	p := firewall.Probe{Dir: o.Str("dir", true), Proto: o.Str("proto", true), Port: o.Port("port", 0),
		Iface: o.Shaped("iface", false, valid.Iface)}
	if p.Dir != "in" && p.Dir != "out" {
		lua.ArgError(L, "firewall.verdict", "dir %.20q: want \"in\" or \"out\"", p.Dir)
	}
	if o.Get("sport") != glua.LNil {
		p.SPort = o.Port("sport", 0)
	}
	// The peer is the remote end: the source of a probe in, the
	// destination of a probe out; the host's own end is the other.
	var src netip.Addr
	if o.Str("src", false) == "any" && p.Dir == "in" {
		p.AnyPeer = true
	} else {
		src = addrOpt(o, "src")
	}
	dst := addrOpt(o, "dst")
	p.Peer, p.Addr = src, dst
	if p.Dir == "out" {
		p.Peer, p.Addr = dst, src
	}
	st, err := Read(e)
	if err != nil {
		e.Fail(err)
	}
	pkt, r, err := st.Probe(e, p)
	if err != nil {
		e.Fail(err)
	}
	explain, err := st.Explain(e, pkt, r)
	if err != nil {
		e.Fail(err)
	}
	iface := pkt.Iif
	if p.Dir == "out" {
		iface = pkt.Oif
	}
	t := L.NewTable()
	t.RawSetString("verdict", glua.LString(r.Verdict))
	t.RawSetString("chain", glua.LString(r.Chain))
	t.RawSetString("rule", glua.LString(r.Rule))
	t.RawSetString("reason", glua.LString(r.Reason))
	t.RawSetString("explain", glua.LString(explain))
	t.RawSetString("src", glua.LString(addrText(pkt.Src)))
	t.RawSetString("dst", glua.LString(addrText(pkt.Dst)))
	t.RawSetString("iface", glua.LString(iface))
	L.Push(t)
	return 1
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func fwRouteRead(e *lua.Env, L *glua.LState) int {
	s := lua.ShapedArg(L, 1, "firewall.route_read", valid.Addr)
	L.Push(lua.ToLua(L, firewall.RouteArgv(netip.MustParseAddr(s))))
	return 1
}

func addrOpt(o lua.Opts, key string) netip.Addr {
	s := o.Shaped(key, false, valid.Addr)
	if s == "" {
		return netip.Addr{}
	}
	return netip.MustParseAddr(s)
}

func prefixOpt(o lua.Opts, key string) netip.Prefix {
	s := o.Str(key, false)
	if s == "" {
		return netip.Prefix{}
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen())
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		o.Fail("%s: %q is not an address or CIDR", key, s)
	}
	return p
}

func allowArg(L *glua.LState) (firewall.Allow, bool) {
	o := lua.TableArg(L, 1, "firewall.allow", false, "dir", "proto", "port", "range", "src", "dst", "comment", "persist")
	a := firewall.Allow{Dir: o.Str("dir", true), Proto: o.Str("proto", true), Comment: o.Str("comment", false),
		Src: prefixOpt(o, "src"), Dst: prefixOpt(o, "dst")}
	port, rng := o.Str("port", false), o.Str("range", false)
	if (port == "") == (rng == "") {
		lua.ArgError(L, "firewall.allow", "give port or range, not both or neither")
	}
	lo, hi, _ := strings.Cut(port+rng, "-")
	if hi == "" {
		hi = lo
	}
	l, err1 := strconv.ParseUint(lo, 10, 16)
	u, err2 := strconv.ParseUint(hi, 10, 16)
	if err1 != nil || err2 != nil {
		lua.ArgError(L, "firewall.allow", "port %q: want 1-65535, or a range \"33001-33010\"", port+rng)
	}
	a.Ports = firewall.PortRange{Lo: uint16(l), Hi: uint16(u)}
	return a, o.Bool("persist", false)
}

func fwAllow(e *lua.Env, L *glua.LState) int {
	a, persist := allowArg(L)
	c, err := Allow(e, a, persist)
	if err != nil {
		e.Fail(err)
	}
	return pushChange(L, c)
}

func fwRemove(e *lua.Env, L *glua.LState) int {
	o := lua.TableArg(L, 1, "firewall.remove", false, "comment", "persist")
	c, err := Remove(e, o.Str("comment", true), o.Bool("persist", false))
	if err != nil {
		e.Fail(err)
	}
	return pushChange(L, c)
}

func fwAllowDomain(e *lua.Env, L *glua.LState) int {
	o := lua.TableArg(L, 1, "firewall.allow_domain", false, "domain", "proto", "port", "dir", "refresh")
	if dir := o.Str("dir", false); dir != "" && dir != "out" {
		lua.ArgError(L, "firewall.allow_domain", "dir %q: only \"out\" is supported", dir)
	}
	d := firewall.Domain{Name: o.Shaped("domain", true, valid.Domain), Proto: o.Str("proto", false), Port: uint16(o.Port("port", 443)),
		Init: e.Facts().Init, Refresh: time.Duration(o.Number("refresh", 0)) * time.Second}
	if d.Proto == "" {
		d.Proto = "tcp"
	}
	c, err := AllowDomain(e, d)
	if err != nil {
		e.Fail(err)
	}
	return pushChange(L, c)
}

func fwDomainReads(e *lua.Env, L *glua.LState) int {
	name := lua.ShapedArg(L, 1, "firewall.domain_reads", valid.Domain)
	reads := L.NewTable()
	for _, argv := range DomainReads(name) {
		reads.Append(lua.ToLua(L, argv))
	}
	L.Push(reads)
	return 1
}

// pushChange returns what a change did: the live commands, and whether
// anything changed, boot's files included.
func pushChange(L *glua.LState, c Changed) int {
	t := L.NewTable()
	list := L.NewTable()
	for _, argv := range c.Commands {
		list.Append(glua.LString(shell.Join(argv...)))
	}
	t.RawSetString("changed", glua.LBool(c.Any()))
	t.RawSetString("commands", list)
	t.RawSetString("before", glua.LString(c.Before))
	L.Push(t)
	return 1
}
