package tests

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"remedy/lua/firewall"
	"remedy/tests/lab/labkit"
)

// diffProbes are the ports the differential test sends to; the rulesets
// below and the generated ones talk about them.
var diffProbes = []struct {
	proto string
	port  int
}{
	{"tcp", 22}, {"tcp", 2222}, {"tcp", 3306}, {"tcp", 7001}, {"tcp", 7003}, {"tcp", 8080}, {"tcp", 8081},
	{"tcp", 8443}, {"tcp", 9000}, {"tcp", 33001},
	{"udp", 161}, {"udp", 162}, {"udp", 5000}, {"udp", 7000}, {"udp", 9999}, {"udp", 33001},
	{"udp", 33005}, {"udp", 33009}, {"udp", 33010}, {"udp", 33011}, {"udp", 55001},
}

// diffTally counts how the engine's verdicts compare with real packets.
type diffTally struct {
	mu                                   sync.Mutex
	agree, disagree, unknown, notDecided int
}

func (d *diffTally) add(t *testing.T, what string, predicted firewall.Result, observed string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case strings.HasPrefix(observed, noVerdict):
		d.notDecided++
		t.Errorf("%s: the lab, not the firewall: %s", what, observed)
	case predicted.Verdict == firewall.VerdictUnknown:
		d.unknown++
	case predicted.Verdict == observed:
		d.agree++
	default:
		d.disagree++
		t.Errorf("%s: engine says %s (%s), the packet was %s", what, predicted.Verdict, predicted.Reason, observed)
	}
}

// TestFirewallOnLab runs the firewall work against real hosts: the
// differential test of the verdict engine, then the module's changes.
func TestFirewallOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 8, Profiles: []string{"nftables", "iptables-legacy", "iptables-nft",
		"firewalld", "ufw", "none+egress", "firewalld+egress", "ufw+egress"}})
	t.Run("differential", func(t *testing.T) { differential(t, lab) })
	t.Run("module", func(t *testing.T) { moduleOnLab(t, lab) })
}

func differential(t *testing.T, lab *labkit.Lab) {
	src := controllerAddr(t, lab.Hosts[0].Addr)
	tally := &diffTally{}
	for _, h := range lab.Hosts {
		// Linux sends at most 6 ICMP errors in a burst to one peer: lift
		// the limit, or a reject looks like a drop.
		labSh(t, lab, h.Name, "sysctl -qw net.ipv4.icmp_ratelimit=0")
	}
	for _, h := range lab.Hosts[:5] {
		compareHost(t, lab, h, src, h.Profile+" profile", tally)
	}
	nft, legacy := lab.Hosts[5], lab.Hosts[1]
	defer func() {
		labSh(t, lab, nft.Name, "nft -f /etc/nftables.conf")
		labSh(t, lab, legacy.Name, "iptables-legacy -t raw -F && iptables-legacy-restore < /etc/iptables/rules.v4")
	}()
	loadRules(t, lab, legacy, "iptables-legacy-restore", "../lua/firewall/testdata/iptables/generated.rules")
	compareHost(t, lab, legacy, src, "iptables generated", tally)
	loadRules(t, lab, nft, "nft -f -", "../lua/firewall/testdata/nftables/generated.nft")
	compareHost(t, lab, nft, src, "nftables generated", tally)
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 24 {
		ruleset := randomRuleset(r, src)
		labSh(t, lab, nft.Name, "nft -f - <<'EOF'\n"+ruleset+"EOF\n")
		compareHost(t, lab, nft, src, fmt.Sprintf("random ruleset %d:\n%s", i, ruleset), tally)
	}
	for i := range 12 {
		rules := randomIptables(r, src)
		labSh(t, lab, legacy.Name, "iptables-legacy-restore <<'EOF'\n"+rules+"EOF\n")
		compareHost(t, lab, legacy, src, fmt.Sprintf("random iptables rules %d:\n%s", i, rules), tally)
	}
	total := tally.agree + tally.disagree + tally.unknown + tally.notDecided
	t.Logf("differential: %d probes; %d decided and agree, %d disagree, %d unknown (%.1f%%), %d met no verdict",
		total, tally.agree, tally.disagree, tally.unknown, 100*float64(tally.unknown)/float64(total), tally.notDecided)
}

