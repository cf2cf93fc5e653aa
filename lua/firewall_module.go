package lua

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua/change"
	"remedy/lua/firewall"
	"remedy/lua/remote"
	"remedy/lua/revert"
	"remedy/lua/shell"
	"remedy/lua/valid"
)

func init() {
	flow := `{dir: "in"|"out", proto: "tcp"|"udp", port?: integer, range?: string, src?: string, dst?: string, comment?: string, persist?: boolean}`
	Register(Module{
		Name: "firewall",
		Warm: append([][]string{readArgv}, bootWarm()...),
		Doc: `Reads the host firewall (nftables, iptables legacy or nft, firewalld, ufw),
says whether a packet would pass and which rule decides, and opens flows
with the narrowest change through the tool that governs (Facts.Firewall).
Every rule it adds carries a comment starting "remedy:". A change on the
input path is made under a timed revert armed on the host, disarmed only
after a fresh SSH connection succeeds.`,
		Funcs: []Func{
			{Name: "rules", Returns: []Param{{"rs", "remedy.FirewallRules", ""}},
				Doc: "Returns the backend that governs, why, and every base and regular chain with its rules.", Call: fwRules},
			{Name: "verdict", Params: []Param{{"probe", `{dir: "in"|"out", proto: string, port: integer, src?: string, dst?: string}`, "a new connection's first packet"}},
				Returns: []Param{{"v", "remedy.FirewallVerdict", ""}},
				Doc:     "Evaluates the probe as the kernel would: every base chain of the hooks it crosses, in priority order. \"unknown\" when a rule the model cannot read could decide.",
				Call:    fwVerdict},
			{Name: "allow", Params: []Param{{"flow", flow, "port or range (\"33001-33010\"); src limits an inbound flow, dst an outbound one; persist = true enables the unit that loads the rules at boot when it is disabled"}},
				Returns: []Param{{"res", "remedy.FirewallChange", ""}},
				Doc:     "Makes the flow pass now and after a reboot: nothing when it already does, else an accept rule before each rule or policy that stops it, and the same rule in the file boot loads (only remedy's rule: the live ruleset is never dumped there). Refuses before changing anything when a reboot would not keep the change (no unit loads the rules, or it is disabled). Fails when the flow still does not pass afterwards.",
				Call:    fwAllow},
			{Name: "remove", Params: []Param{{"opts", "{comment: string, persist?: boolean}", `removes every rule whose comment starts with this ("remedy: ..." )`}},
				Returns: []Param{{"res", "remedy.FirewallChange", ""}},
				Doc:     "Removes the rules remedy added under a comment, live and from the file boot loads.", Call: fwRemove},
			{Name: "allow_domain", Params: []Param{{"opts", `{domain: string, proto?: "tcp"|"udp", port?: integer, dir?: "out", refresh?: integer}`, "proto tcp and port 443 by default; refresh in seconds, default the record's TTL (60-3600) or 300"}},
				Returns: []Param{{"res", "remedy.FirewallChange", ""}},
				Doc:     "Lets the host reach a domain whose addresses change: sets of its addresses a rule accepts, DNS let out if blocked, and a job re-resolving it. Checks that it resolves, the set holds it and a connection succeeds.",
				Call:    fwAllowDomain},
			{Name: "domain_reads", Params: []Param{{"domain", "string", ""}},
				Returns: []Param{{"reads", "string[][]", "commands"}},
				Doc:     "The reads allow_domain takes for a domain (its addresses, its TTL), without running them: list them in a playbook's prefetch.",
				Call:    fwDomainReads},
		},
		Types: fwTypes,
	})
}

var fwTypes = []Class{
	{Name: "remedy.FirewallVerdict", Doc: "The fate of a probe packet.", Fields: []Param{
		{"verdict", `"accept"|"drop"|"reject"|"unknown"`, ""},
		{"chain", "string", `the deciding chain, "inet filter input"`},
		{"rule", "string", `the deciding rule; "" when the chain's policy decides`},
		{"reason", "string", "why, including what an unknown verdict depends on"},
		{"explain", "string", "when not accepted, firewalld: the zone and what it lets in; ufw: its defaults and rules for the port"}}},
	{Name: "remedy.FirewallChange", Doc: "What a firewall change did, or would do in check mode.", Fields: []Param{
		{"changed", "boolean", ""},
		{"commands", "string[]", "the commands run, or that would run"},
		{"before", "string", "the verdict that made the change necessary"}}},
	{Name: "remedy.FirewallRules", Doc: "The host's packet filter.", Fields: []Param{
		{"backend", "string", "Facts.Firewall"},
		{"why", "string", "Facts.FirewallWhy"},
		{"chains", "{table: string, name: string, hook: string, priority: integer, policy: string, rules: string[]}[]", ""}}},
}

