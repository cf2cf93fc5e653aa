package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"remedy/lua/firewall"
	"remedy/tests/lab/labkit"
)

// explainRulesets are the rulesets of tests/realrules the end-to-end
// differential loads: tool-generated ones (ufw, firewalld, fail2ban,
// Docker's published ports, Debian's and Ubuntu's defaults), iptables
// dumps through both backends, and hand-written ones whose rules name
// interfaces and addresses. A ruleset that stops the controller's SSH
// connection cannot be read through remedy and is left out at run time.
var explainRulesets = []string{
	"nft/archlinux-default",
	"nft/nixos-nnf-zoneexpressions",
	"nft/wireless-router-chr0mag",
	"nft/fail2ban-nftables-generated",
	"nft/firewalld-generated",
	"nft/firewalld-published-ports-generated",
	"nft/seedbox-arecker",
	"ipt/tor-relay-bootstrap (iptables-nft)",
	"ipt/emailgw-docker-user (iptables-legacy)",
	"ipt/vagrantshell (iptables-nft)",
	"nft/nixos-nnf-webserver",
	"ipt/ufw-fail2ban-generated (iptables-nft)",
	"ipt/ufw-fail2ban-generated (iptables-legacy)",
	"ipt/ufw-ubuntu-default-generated (iptables-nft)",
	"ipt/ufw-ubuntu-default-generated (iptables-legacy)",
	"ipt/docker-published-ports-generated (iptables-nft)",
	"ipt/docker-published-ports-generated (iptables-legacy)",
	"ipt/docker-new-daemon (iptables-legacy)",
	"ipt/honsys-redirect (iptables-nft)",
	"ipt/oracle-cloud-default (iptables-legacy)",
	"nft/archlinux-default + ipt/docker-usernet-portmap (iptables-legacy)",
	"ipt/zerotier-starter-reject (iptables-nft)",
	"nft/cyrinux-native-ip-filter",
	"nft/dadevel-iface-wildcards",
	"ipt/ufw-tailscale-generated (iptables-nft)",
	"ipt/firewalld-iptables-backend-generated (iptables-legacy)",
	"nft/kube-proxy-nftables-generated",
	"nft/leading-edge-wireguard",
}

// secondLinkProbes arrive on the host's second interface, from the
// controller's address on that link: the route back to it leaves by
// eth1, so the probe does too.
var secondLinkProbes = []realProbe{{"in", "tcp", 22}, {"in", "tcp", 33001}, {"in", "udp", 33001}, {"in", "tcp", 80}, {"in", "tcp", 443}, {"in", "udp", 53}}

// TestFirewallExplainOnLab is the differential through remedy itself:
// each ruleset is loaded on a lab host, remedy reads it over SSH and
// judges every probe (a playbook's firewall.verdict, in check mode, and
// `remedy firewall explain -o json` for the probes on a second
// interface), and real packets say what happens. Every answered verdict
// must agree; at most 5% may be unknown. explain must change nothing on
// the host.
func TestFirewallExplainOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 3, Profiles: []string{"none"}})
	bin, home := buildRemedy(t), t.TempDir()
	peer := newRealPeer(t, controllerAddr(t, lab.Hosts[0].Addr))
	var cases []realCase
	all := realCases(t)
	for _, name := range explainRulesets {
		i := slices.IndexFunc(all, func(c realCase) bool { return c.name == name })
		if i < 0 && os.Getenv("REMEDY_REALRULES_ONLY") != "" {
			continue // not among the cases asked for
		}
		if i < 0 {
			t.Fatalf("no ruleset %s in tests/realrules", name)
		}
		cases = append(cases, all[i])
	}
	var hosts []*explainHost
	for i, h := range lab.Hosts {
		hosts = append(hosts, &explainHost{realHost: newRealHost(t, lab, h, peer), bin: bin, home: home, link: secondLink(t, lab, h, i)})
	}
	tally := &explainTally{}
	eachCase(hosts, cases, func(eh *explainHost, c realCase) { eh.run(t, c, tally) })
	tally.report(t, len(cases))
	t.Run("through sudo, the source is still the controller", func(t *testing.T) {
		explainThroughSudo(t, lab, bin, home, peer.addr)
	})
}

