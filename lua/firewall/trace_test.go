package firewall

import (
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// A trace is the evaluation Verdict does, step by step: the same result,
// and the path through every hook, chain and rule, with what matched.
func TestTraceFollowsThePath(t *testing.T) {
	k := loadKernel(t, "kernel/nat-iptables")
	tests := []struct {
		probe string
		want  []string // steps, as stepLine prints them, in order (others between)
	}{
		{"in tcp 80", []string{
			"first packet prerouting ip nat PREROUTING enter priority -100 policy accept",
			"first packet prerouting ip nat PREROUTING -A PREROUTING -i eth0 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080 | yes | destination NAT: redirect to :8080",
			"first packet input ip filter INPUT enter priority 0 policy drop",
			"first packet input ip filter INPUT -A INPUT -p udp -m conntrack --ctstate DNAT -j ACCEPT | no |",
			"first packet input ip filter INPUT -A INPUT -p tcp -m multiport --dports 22,8080 -j ACCEPT | yes | accept",
			"answer output ip filter OUTPUT enter priority 0 policy accept",
			"answer output ip filter OUTPUT policy accept",
		}},
		{"in tcp 8443", []string{
			"first packet prerouting ip nat PREROUTING -A PREROUTING -p tcp -m tcp --dport 2222 -j DNAT --to-destination 198.18.0.10:22 | no |",
			"first packet prerouting ip nat PREROUTING policy accept",
			"first packet input ip filter INPUT -A INPUT -p tcp -m multiport --dports 22,8080 -j ACCEPT | no |",
			"first packet input ip filter INPUT policy drop",
		}},
		{"in tcp 3389", []string{
			"first packet prerouting ip nat PREROUTING -A PREROUTING -p tcp -m tcp --dport 3389 -j DNAT --to-destination 203.0.113.5:3389 | yes | destination NAT: dnat to 203.0.113.5:3389",
			"first packet input routing: 203.0.113.5 is not one of the host's addresses: the packet is forwarded",
		}},
	}
	for _, tt := range tests {
		pkt := k.probe(t, tt.probe)
		res, steps := Trace(k.rs, pkt)
		if want := Verdict(k.rs, pkt); !reflect.DeepEqual(res, want) {
			t.Errorf("%s: trace %+v, verdict %+v", tt.probe, res, want)
		}
		var lines []string
		for _, s := range steps {
			lines = append(lines, stepLine(s))
		}
		at := 0
		for _, w := range tt.want {
			for at < len(lines) && lines[at] != w {
				at++
			}
			if at == len(lines) {
				t.Errorf("%s: no step %q in order; steps:\n%s", tt.probe, w, strings.Join(lines, "\n"))
				break
			}
		}
	}
}

func stepLine(s Step) string {
	line := s.Packet + " " + s.Hook + " "
	switch {
	case s.Chain == "":
		return line + s.Action
	case s.Enter && s.Action == "":
		return line + s.Chain + " enter priority " + strconv.Itoa(s.Priority) + " policy " + s.Policy
	case s.Rule == "":
		return line + s.Chain + " " + s.Action
	}
	return strings.TrimSpace(line + s.Chain + " " + s.Rule + " | " + s.Match + " | " + s.Action)
}

// Every vector's trace ends where its verdict does.
func TestTraceAgreesWithVerdict(t *testing.T) {
	for _, name := range []string{"kernel/probe-nft", "kernel/probe-iptables", "kernel/both-backends", "kernel/reply-owner"} {
		k := loadKernel(t, name)
		for _, probe := range []string{"in tcp 22", "in udp 33005", "in tcp 7000", "in tcp 7201", "out tcp 443", "out udp 53", "in tcp 7102"} {
			pkt := k.probe(t, probe)
			res, steps := Trace(k.rs, pkt)
			if want := Verdict(k.rs, pkt); !reflect.DeepEqual(res, want) {
				t.Errorf("%s %s: trace %s (%s), verdict %s (%s)", name, probe, res.Verdict, res.Reason, want.Verdict, want.Reason)
			}
			if len(steps) == 0 {
				t.Errorf("%s %s: no steps", name, probe)
			}
		}
	}
}

// A probe names its interface or takes the route's; its address is that
// interface's, and the notes say where each came from.
func TestPacketFromInterface(t *testing.T) {
	host := readAddr(t)
	b, err := os.ReadFile("testdata/ip/route-link.json")
	if err != nil {
		t.Fatal(err)
	}
	route, err := ReadRouteGet(b)
	if err != nil {
		t.Fatal(err)
	}
	ctl := netip.MustParseAddr("198.18.0.1")
	tests := []struct {
		probe Probe
		want  string
	}{
		{Probe{Dir: "in", Peer: ctl, PeerNote: "the controller's address as the host sees it"},
			"198.18.0.1 -> 198.18.0.10 iif=eth0 oif=; src: the controller's address as the host sees it; dst: the address the host uses toward 198.18.0.1; iif: the route to 198.18.0.1 leaves by eth0"},
		{Probe{Dir: "in", Peer: netip.MustParseAddr("10.8.0.7"), Iface: "wg0"},
			"10.8.0.7 -> 10.8.0.1 iif=wg0 oif=; src: given; dst: wg0's address on 10.8.0.7's subnet; iif: given"},
		{Probe{Dir: "in", Peer: ctl, Iface: "wg0"},
			"198.18.0.1 -> 10.8.0.1 iif=wg0 oif=; src: given; dst: wg0's address; iif: given"},
		{Probe{Dir: "in", Peer: ctl, Iface: "wg0", Addr: netip.MustParseAddr("198.18.0.10")},
			"198.18.0.1 -> 198.18.0.10 iif=wg0 oif=; src: given; dst: given; iif: given"},
		{Probe{Dir: "out", Peer: ctl, Iface: "eth0p"},
			"invalid IP -> 198.18.0.1 iif= oif=eth0p; src: ; dst: given; oif: given"},
	}
	for _, tt := range tests {
		tt.probe.Proto, tt.probe.Port = "tcp", 22
		p := host.Packet(route, tt.probe)
		dev := map[string]string{"in": "iif", "out": "oif"}[tt.probe.Dir]
		got := p.Src.String() + " -> " + p.Dst.String() + " iif=" + p.Iif + " oif=" + p.Oif +
			"; src: " + p.Notes["src"] + "; dst: " + p.Notes["dst"] + "; " + dev + ": " + p.Notes[dev]
		if got != tt.want {
			t.Errorf("%+v:\n got  %s\n want %s", tt.probe, got, tt.want)
		}
	}
}

// What a reject sends back is traced too: the ICMP error an OUTPUT policy
// of drop keeps in.
func TestTraceFollowsTheReject(t *testing.T) {
	k := loadKernel(t, "kernel/ctstate-dnat")
	res, steps := Trace(k.rs, k.probe(t, "in tcp 9000"))
	if res.Verdict != VerdictDrop {
		t.Errorf("verdict %s, want drop: %s", res.Verdict, res.Reason)
	}
	var lines []string
	for _, s := range steps {
		lines = append(lines, stepLine(s))
	}
	for _, w := range []string{
		"first packet input ip filter INPUT -A INPUT -j REJECT --reject-with icmp-port-unreachable | yes | reject",
		"ICMP error output ip filter OUTPUT enter priority 0 policy drop",
		"ICMP error output ip filter OUTPUT policy drop",
	} {
		if !slices.Contains(lines, w) {
			t.Errorf("no step %q; steps:\n%s", w, strings.Join(lines, "\n"))
		}
	}
}