// revertAfter is how long a change that could cut the session (a
// firewall rule on the input path, sshd leaving its old ports) may stay
// without the controller reconnecting before the host reverts it.
const revertAfter = 120 * time.Second

// randomToken names a timed revert on the host.
func randomToken() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// fwHost is one firewall call's view of the host.
type fwHost struct {
	e       *Env
	sys     firewall.System
	pending []string          // tokens of timed reverts armed on the host and not yet fired
	sec     map[string][]byte // the last read, by section (see readScript)
}

// newFwHost starts a firewall call. The firewalld zone is learnt with the
// ruleset, in the same round trip: every function reads the ruleset first.
func newFwHost(e *Env) *fwHost {
	f := e.Facts()
	return &fwHost{e: e, sys: firewall.System{Backend: f.Firewall, OSFamily: f.OSFamily, Init: f.Init}}
}

// query runs a read-only command and fails the task on a non-zero exit.
func (h *fwHost) query(args ...string) []byte {
	out, err := h.e.Query(args...)
	return h.must(args, out, err)
}

// queryCached is query for reads that calls in a row repeat.
func (h *fwHost) queryCached(args ...string) []byte {
	out, err := h.e.QueryCached(args...)
	return h.must(args, out, err)
}

func (h *fwHost) must(args []string, out remote.Output, err error) []byte {
	if err == nil && out.ExitCode != 0 {
		err = fmt.Errorf("%s: %s: exit status %d: %s", h.e.Name(), shell.Join(args...), out.ExitCode, remote.Excerpt(out.Stderr))
	}
	if err != nil {
		h.e.Fail(err)
	}
	return out.Stdout
}

// readScript prints, in one round trip and each after a marker line: the
// iptables variant commands the host has and what plain iptables is; the
// firewalld default zone and its settings, asked over D-Bus because
// firewall-cmd starts a Python interpreter, a second per call on a busy
// host; the timed reverts pending; nft's JSON ruleset; iptables-save and
// ip6tables-save of each variant (plain where the host has no variants);
// the ipsets; ufw's defaults and rules from its files, and whether the
// kernel forwards, for the same reason (ufw is Python too). Tools with
// nothing to show are not started (see skipEmpty). It reads the same
// whatever the host's facts, so it can be prefetched with them;
// iptablesVariant and readSections pick from it.
const readScript = `PATH="$PATH:/usr/sbin:/sbin"
has() { command -v "$1" >/dev/null 2>&1; }
save() { has "$2" && { echo "==$1"; "$2"; }; }
` + skipEmpty + `
echo ==cmd; for v in nft legacy; do has "iptables-$v" && echo "iptables-$v"; done
echo ==default; has iptables && iptables -V
fwd() { dbus-send --system "$1" --dest=org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 "org.fedoraproject.FirewallD1.$2" ${3:+"string:$3"} 2>/dev/null; }
z=; bus && z=$(echo $(fwd --print-reply=literal getDefaultZone)); echo ==zone; echo "$z"
echo ==zoneinfo; [ -n "$z" ] && fwd --print-reply zone.getZoneSettings2 "$z"
echo ==pending; for d in /run/remedy-revert-*; do [ -f "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null && echo "${d#/run/remedy-revert-}"; done
echo ==nft; t=; has nft && t=$(nft -j list ruleset) && printf '%s\n' "$t"
nftip ip && save v4-nft iptables-nft-save; nftip ip6 && save v6-nft ip6tables-nft-save
legacy ip && save v4-legacy iptables-legacy-save; legacy ip6 && save v6-legacy ip6tables-legacy-save
has iptables-nft-save || has iptables-legacy-save || { save v4 iptables-save; save v6 ip6tables-save; }
echo ==ipset; has ipset && ipset save
ufwon || exit 0
echo ==ufwdefaults; cat /etc/default/ufw
for v in "" 6; do echo "==ufwrules$v"; for d in /etc/ufw /lib/ufw; do [ -f "$d/user$v.rules" ] && { grep '^### tuple' "$d/user$v.rules"; break; }; done; done
echo ==forwarding; cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/default/forwarding /proc/sys/net/ipv6/conf/all/forwarding 2>/dev/null
exit 0`