// explainThroughSudo logs in as the lab's ops user and becomes root with
// sudo, which drops $SSH_CONNECTION: the read finds it in the processes
// above, so the probe still comes from the controller.
func explainThroughSudo(t *testing.T, lab *labkit.Lab, bin, home string, ctl netip.Addr) {
	ops := (&luaLab{lab: lab}).opsInventory(t)
	h := lab.Hosts[0]
	var doc struct {
		Hosts []struct {
			Error string `json:"error"`
			Probe struct {
				Src   string            `json:"src"`
				Iif   string            `json:"iif"`
				Notes map[string]string `json:"notes"`
			} `json:"probe"`
		} `json:"hosts"`
	}
	code, out := runRemedyJSON(t, bin, home, time.Minute, &doc, "firewall", "explain", h.Name, "tcp/22", "-b", "-i", ops, "--known-hosts", lab.KnownHosts)
	if code != 0 || len(doc.Hosts) != 1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	p := doc.Hosts[0].Probe
	if p.Src != ctl.String() || p.Notes["src"] != firewall.ControllerNote || p.Iif != "eth0" {
		t.Errorf("through sudo: the probe comes from %q (%q) on %q, want %s (%s) on eth0\n%s", p.Src, p.Notes["src"], p.Iif, ctl, firewall.ControllerNote, out)
	}
}

// link is a host's second interface: eth1 in the host, a veth in the
// machine's namespace with the controller's address on that link.
type link struct {
	host, ctl netip.Addr
}

// secondLink gives host h (the i-th) an eth1 on a /30 of its own, at the
// top of the lab's slot, which the lab leaves unused.
func secondLink(t *testing.T, lab *labkit.Lab, h labkit.Host, i int) link {
	b := netip.MustParseAddr(h.Addr).As4()
	slot := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) &^ 1023
	at := func(off uint32) netip.Addr {
		n := slot + off
		return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	}
	l := link{ctl: at(768 + 4*uint32(i) + 1), host: at(768 + 4*uint32(i) + 2)}
	outer := fmt.Sprintf("fx%d-%d", b[2], b[3])
	netns, err := lab.Netns(h.Name)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "link", "add", outer, "type", "veth", "peer", "name", "eth1", "netns", netns).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", outer, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", outer).Run() })
	labSh(t, lab, h.Name, fmt.Sprintf("ip addr add %s/30 dev eth1 && ip link set eth1 up", l.host))
	if out, err := exec.Command("sh", "-c", fmt.Sprintf("ip addr add %s/30 dev %s && ip link set %s up", l.ctl, outer, outer)).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", outer, err, out)
	}
	return l
}

// explainHost is a lab host that remedy reads over SSH.
type explainHost struct {
	*realHost
	bin, home string
	link      link
}

// explainTally counts verdicts as remedy gave them against packets.
type explainTally struct {
	realTally
	ran, noSSH   []string
	explained    int
	secondLink   int
	readOnlyRuns int
}

func (x *explainTally) report(t *testing.T, rulesets int) {
	x.mu.Lock()
	t.Logf("through remedy: %d of %d rulesets read over SSH (not reachable over SSH from the controller: %s); %d probes on a second interface, %d judged by `remedy firewall explain`, each leaving the ruleset and /etc unchanged",
		len(x.ran), rulesets, strings.Join(x.noSSH, ", "), x.secondLink, x.explained)
	x.mu.Unlock()
	x.realTally.report(t)
	if len(x.ran) < rulesets*2/3 {
		t.Errorf("only %d of %d rulesets could be read through remedy", len(x.ran), rulesets)
	}
}