// compareHost reads h's ruleset, then sends every probe from the
// controller to a listener on h and compares.
func compareHost(t *testing.T, lab *labkit.Lab, h labkit.Host, src netip.Addr, what string, tally *diffTally) {
	rs := readLabRuleset(t, lab, h)
	var stops []func()
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	for _, p := range diffProbes {
		if p.proto == "tcp" && p.port == 22 {
			continue // sshd listens there
		}
		stop, err := lab.Listen(h.Name, p.proto, p.port)
		if err != nil {
			t.Fatalf("%s: listen %s/%d: %v", h.Name, p.proto, p.port, err)
		}
		stops = append(stops, stop)
	}
	var wg sync.WaitGroup
	for _, p := range diffProbes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pkt := firewall.Packet{Dir: "in", Proto: p.proto, Port: p.port, Src: src,
				Dst: netip.MustParseAddr(h.Addr), Iif: "eth0"}
			predicted := firewall.Verdict(rs, pkt)
			observed := probeHost(lab, h, p.proto, p.port, 700*time.Millisecond)
			if observed != predicted.Verdict && predicted.Verdict != firewall.VerdictUnknown && !strings.HasPrefix(observed, noVerdict) {
				// A loaded machine can hold an answer past the short
				// timeout: look again, slowly, before calling it a
				// disagreement. The verdict itself is deterministic.
				observed = probeHost(lab, h, p.proto, p.port, 4*time.Second)
			}
			tally.add(t, fmt.Sprintf("%s, %s/%d", what, p.proto, p.port), predicted, observed)
		}()
	}
	wg.Wait()
}

// noVerdict starts what observe says of a probe whose outcome no
// firewall decided; the rest names the cause.
const noVerdict = "no verdict: "

// observe maps what a real packet met to a verdict: an answer is an
// accept; silence, or the sender's own output hook refusing it (EPERM), a
// drop; a reset, or an ICMP error from the probed end or from the
// sender's own output rules, a reject. What else failed a probe decided no
// packet's fate (the prober's own socket or route, a neighbour that never
// answered, an ICMP error from elsewhere, an echo that was not the probe):
// that is noVerdict and the cause. A reset or a port unreachable is also
// what a port nobody listens on gets: see listenerUp.
func observe(err error) string {
	var icmp *labkit.ICMPError
	var local *labkit.LocalError
	switch {
	case err == nil:
		return firewall.VerdictAccept
	case errors.As(err, &local):
		return noVerdict + err.Error()
	case errors.As(err, &icmp):
		if icmp.From == icmp.To.Addr() || icmp.FromProber() && !icmp.Unreachable() {
			return firewall.VerdictReject
		}
		return noVerdict + err.Error()
	case errors.Is(err, labkit.ErrReset):
		return firewall.VerdictReject
	case errors.Is(err, syscall.EPERM), errors.Is(err, os.ErrDeadlineExceeded):
		return firewall.VerdictDrop
	}
	return noVerdict + err.Error()
}

// probeHost reaches a listener on h from the controller and says what the
// packet met (observe).
func probeHost(lab *labkit.Lab, h labkit.Host, proto string, port int, timeout time.Duration) string {
	err := lab.Reach(h.Addr, proto, port, timeout)
	return listenerUp(lab, h, proto, port, err, observe(err))
}

// listenerUp keeps a reject only if a socket on h still holds the port:
// a reset or a port unreachable from a port nobody listens on says
// nothing of the firewall.
func listenerUp(lab *labkit.Lab, h labkit.Host, proto string, port int, err error, observed string) string {
	var icmp *labkit.ICMPError
	if !errors.Is(err, labkit.ErrReset) && !(errors.As(err, &icmp) && icmp.PortUnreachable()) {
		return observed
	}
	up, lerr := lab.Listening(h.Name, proto, port)
	switch {
	case lerr != nil:
		return noVerdict + lerr.Error()
	case !up:
		return fmt.Sprintf("%sno listener on %s %s/%d: %v", noVerdict, h.Name, proto, port, err)
	}
	return observed
}