// readArgv reads the firewall: see readScript.
var readArgv = []string{"sh", "-c", readScript}

// ruleset reads every table the kernel holds. nft -j shows iptables-nft's
// matches only as opaque xt expressions, so iptables-save's exact tables
// are merged over it; legacy tables are not in nft at all.
func (h *fwHost) ruleset() *firewall.Ruleset {
	r := h.read()
	v := iptablesVariant(h.sys.Backend, r.sec)
	h.sys.Iptables = v.cmd
	h.pending = strings.Fields(string(r.sec["pending"]))
	if h.sys.Backend == firewall.Firewalld {
		h.sys.Zone = h.zone(r.sec)
	}
	h.sec = r.sec
	return r.rs
}

// fwRead is the firewall read and the model made of it.
type fwRead struct {
	sec map[string][]byte
	rs  *firewall.Ruleset
}

// read returns the firewall read, modelled once for as long as the read
// stands: a range of verdicts would otherwise parse nft's JSON for each
// port, a fifth of a controller's CPU in an audit.
func (h *fwHost) read() fwRead {
	line := shell.Join(readArgv...)
	if r, ok := h.e.parsed[line].(fwRead); ok {
		return r
	}
	sec := sections(h.queryCached(readArgv...))
	rs, err := readSections(sec, iptablesVariant(h.sys.Backend, sec))
	if err != nil {
		h.e.Fail(fmt.Errorf("%s: read firewall: %w", h.e.Name(), err))
	}
	if h.e.parsed == nil {
		h.e.parsed = map[string]any{}
	}
	r := fwRead{sec: sec, rs: rs}
	h.e.parsed[line] = r
	return r
}

// zone is firewalld's default zone: from D-Bus, else (no dbus-send on
// the host) from firewall-cmd.
func (h *fwHost) zone(sec map[string][]byte) string {
	if z := strings.TrimSpace(string(sec["zone"])); z != "" {
		return z
	}
	return strings.TrimSpace(string(h.queryCached("firewall-cmd", "--get-default-zone")))
}

// rulesetForChange is ruleset for a function that may change the host. It
// refuses while a timed revert armed by an earlier run is pending: that
// revert will take back the rules this run would build on. (A re-run that
// finds the new SSH port already open would move sshd onto it alone, and
// the revert would then close it: a lockout.) In check mode it only says so.
func (h *fwHost) rulesetForChange() *firewall.Ruleset {
	rs := h.ruleset()
	if len(h.pending) == 0 {
		return rs
	}
	d := revert.DirPrefix + h.pending[0]
	msg := fmt.Sprintf("a timed revert armed by an earlier run is pending (%s): it will restore what it saved before that run's change within %s", d, revertAfter)
	if h.e.checking() {
		h.e.say(msg)
		return rs
	}
	h.e.Fail(fmt.Errorf("firewall: %s; run again after it fires, or disarm it if that run's change is known to be safe: kill $(cat %s/pid); rm -rf %s", msg, d, d))
	return nil
}

// variant is the iptables variant whose tables a host's firewall holds.
type variant struct {
	v4, v6 string // the sections holding its iptables-save and ip6tables-save
	cmd    string // its own iptables command; "" for the plain one
}

// iptablesVariant picks the iptables-save to read and the command to
// change with: legacy for a legacy host, the host's default for ufw (it
// uses whichever the alternatives name), else the nft variant, whose
// tables may sit beside native nftables. Changes go to the variant read,
// not to whichever plain iptables names. A host without variants (before
// iptables 1.8) has only the plain commands.
func iptablesVariant(backend string, sec map[string][]byte) variant {
	want := "nft"
	switch {
	case backend == firewall.IptablesLegacy:
		want = "legacy"
	case backend == firewall.Ufw && bytes.Contains(sec["default"], []byte("(legacy)")):
		want = "legacy"
	}
	cmd := "iptables-" + want
	if !slices.Contains(strings.Fields(string(sec["cmd"])), cmd) {
		return variant{v4: "v4", v6: "v6"}
	}
	return variant{v4: "v4-" + want, v6: "v6-" + want, cmd: cmd}
}

