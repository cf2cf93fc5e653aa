package main

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remedy/lua/firewall"
	"remedy/lua/luatest"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

// explainFixture is a host whose firewall read and route reads were
// captured (lua/firewall/testdata/kernel/NAME): it answers those and
// records any other command, which explain must never run.
func explainFixture(t *testing.T, name string) *luatest.FixtureHost {
	t.Helper()
	dir := filepath.Join("..", "..", "lua", "firewall", "testdata")
	read := func(f string) string {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	k := "kernel/" + name
	parts := luatest.Parts("cmd", "iptables-nft\niptables-legacy\n", "nft", read(k+".nft.json"), "v4-nft", read(k+".nft.save"),
		"v4-legacy", read(k+".legacy.save"), "ipset", read(k+".ipsets"),
		"addr", read(k+".addr.json"), "controller", "198.18.0.1\n", "route", read(k+".route.json"))
	other := shell.Join(firewall.RouteArgv(netip.MustParseAddr("203.0.113.7"))...)
	h := &luatest.FixtureHost{}
	h.Answer = func(cmd string) (remote.Output, bool) {
		switch cmd {
		case shell.Join(firewall.ReadArgv...):
			return remote.Output{Stdout: parts}, true
		case other:
			return remote.Output{Stdout: []byte(read("ip/route-gateway.json"))}, true
		}
		return remote.Output{}, false
	}
	return h
}

// explain reads the host and runs nothing else: the firewall's read, and
// the route to a peer other than the controller. The path it prints is
// the engine's, rule by rule, ending in the verdict.
func TestExplainReadsOnlyAndPrintsThePath(t *testing.T) {
	tests := []struct {
		args  string
		flags explainFlags
		want  []string
	}{
		{"tcp/80", explainFlags{}, []string{
			"fixture: a connection in, tcp 198.18.0.1:ephemeral -> 198.18.0.10:80, arriving on eth0",
			"  src: the controller's address as the host sees it ($SSH_CONNECTION)",
			"  hook prerouting\n    chain ip nat PREROUTING (priority -100, policy accept)\n" +
				"      [match] -A PREROUTING -i eth0 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080  -> destination NAT: redirect to :8080",
			"      [  no ] -A INPUT -p udp -m conntrack --ctstate DNAT -j ACCEPT\n      [match] -A INPUT -p tcp -m multiport --dports 22,8080 -j ACCEPT  -> accept",
			"its answer (the SYN-ACK back)",
			"verdict: accept\n  accept by rule \"-A INPUT -p tcp -m multiport --dports 22,8080 -j ACCEPT\" in ip filter INPUT (after redirect to :8080",
		}},
		{"tcp/8443", explainFlags{src: "203.0.113.7"}, []string{
			"a connection in, tcp 203.0.113.7:ephemeral -> 198.18.0.10:8443, arriving on eth0",
			"  src: given\n",
			"      -> policy drop\n\nverdict: drop\n  policy drop of ip filter INPUT",
		}},
		{"udp/53", explainFlags{iface: "eth1", sport: 5353}, []string{
			"udp 198.18.0.1:5353 -> any address:53, arriving on eth1",
			"[  no ] -A PREROUTING -i eth0 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080",
		}},
	}
	for _, tt := range tests {
		h := explainFixture(t, "nat-iptables")
		p, err := parseExplainProbe(tt.args, &tt.flags)
		if err != nil {
			t.Fatal(err)
		}
		e, err := explainHost(context.Background(), h, p)
		if err != nil {
			t.Fatalf("%s: %v", tt.args, err)
		}
		if len(h.Ran) > 0 {
			t.Errorf("%s: explain ran %q besides its reads", tt.args, h.Ran)
		}
		var b strings.Builder
		if err := printExplanations(&b, "text", []explanation{e}); err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: output\n%s\nwant it to hold\n%s", tt.args, b.String(), w)
			}
		}
		b.Reset()
		if err := printExplanations(&b, "json", []explanation{e}); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Hosts []struct {
				Verdict struct{ Verdict, Reason string }
				Steps   []firewall.Step
			}
		}
		if err := json.Unmarshal([]byte(b.String()), &doc); err != nil || len(doc.Hosts) != 1 || doc.Hosts[0].Verdict.Verdict != e.Verdict.Verdict || len(doc.Hosts[0].Steps) != len(e.Steps) {
			t.Errorf("%s: json %v: %s", tt.args, err, b.String())
		}
	}
}

// What a host sent reaches the terminal only escaped: a rule's comment
// cannot clear the screen or rewrite the verdict line.
func TestExplainEscapesHostOutput(t *testing.T) {
	e := explanation{Host: "h1", Probe: &explainedProbe{Dir: "in", Text: "tcp x -> y:22, arriving on eth0\x1b[2J", Notes: map[string]string{"iif": "given\x1b]0;title\a"}},
		Steps: []firewall.Step{{Packet: "first packet", Hook: "input", Chain: "inet f\x1b[1Ainput", Enter: true, Policy: "drop"},
			{Packet: "first packet", Hook: "input", Chain: "inet f input", Rule: "tcp dport 22 accept comment \"\x1b[2K\rverdict: accept\"", Match: firewall.MatchYes, Action: "accept"}},
		Verdict: &firewall.Result{Verdict: "accept", Reason: "by rule \x9b31m"}}
	var b strings.Builder
	if err := printExplanations(&b, "text", []explanation{e}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(b.String(), "\x1b\r\a\u009b") {
		t.Errorf("control characters reached the output: %q", b.String())
	}
	if !strings.Contains(b.String(), `\x1b[2K\x0dverdict: accept`) {
		t.Errorf("the rule is not shown escaped: %q", b.String())
	}
}

func TestExplainProbeArguments(t *testing.T) {
	for _, tt := range []struct {
		arg   string
		flags explainFlags
		err   string
	}{
		{"tcp", explainFlags{}, `"tcp": want PROTO/PORT`},
		{"icmp/1", explainFlags{}, `"icmp/1": want PROTO/PORT`},
		{"tcp/0", explainFlags{}, `"tcp/0": not a port`},
		{"tcp/22", explainFlags{src: "host.example"}, `--src "host.example": not an IP address`},
		{"tcp/22", explainFlags{dst: "-x"}, `--dst "-x": not an IP address`},
		{"tcp/22", explainFlags{iface: "eth0;id"}, `--iface "eth0;id": not an interface name`},
		{"tcp/22", explainFlags{sport: 70000}, `--sport 70000: not a port`},
	} {
		if _, err := parseExplainProbe(tt.arg, &tt.flags); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s %+v: %v, want %q", tt.arg, tt.flags, err, tt.err)
		}
	}
	if p, err := parseExplainProbe("tcp/22", &explainFlags{src: "any"}); err != nil || !p.AnyPeer || p.Peer.IsValid() {
		t.Errorf("--src any: %+v %v: want a probe from anywhere", p, err)
	}
	p, err := parseExplainProbe("udp/33001", &explainFlags{out: true, src: "198.18.0.10", dst: "198.18.0.1"})
	if err != nil || p.Dir != "out" || p.Peer.String() != "198.18.0.1" || p.Addr.String() != "198.18.0.10" {
		t.Errorf("out: %+v %v: want the peer to be the destination", p, err)
	}
}