// run loads c on the host, asks remedy, and sends the packets.
func (eh *explainHost) run(t *testing.T, c realCase, tally *explainTally) {
	reads, err := eh.load(c)
	if err != nil {
		t.Errorf("%s: the kernel here cannot load it: %v", c.name, err)
		return
	}
	if eh.send(realProbe{"in", "tcp", 22}, 2*time.Second) != firewall.VerdictAccept {
		tally.mu.Lock()
		tally.noSSH = append(tally.noSSH, c.name)
		tally.mu.Unlock()
		return
	}
	texts := []string{reads["nft"], reads["nft4"] + reads["legacy4"]}
	for _, l := range c.loads {
		texts = append(texts, l.text)
	}
	probes, err := eh.listen(append(slices.Clone(asperaProbes), namedProbes(texts...)...))
	if err != nil {
		t.Errorf("%s: %v", c.name, err)
		return
	}
	second, err := eh.listen(secondLinkProbes)
	if err != nil {
		t.Errorf("%s: %v", c.name, err)
		return
	}
	verdicts, err := eh.playbookVerdicts(probes, second)
	if err != nil {
		t.Errorf("%s: %v", c.name, err)
		return
	}
	observed := make([]string, len(probes)+len(second))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Add(1)
		go func() { defer wg.Done(); observed[i] = eh.send(p, 700*time.Millisecond) }()
	}
	for i, p := range second {
		wg.Add(1)
		go func() { defer wg.Done(); observed[len(probes)+i] = eh.sendOnLink(p, 700*time.Millisecond) }()
	}
	wg.Wait()
	tally.mu.Lock()
	tally.ran = append(tally.ran, c.name)
	tally.secondLink += len(second)
	tally.mu.Unlock()
	for i, p := range append(slices.Clone(probes), second...) {
		onLink := i >= len(probes)
		key := probeKey(p, onLink)
		predicted, got := verdicts[key], observed[i]
		if !settled(predicted, got) {
			// Slowly, alone, on the ruleset loaded afresh, through
			// remedy firewall explain.
			if _, err := eh.load(c); err != nil {
				t.Errorf("%s: reload: %v", c.name, err)
				continue
			}
			if predicted, err = eh.explain(t, p, onLink); err != nil {
				t.Errorf("%s, %s: %v", c.name, key, err)
				continue
			}
			got = eh.sendVia(p, onLink, 3*time.Second)
		}
		if !tally.add(c, predicted, got) {
			t.Errorf("%s, %s: remedy says %s (%s), the packet was %s (first look: %s)", c.name, key, predicted.Verdict, predicted.Reason, got, observed[i])
		}
	}
	// remedy firewall explain on the second link, for two probes: it
	// must agree with the playbook's verdict and change nothing.
	for _, p := range []realProbe{{"in", "tcp", 22}, {"in", "udp", 33001}} {
		before := eh.snapshot(t)
		r, err := eh.explain(t, p, true)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if changed := lineDiff(before, eh.snapshot(t)); changed != "" {
			t.Errorf("%s: remedy firewall explain changed the host:\n%s", c.name, changed)
		}
		if want := verdicts[probeKey(p, true)]; r.Verdict != want.Verdict {
			t.Errorf("%s, %s: explain says %s (%s), firewall.verdict %s (%s)", c.name, probeKey(p, true), r.Verdict, r.Reason, want.Verdict, want.Reason)
		}
		tally.mu.Lock()
		tally.explained++
		tally.mu.Unlock()
	}
}

func probeKey(p realProbe, onLink bool) string {
	if onLink {
		return p.String() + " on eth1"
	}
	return p.String()
}

// playbookVerdicts asks remedy, in one check-mode run of a playbook on
// this host, for firewall.verdict on every probe: probes out to the
// controller, probes in from it (the default source), and the second
// link's probes from the controller's address there.
func (eh *explainHost) playbookVerdicts(probes, second []realProbe) (map[string]firewall.Result, error) {
	var b strings.Builder
	b.WriteString("local probes = {\n")
	for _, p := range probes {
		dst := ""
		if p.dir == "out" {
			dst = fmt.Sprintf(", dst = %q", eh.peer.addr)
		}
		fmt.Fprintf(&b, "  { key = %q, probe = { dir = %q, proto = %q, port = %d%s } },\n", probeKey(p, false), p.dir, p.proto, p.port, dst)
	}
	for _, p := range second {
		fmt.Fprintf(&b, "  { key = %q, probe = { dir = %q, proto = %q, port = %d, src = %q } },\n", probeKey(p, true), p.dir, p.proto, p.port, eh.link.ctl)
	}
	b.WriteString(`}
return { name = "verdicts", hosts = "all", tasks = {
  { name = "verdicts", run = function()
      local out = {}
      for _, p in ipairs(probes) do
        local r = firewall.verdict(p.probe)
        table.insert(out, p.key .. "\t" .. r.verdict .. "\t" .. r.iface .. "\t" .. r.reason)
      end
      return table.concat(out, "\n")
    end },
} }
`)
	pb := filepath.Join(eh.home, eh.h.Name+"-verdicts.lua")
	if err := os.WriteFile(pb, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	out, err := eh.remedy(2*time.Minute, "run", "-C", pb, "-l", eh.h.Name, "-o", "json")
	if err != nil {
		return nil, err
	}
	var doc jsonRun
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, err
	}
	msg := doc.msg(eh.h.Name, "verdicts")
	verdicts := map[string]firewall.Result{}
	for _, line := range strings.Split(msg, "\n") {
		f := strings.SplitN(line, "\t", 4)
		if len(f) != 4 {
			continue
		}
		wantIface := "eth0"
		if strings.HasSuffix(f[0], " on eth1") {
			wantIface = "eth1"
		}
		if f[2] != wantIface {
			return nil, fmt.Errorf("%s: the probe's interface is %q, want %s (%s)", f[0], f[2], wantIface, f[3])
		}
		verdicts[f[0]] = firewall.Result{Verdict: f[1], Reason: f[3]}
	}
	if len(verdicts) != len(probes)+len(second) {
		return nil, fmt.Errorf("%d verdicts for %d probes: %s", len(verdicts), len(probes)+len(second), out)
	}
	return verdicts, nil
}