func readSections(sec map[string][]byte, v variant) (*firewall.Ruleset, error) {
	rs := &firewall.Ruleset{}
	if len(bytes.TrimSpace(sec["nft"])) > 0 {
		nft, err := firewall.ReadNft(sec["nft"])
		if err != nil {
			return nil, err
		}
		rs = nft
	}
	for fam, key := range map[string]string{"ip": v.v4, "ip6": v.v6} {
		saved, err := firewall.ReadIptablesSave(sec[key], fam)
		if err != nil {
			return nil, err
		}
		rs = firewall.Merge(rs, saved)
	}
	return rs, firewall.ReadIpsetSave(rs, sec["ipset"])
}

// sections splits readScript's output at its "==name" marker lines.
func sections(out []byte) map[string][]byte {
	sec := map[string][]byte{}
	var cur string
	for _, line := range bytes.SplitAfter(out, []byte("\n")) {
		if name, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("==")); ok && len(line) < 16 {
			cur = string(name)
			continue
		}
		sec[cur] = append(sec[cur], line...)
	}
	return sec
}

func fwRules(e *Env, L *glua.LState) int {
	h := newFwHost(e)
	rs := h.ruleset()
	chains := L.NewTable()
	for _, t := range rs.Tables {
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

func fwVerdict(e *Env, L *glua.LState) int {
	o := TableArg(L, 1, "firewall.verdict", false, "dir", "proto", "port", "src", "dst")
	p := firewall.Packet{Dir: o.Str("dir", true), Proto: o.Str("proto", true), Port: int(o.Number("port", 0))}
	p.Src, p.Dst = addrOpt(o, "src"), addrOpt(o, "dst")
	if (p.Dir != "in" && p.Dir != "out") || p.Port < 1 || p.Port > 65535 {
		ArgError(L, "firewall.verdict", "want dir \"in\" or \"out\" and a port 1-65535")
	}
	h := newFwHost(e)
	r := firewall.Verdict(h.ruleset(), p)
	t := L.NewTable()
	t.RawSetString("verdict", glua.LString(r.Verdict))
	t.RawSetString("chain", glua.LString(r.Chain))
	t.RawSetString("rule", glua.LString(r.Rule))
	t.RawSetString("reason", glua.LString(r.Reason))
	t.RawSetString("explain", glua.LString(h.explain(p, r)))
	L.Push(t)
	return 1
}

// explain says, for firewalld and ufw, which of their own rules and
// defaults stop a packet. Accepted packets need no explaining, which
// spares the compliant host a Python start of firewall-cmd or ufw; the
// listing is read once for every blocked verdict until a command runs.
func (h *fwHost) explain(p firewall.Packet, r firewall.Result) string {
	if r.Verdict == firewall.VerdictAccept {
		return ""
	}
	switch h.sys.Backend {
	case firewall.Firewalld:
		z, err := firewall.ReadFirewalldZoneSettings(h.sys.Zone, h.sec["zoneinfo"])
		if err != nil {
			// An older firewalld without getZoneSettings2.
			z, err = firewall.ReadFirewalldZone(h.queryCached("firewall-cmd", "--list-all", "--zone="+h.sys.Zone))
		}
		if err != nil {
			h.e.Fail(fmt.Errorf("%s: %w", h.e.Name(), err))
		}
		return firewall.ExplainFirewalld(r, z)
	case firewall.Ufw:
		return firewall.ExplainUfw(p, h.ufwStatus())
	}
	return ""
}

// ufwStatus is what `ufw status verbose` says, built from ufw's files;
// from ufw itself where they are not where ufw 0.36 keeps them.
func (h *fwHost) ufwStatus() firewall.UfwStatus {
	st, err := firewall.StatusFromFiles(firewall.UfwFiles{
		Defaults: h.sec["ufwdefaults"], Rules4: h.sec["ufwrules"], Rules6: h.sec["ufwrules6"],
		Forwarding: bytes.Contains(h.sec["forwarding"], []byte("1")),
	})
	if err != nil {
		return firewall.ReadUfwStatus(h.queryCached("ufw", "status", "verbose"))
	}
	return st
}

func addrOpt(o Opts, key string) netip.Addr {
	s := o.Str(key, false)
	if s == "" {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		o.Fail("%s: %q is not an IP address", key, s)
	}
	return a
}

func prefixOpt(o Opts, key string) netip.Prefix {
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
	o := TableArg(L, 1, "firewall.allow", false, "dir", "proto", "port", "range", "src", "dst", "comment", "persist")
	a := firewall.Allow{Dir: o.Str("dir", true), Proto: o.Str("proto", true), Comment: o.Str("comment", false),
		Src: prefixOpt(o, "src"), Dst: prefixOpt(o, "dst")}
	port, rng := o.Str("port", false), o.Str("range", false)
	if (port == "") == (rng == "") {
		ArgError(L, "firewall.allow", "give port or range, not both or neither")
	}
	lo, hi, _ := strings.Cut(port+rng, "-")
	if hi == "" {
		hi = lo
	}
	l, err1 := strconv.ParseUint(lo, 10, 16)
	u, err2 := strconv.ParseUint(hi, 10, 16)
	if err1 != nil || err2 != nil {
		ArgError(L, "firewall.allow", "port %q: want 1-65535, or a range \"33001-33010\"", port+rng)
	}
	a.Ports = firewall.PortRange{Lo: uint16(l), Hi: uint16(u)}
	return a, o.Bool("persist", false)
}

// fwAllow makes the flow pass now and after a reboot: the live rules
// change under a timed revert, then remedy's rule goes into what boot
// loads. What boot loads is checked first, so a change a reboot would
// undo is refused before anything changes.
func fwAllow(e *Env, L *glua.LState) int {
	a, persist := allowArg(L)
	h := newFwHost(e)
	rs := h.rulesetForChange()
	plan, err := firewall.PlanAllow(rs, h.sys, a)
	if err != nil {
		e.Fail(fmt.Errorf("%s: %w", e.Name(), err))
	}
	edit := func(f firewall.BootFile, text string, rs *firewall.Ruleset) (string, error) {
		return firewall.PlanBootAllow(f, text, rs, a)
	}
	boot := h.planBoot(fmt.Sprintf("allow %s %s/%s", a.Dir, a.Proto, a.Ports), persist, edit)
	if !plan.Already {
		h.change(plan.Commands, a.Dir == "in", func() bool {
			rs := h.ruleset()
			again, err := firewall.PlanAllow(rs, h.sys, a)
			return err == nil && again.Already
		})
	}
	h.applyBoot(boot, edit)
	return pushChange(L, plan.Commands, !boot.empty(), before(plan.Before))
}

func before(rs []firewall.Result) string {
	if len(rs) == 0 {
		return ""
	}
	return rs[0].Verdict + ": " + rs[0].Reason
}

func fwRemove(e *Env, L *glua.LState) int {
	o := TableArg(L, 1, "firewall.remove", false, "comment", "persist")
	prefix := o.Str("comment", true)
	h := newFwHost(e)
	rs := h.rulesetForChange()
	plan, err := firewall.PlanRemove(rs, h.sys, h.installed(), prefix)
	if err != nil {
		e.Fail(fmt.Errorf("%s: %w", e.Name(), err))
	}
	edit := func(f firewall.BootFile, text string, rs *firewall.Ruleset) (string, error) {
		return firewall.PlanBootRemove(f, text, rs, prefix)
	}
	boot := h.planBoot("remove the rules commented "+strconv.Quote(prefix), o.Bool("persist", false), edit)
	if !plan.Already {
		h.change(plan.Commands, true, func() bool { return true })
	}
	h.applyBoot(boot, edit)
	return pushChange(L, plan.Commands, !boot.empty(), "")
}

// installed reads where ufw and firewalld keep remedy's comments.
func (h *fwHost) installed() firewall.Installed {
	var in firewall.Installed
	switch h.sys.Backend {
	case firewall.Ufw:
		in.UfwNumbered = string(h.query("ufw", "status", "numbered"))
	case firewall.Firewalld:
		in.FirewalldServices = strings.Fields(string(h.query("firewall-cmd", "--permanent", "--get-services")))
		in.FirewalldPolicies = strings.Fields(string(h.query("firewall-cmd", "--permanent", "--get-policies")))
		rich := h.query("firewall-cmd", "--permanent", "--zone="+h.sys.Zone, "--list-rich-rules")
		in.FirewalldRichRules = strings.Split(strings.TrimSpace(string(rich)), "\n")
	}
	return in
}

// change runs commands, then checks passes() on the re-read host. On the
// input path a revert is armed first and disarmed only once a fresh SSH
// connection succeeds; what boot loads is written after that (applyBoot),
// so a reboot cannot bring back a change that cut the controller off.
func (h *fwHost) change(cmds [][]string, inputPath bool, passes func() bool) {
	if h.e.checking() {
		for _, c := range cmds {
			h.e.record(true, "", shell.Join(c...))
		}
		return
	}
	var revert revert.Revert
	if inputPath {
		revert = h.armRevert()
	}
	for _, c := range cmds {
		if _, err := h.e.applyArgv(c...); err != nil {
			h.e.Fail(fmt.Errorf("%w; %s", err, h.revertNote(inputPath)))
		}
	}
	if !passes() {
		h.e.Fail(fmt.Errorf("%s: firewall: the change did not take effect; %s", h.e.Name(), h.revertNote(inputPath)))
	}
	if inputPath {
		if err := h.e.Probe(h.e.Context(), h.e.Port()); err != nil {
			h.e.Fail(fmt.Errorf("%s: firewall: no new SSH connection after the change: %w; %s", h.e.Name(), err, h.revertNote(true)))
		}
		h.apply(revert.Disarm)
	}
}

func (h *fwHost) revertNote(armed bool) string {
	if armed {
		return fmt.Sprintf("the revert armed on the host restores the previous rules within %s", revertAfter)
	}
	return "what ran is live but not persisted"
}

func (h *fwHost) armRevert() revert.Revert {
	r, err := firewall.PlanRevert(h.sys, "fw-"+randomToken(), revertAfter)
	if err != nil {
		h.e.Fail(fmt.Errorf("%s: %w", h.e.Name(), err))
	}
	h.apply(r.Arm)
	return r
}

func (h *fwHost) apply(cmds [][]string) {
	for _, c := range cmds {
		if _, err := h.e.applyArgv(c...); err != nil {
			h.e.Fail(err)
		}
	}
}

// persist writes each file from its dump, validated by the tool that
// will load it at boot.
func (h *fwHost) persist(ps []firewall.Persist) {
	for _, p := range ps {
		content := p.Header + string(h.query(p.Dump...))
		h.apply([][]string{{"mkdir", "-p", path.Dir(p.Path)}})
		w := change.File{Path: p.Path, Content: []byte(content), Backup: true, Validate: persistValidator(p)}
		if _, err := h.e.Apply(w); err != nil {
			h.e.Fail(err)
		}
	}
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

// pushChange returns what a change did: the live commands, and whether
// anything changed, boot's files included.
func pushChange(L *glua.LState, cmds [][]string, bootChanged bool, before string) int {
	t := L.NewTable()
	list := L.NewTable()
	for _, c := range cmds {
		list.Append(glua.LString(shell.Join(c...)))
	}
	t.RawSetString("changed", glua.LBool(len(cmds) > 0 || bootChanged))
	t.RawSetString("commands", list)
	t.RawSetString("before", glua.LString(before))
	L.Push(t)
	return 1
}

func fwAllowDomain(e *Env, L *glua.LState) int {
	o := TableArg(L, 1, "firewall.allow_domain", false, "domain", "proto", "port", "dir", "refresh")
	if dir := o.Str("dir", false); dir != "" && dir != "out" {
		ArgError(L, "firewall.allow_domain", "dir %q: only \"out\" is supported", dir)
	}
	d := firewall.Domain{Name: o.Shaped("domain", true, valid.Domain), Proto: o.Str("proto", false), Port: uint16(o.Port("port", 443)), Init: e.Facts().Init}
	if d.Proto == "" {
		d.Proto = "tcp"
	}
	h := newFwHost(e)
	d.Addrs = h.resolve(d.Name)
	// The TTL only shapes the refresh job: asked for only when one is
	// needed and the playbook did not set the interval.
	d.Refresh = time.Duration(o.Number("refresh", 300)) * time.Second
	rs := h.rulesetForChange()
	plan := h.planDomain(rs, d)
	if plan.Already {
		return pushChange(L, nil, false, "")
	}
	if o.Number("refresh", 0) == 0 {
		d.Refresh = time.Duration(h.refresh(d.Name)) * time.Second
		plan = h.planDomain(rs, d)
	}
	h.changeDomain(plan)
	if !e.checking() {
		h.checkDomain(d)
	}
	return pushChange(L, plan.Commands, false, "")
}

func (h *fwHost) planDomain(rs *firewall.Ruleset, d firewall.Domain) firewall.DomainPlan {
	plan, err := firewall.PlanAllowDomain(rs, h.sys, d)
	if err != nil {
		h.e.Fail(fmt.Errorf("%s: %w", h.e.Name(), err))
	}
	return plan
}

// changeDomain applies the rules, writes the job's files and starts the
// job when anything was new; in check mode it only reports them.
func (h *fwHost) changeDomain(plan firewall.DomainPlan) {
	h.apply(plan.Commands)
	changed := len(plan.Commands) > 0
	for _, f := range plan.Files {
		fc, err := h.e.Apply(change.File{Path: f.Path, Content: []byte(f.Content), Mode: fmt.Sprintf("%04o", f.Mode)})
		if err != nil {
			h.e.Fail(err)
		}
		changed = changed || fc.Changed
	}
	if changed {
		h.apply(plan.Start)
	}
	if !h.e.checking() {
		h.persist(plan.Persist)
	}
}

// checkDomain is allow_domain's own check: the name resolves now, the
// firewall passes its addresses (the sets hold them), and a connection
// from the host succeeds.
func (h *fwHost) checkDomain(d firewall.Domain) {
	name := h.e.Name()
	addrs := h.resolve(d.Name)
	if len(addrs) == 0 {
		h.e.Fail(fmt.Errorf("%s: allow_domain: %s does not resolve on the host", name, d.Name))
	}
	rs := h.ruleset()
	for _, a := range addrs {
		p := firewall.Packet{Dir: "out", Proto: d.Proto, Port: int(d.Port), Dst: a}
		if r := firewall.Verdict(rs, p); r.Verdict != firewall.VerdictAccept {
			h.e.Fail(fmt.Errorf("%s: allow_domain: %s (%s) does not pass: %s", name, d.Name, a, r.Reason))
		}
	}
	if d.Proto != "tcp" {
		return
	}
	out, err := h.e.Query("timeout", "5", "bash", "-c", `exec 3<>"/dev/tcp/$0/$1"`, d.Name, strconv.Itoa(int(d.Port)))
	if err != nil || out.ExitCode != 0 {
		h.e.Fail(fmt.Errorf("%s: allow_domain: cannot connect to %s port %d from the host: %v %s", name, d.Name, d.Port, err, remote.Excerpt(out.Stderr)))
	}
}

// resolve returns the name's addresses as the host's applications see
// them, for the check after a change.
func (h *fwHost) resolve(name string) []netip.Addr {
	// As net.resolve asks, so that the two share one read.
	out, err := h.e.QueryCached(resolveArgv(name)...)
	if err != nil {
		h.e.Fail(err)
	}
	return ahostsAddrs(out.Stdout)
}

// ahostsAddrs returns the addresses in getent ahosts output.
func ahostsAddrs(out []byte) []netip.Addr {
	var addrs []netip.Addr
	for _, s := range parseAhosts(string(out)) {
		if a, err := netip.ParseAddr(s); err == nil && !a.Is4In6() {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// ttlScript prints the smallest TTL of the name's A and AAAA records when
// dig is there to ask.
const ttlScript = `command -v dig >/dev/null 2>&1 || exit 0
dig +noall +answer "$1" A "$1" AAAA | awk '$4 == "A" || $4 == "AAAA" {print $2}' | sort -n | head -n 1`

func resolveArgv(name string) []string { return []string{"getent", "ahosts", "--", name} }

func ttlArgv(name string) []string { return []string{"sh", "-c", ttlScript, "sh", name} }

func fwDomainReads(e *Env, L *glua.LState) int {
	name := ShapedArg(L, 1, "firewall.domain_reads", valid.Domain)
	reads := L.NewTable()
	for _, argv := range [][]string{resolveArgv(name), ttlArgv(name)} {
		t := L.NewTable()
		for _, a := range argv {
			t.Append(glua.LString(a))
		}
		reads.Append(t)
	}
	L.Push(reads)
	return 1
}

// refresh returns how often to re-resolve name: its TTL kept between a
// minute and an hour; five minutes when it cannot be read (no dig, or a
// name from the hosts file).
func (h *fwHost) refresh(name string) int {
	out, err := h.e.QueryCached(ttlArgv(name)...)
	if err != nil {
		h.e.Fail(err)
	}
	return parseTTL(out.Stdout)
}

func parseTTL(out []byte) int {
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || n <= 0 {
		return 300
	}
	return min(max(n, 60), 3600)
}

// applyArgv runs a command through the gate.
func (e *Env) applyArgv(args ...string) (remote.Output, error) {
	r, err := e.Apply(change.Command{Argv: args})
	return r.Output, err
}