// readLabRuleset reads a host's rules as the firewall module does: its
// read, modelled with ReadKernel.
func readLabRuleset(t *testing.T, lab *labkit.Lab, h labkit.Host) *firewall.Ruleset {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := lab.Exec(ctx, h.Name, firewall.ReadArgv...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", h.Name, err, out)
	}
	read, err := firewall.Read(out, func(argv []string) ([]byte, error) { return lab.Exec(ctx, h.Name, argv...) })
	if err != nil {
		t.Fatalf("%s: %v", h.Name, err)
	}
	return read.Rules
}

func loadRules(t *testing.T, lab *labkit.Lab, h labkit.Host, loader, file string) {
	t.Helper()
	b, err := exec.Command("cat", file).Output()
	if err != nil {
		t.Fatal(err)
	}
	labSh(t, lab, h.Name, loader+" <<'EOF'\n"+string(b)+"EOF\n")
}

func labSh(t *testing.T, lab *labkit.Lab, host, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := lab.Exec(ctx, host, "sh", "-c", script)
	if err != nil {
		t.Fatalf("%s: %v\n%s", host, err, out)
	}
	return string(out)
}

// controllerAddr is the address the machine sends from to reach addr.
func controllerAddr(t *testing.T, addr string) netip.Addr {
	t.Helper()
	out, err := exec.Command("ip", "route", "get", addr).Output()
	if err != nil {
		t.Fatalf("ip route get %s: %v", addr, err)
	}
	f := strings.Fields(string(out))
	for i := range f[:len(f)-1] {
		if f[i] == "src" {
			return netip.MustParseAddr(f[i+1])
		}
	}
	t.Fatalf("ip route get %s: no src in %q", addr, out)
	return netip.Addr{}
}

// randomRuleset writes an nftables ruleset over the probe ports: ranges,
// anonymous and named sets, jumps and gotos into user chains with return,
// a second base chain on input at another priority, ct state, reject and
// drop, and now and then a match the model cannot read (a mark).
func randomRuleset(r *rand.Rand, src netip.Addr) string {
	g := &gen{r: r, src: src}
	var b strings.Builder
	b.WriteString("flush ruleset\ntable inet gen {\n")
	fmt.Fprintf(&b, "\tset ports { type inet_service; flags interval; elements = { %s } }\n", g.portList())
	fmt.Fprintf(&b, "\tset peers { type ipv4_addr; flags interval; elements = { %s } }\n", g.peer())
	for _, c := range []string{"u1", "u2"} {
		fmt.Fprintf(&b, "\tchain %s {\n%s\t}\n", c, g.rules(2+r.IntN(3), true))
	}
	fmt.Fprintf(&b, "\tchain input {\n\t\ttype filter hook input priority 0; policy %s;\n\t\tct state established,related accept\n%s\t}\n}\n",
		g.pick("accept", "drop"), g.rules(3+r.IntN(5), false))
	if r.IntN(2) == 0 {
		g.foreign = true // another table: no sets or chains of gen to name
		fmt.Fprintf(&b, "table ip gen2 {\n\tchain early {\n\t\ttype filter hook input priority %s; policy accept;\n%s\t}\n}\n",
			g.pick(-10, 10), g.rules(1+r.IntN(3), false))
	}
	return b.String()
}

type gen struct {
	r       *rand.Rand
	src     netip.Addr
	foreign bool
}

func (g *gen) pick(vs ...any) string { return fmt.Sprint(vs[g.r.IntN(len(vs))]) }

func (g *gen) port() int { return diffProbes[g.r.IntN(len(diffProbes))].port }

func (g *gen) portList() string {
	lo := g.port()
	return fmt.Sprintf("%d-%d", lo, lo+g.r.IntN(12))
}

func (g *gen) portRange() string {
	a, b := g.port(), g.port()
	return fmt.Sprintf("%d-%d", min(a, b), max(a, b)+1)
}