// explain asks `remedy firewall explain -o json` about one probe.
func (eh *explainHost) explain(t *testing.T, p realProbe, onLink bool) (firewall.Result, error) {
	args := []string{"firewall", "explain", eh.h.Name, p.proto + "/" + fmt.Sprint(p.port), "-o", "json"}
	switch {
	case onLink:
		args = append(args, "--src", eh.link.ctl.String())
	case p.dir == "out":
		args = append(args, "--out", "--dst", eh.peer.addr.String())
	}
	out, err := eh.remedy(time.Minute, args...)
	if err != nil {
		return firewall.Result{}, err
	}
	var doc struct {
		Hosts []struct {
			Host  string `json:"host"`
			Error string `json:"error"`
			Probe struct {
				Iif, Oif string
			} `json:"probe"`
			Steps   []firewall.Step `json:"steps"`
			Verdict firewall.Result `json:"verdict"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc.Hosts) != 1 {
		return firewall.Result{}, fmt.Errorf("remedy %v: %v: %s", args, err, out)
	}
	h := doc.Hosts[0]
	if h.Error != "" || len(h.Steps) == 0 {
		return firewall.Result{}, fmt.Errorf("remedy %v: no path: %s", args, out)
	}
	if onLink && h.Probe.Iif != "eth1" {
		return firewall.Result{}, fmt.Errorf("remedy %v: the probe arrives on %q, want eth1", args, h.Probe.Iif)
	}
	return h.Verdict, nil
}

// remedy runs the binary on the lab's inventory and returns its stdout.
func (eh *explainHost) remedy(timeout time.Duration, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, eh.bin, append(args, "-i", eh.lab.Inventory, "--known-hosts", eh.lab.KnownHosts)...)
	cmd.Env = isolatedEnv(eh.home)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("remedy %v: %v\n%s%s", args, err, out, stderr.String())
	}
	return out, nil
}

// snapshot is what the host holds that a change would touch: every
// table the kernel holds (without counters and set elements, which the
// probes' own packets change), and the files under /etc and /run with
// their sizes and times; not /run/motd.dynamic, which pam_motd rewrites
// at every SSH login (the login's doing, not the reads').
func (eh *explainHost) snapshot(t *testing.T) string {
	return labSh(t, eh.lab, eh.h.Name, `nft -s -t list ruleset
for v in "" 6; do grep -q . /proc/net/ip${v}_tables_names 2>/dev/null && ip${v}tables-legacy-save | sed 's/ \[[0-9]*:[0-9]*\]$//; /^#/d'; done
find /etc /run -xdev ! -path /run/motd.dynamic \( -type d -printf '%p/\n' -o -printf '%p %s %T@\n' \) 2>/dev/null | sort`)
}

// sendVia sends p on the first link or the second.
func (eh *explainHost) sendVia(p realProbe, onLink bool, timeout time.Duration) string {
	if onLink {
		return eh.sendOnLink(p, timeout)
	}
	return eh.send(p, timeout)
}

// sendOnLink sends a probe in to the host's eth1 address, from the
// controller's address on that link.
func (eh *explainHost) sendOnLink(p realProbe, timeout time.Duration) string {
	return sendProbe(eh.link.host.String(), p, timeout, func(from int) bool { return eh.received(from, p.port) })
}

// lineDiff lists the lines only one of a and b holds, marked - and +.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