// peer is a prefix that holds the controller or one that does not.
func (g *gen) peer() string {
	if g.r.IntN(2) == 0 {
		return netip.PrefixFrom(g.src, 24).Masked().String()
	}
	return "203.0.113.0/24"
}

func (g *gen) rules(n int, user bool) string {
	var b strings.Builder
	for range n {
		fmt.Fprintf(&b, "\t\t%s %s\n", g.matches(), g.action(user))
	}
	return b.String()
}

func (g *gen) matches() string {
	proto := g.pick("tcp", "udp")
	ports := []any{fmt.Sprint(g.port()), g.portRange(), fmt.Sprintf("{ %d, %d }", g.port(), g.port())}
	if !g.foreign {
		ports = append(ports, "@ports")
	}
	m := []string{proto + " dport " + g.pick(ports...)}
	switch g.r.IntN(8) {
	case 0:
		if !g.foreign {
			m = append(m, "ip saddr @peers")
		}
	case 1:
		m = append(m, "ip saddr "+g.peer())
	case 2:
		m = append(m, "ct state "+g.pick("new", "established"))
	case 3:
		m = append(m, "iifname "+g.pick(`"eth0"`, `"lo"`))
	case 4:
		m = append(m, "meta mark 0x2a")
	}
	return strings.Join(m, " ")
}

func (g *gen) action(user bool) string {
	actions := []any{"accept", "drop", "reject", "counter"}
	switch {
	case user:
		actions = append(actions, "return")
	case !g.foreign:
		actions = append(actions, "jump u1", "goto u2")
	}
	return g.pick(actions...)
}

// randomIptables writes iptables-restore input over the probe ports:
// multiport lists and ranges, user chains entered by jump and goto with
// RETURN, negated sources, iprange, conntrack states, a raw-table DROP,
// REJECT and DROP, and now and then a mark match the model cannot read.
func randomIptables(r *rand.Rand, src netip.Addr) string {
	g := &gen{r: r, src: src}
	var b strings.Builder
	if r.IntN(2) == 0 {
		fmt.Fprintf(&b, "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p udp -m udp --dport %d -j DROP\nCOMMIT\n", g.port())
	}
	fmt.Fprintf(&b, "*filter\n:INPUT %s [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:U1 - [0:0]\n:U2 - [0:0]\n", g.pick("ACCEPT", "DROP"))
	b.WriteString("-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n")
	for _, chain := range []string{"INPUT", "U1", "U2"} {
		for range 2 + r.IntN(4) {
			fmt.Fprintf(&b, "-A %s %s %s\n", chain, g.ipMatches(), g.ipTarget(chain != "INPUT"))
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

func (g *gen) ipMatches() string {
	proto := g.pick("tcp", "udp")
	m := []string{"-p " + proto + " -m " + proto + " --dport " + strings.Replace(g.portRange(), "-", ":", 1)}
	if g.r.IntN(3) == 0 {
		m = []string{fmt.Sprintf("-p %s -m multiport --dports %d,%s", proto, g.port(), strings.Replace(g.portRange(), "-", ":", 1))}
	}
	switch g.r.IntN(8) {
	case 0:
		m = append(m, "-s "+g.peer())
	case 1:
		m = append(m, "! -s "+g.peer())
	case 2:
		m = append(m, "-m conntrack --ctstate "+g.pick("NEW", "ESTABLISHED"))
	case 3:
		m = append(m, "-i "+g.pick("eth0", "lo", "eth+"))
	case 4:
		m = append(m, "-m mark --mark 0x2a")
	case 5:
		a := g.src.As4()
		m = append(m, fmt.Sprintf("-m iprange --src-range %d.%d.%d.1-%d.%d.%d.%d", a[0], a[1], a[2], a[0], a[1], a[2], 1+g.r.IntN(254)))
	}
	return strings.Join(m, " ")
}

func (g *gen) ipTarget(user bool) string {
	targets := []any{"-j ACCEPT", "-j DROP", "-j REJECT"}
	if user {
		targets = append(targets, "-j RETURN")
	} else {
		targets = append(targets, "-j U1", "-g U2")
	}
	return g.pick(targets...)
}
