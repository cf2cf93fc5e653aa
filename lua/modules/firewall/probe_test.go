package firewall

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remedy/lua"
	"remedy/lua/firewall"
	"remedy/lua/luatest"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

// newProbeHost is the kernel/probe-nft fixture as the firewall's read
// brings it: the rules, the host's addresses, the controller's address
// as $SSH_CONNECTION gives it and the host's route to it; and the route
// to one other peer, 203.0.113.7, through a gateway.
func newProbeHost(t *testing.T) *fwFixtureHost {
	h := newFwFixtureHost(t, "kernel/probe-nft.nft.json", "kernel/probe-nft.nft.save")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	h.read = append(h.read, "addr", read("kernel/probe-nft.addr.json"), "controller", "198.18.0.1\n", "route", read("kernel/probe-nft.route.json"))
	h.routes = map[string]string{shell.Join(firewall.RouteArgv(netip.MustParseAddr("203.0.113.7"))...): "ip/route-gateway.json"}
	return h
}

// firewall.verdict works out the rest of the first packet from the
// host's own view: from the controller, on the interface of the route
// back to it, to that interface's address; src, dst, iface and sport
// change what it assumes, and the reason names where each came from.
func TestVerdictProbesFromTheHostsView(t *testing.T) {
	tests := []struct {
		name, probe string
		want        string // verdict | src | dst | iface
		reason      []string
	}{
		{"from the controller, by default", `dir = "in", proto = "udp", port = 33005`, "accept | 198.18.0.1 | 198.18.0.10 | eth0",
			[]string{"arriving on eth0 (the route to 198.18.0.1 leaves by eth0)", "a unicast packet to this host (pkttype host)",
				"from 198.18.0.1 (the controller's address as the host sees it ($SSH_CONNECTION))"}},
		{"the address the rule names", `dir = "in", proto = "tcp", port = 7000`, "accept | 198.18.0.1 | 198.18.0.10 | eth0",
			[]string{"to 198.18.0.10 (the address the host uses toward 198.18.0.1)"}},
		{"another interface", `dir = "in", proto = "udp", port = 33005, iface = "eth1"`, "drop | 198.18.0.1 |  | eth1",
			[]string{`drop by rule "iifname \"eth1\" drop"`, "arriving on eth1 (given)"}},
		{"a source the controller is not", `dir = "in", proto = "tcp", port = 7001, src = "203.0.113.7"`, "reject | 203.0.113.7 | 198.18.0.10 | eth0",
			[]string{"from 203.0.113.7 (given)", "arriving on eth0 (the route to 203.0.113.7 leaves by eth0)"}},
		{"a source port given", `dir = "in", proto = "tcp", port = 7200, sport = 53`, "accept | 198.18.0.1 | 198.18.0.10 | eth0",
			[]string{"tcp sport 53 tcp dport 7200 accept"}},
		{"an ephemeral source port", `dir = "in", proto = "tcp", port = 7201`, "accept | 198.18.0.1 | 198.18.0.10 | eth0",
			[]string{"an ephemeral client port (32768-60999)"}},
		{"out, by the route", `dir = "out", proto = "tcp", port = 443, dst = "198.18.0.1"`, "accept | 198.18.0.10 | 198.18.0.1 | eth0",
			[]string{`oifname \"eth0\" ip daddr 198.18.0.0/23`, "leaving by eth0 (the route to 198.18.0.1 leaves by eth0)"}},
		{"out, beyond the gateway", `dir = "out", proto = "tcp", port = 443, dst = "203.0.113.7"`, "drop | 198.18.0.10 | 203.0.113.7 | eth0",
			[]string{"policy drop of inet probe output"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newProbeHost(t)
			body := `local v = firewall.verdict { ` + tt.probe + ` }
return table.concat({ v.verdict, v.src, v.dst, v.iface, v.reason }, " | ")`
			r := luatest.Only(t, h, luatest.Task(body), lua.RunOptions{Check: true, Facts: remote.Facts{Firewall: "nftables", OSFamily: "debian"}})
			if r.Status != remote.StatusOK || !strings.HasPrefix(r.Msg, tt.want+" | ") {
				t.Fatalf("got %s %q\nwant %q", r.Status, r.Msg, tt.want)
			}
			for _, w := range tt.reason {
				if !strings.Contains(r.Msg, w) {
					t.Errorf("reason %q\nwant it to say %q", r.Msg, w)
				}
			}
		})
	}
}

// The probe's options are checked before anything is read.
func TestVerdictProbeOptionsChecked(t *testing.T) {
	for probe, want := range map[string]string{
		`dir = "in", proto = "tcp", port = 22, iface = "-x"`:          `iface "-x": not an interface name`,
		`dir = "in", proto = "tcp", port = 22, iface = "eth0 eth1"`:   `iface "eth0 eth1": not an interface name`,
		`dir = "in", proto = "tcp", port = 22, src = "example.com"`:   `src "example.com": not an IP address`,
		`dir = "in", proto = "tcp", port = 22, sport = 0`:             `sport "0": not a port`,
		`dir = "in", proto = "tcp", port = 70000`:                     `port "70000": not a port`,
		`dir = "up", proto = "tcp", port = 22`:                        `dir "up": want "in" or "out"`,
		`dir = "in", proto = "tcp", port = 22, dst = "198.18.0.1/24"`: `dst "198.18.0.1/24": not an IP address`,
	} {
		r := luatest.Only(t, newProbeHost(t), luatest.Task(`firewall.verdict { `+probe+` }`), lua.RunOptions{Check: true, Facts: remote.Facts{Firewall: "nftables"}})
		if r.Status != remote.StatusFailed || !strings.Contains(r.Msg, want) {
			t.Errorf("%s: %s %q, want failed with %q", probe, r.Status, r.Msg, want)
		}
	}
}

// A host without a route to the source says so in the route read's exit
// status: the probe's interface stays unknown, and the verdict follows
// the rules that test it both ways instead of failing.
func TestVerdictWithoutARouteToTheSource(t *testing.T) {
	h := newProbeHost(t)
	noRoute := shell.Join(firewall.RouteArgv(netip.MustParseAddr("192.0.2.9"))...)
	answer := h.Answer
	h.Answer = func(cmd string) (remote.Output, bool) {
		if cmd == noRoute {
			return remote.Output{ExitCode: 2, Stderr: []byte("RTNETLINK answers: Network is unreachable\n")}, true
		}
		return answer(cmd)
	}
	body := `local v = firewall.verdict { dir = "in", proto = "udp", port = 33005, src = "192.0.2.9" }
return table.concat({ v.verdict, v.src, v.iface, v.reason }, " | ")`
	r := luatest.Only(t, h, luatest.Task(body), lua.RunOptions{Check: true, Facts: remote.Facts{Firewall: "nftables"}})
	want := `unknown | 192.0.2.9 |  | `
	if r.Status != remote.StatusOK || !strings.HasPrefix(r.Msg, want) || !strings.Contains(r.Msg, "depends on the arrival interface") {
		t.Errorf("got %s %q\nwant %q, naming the arrival interface", r.Status, r.Msg, want)
	}
}

// src = "any" asks about a connection from anywhere: the rules that test
// the source or the interface are followed both ways.
func TestVerdictFromAnySource(t *testing.T) {
	body := `local v = firewall.verdict { dir = "in", proto = "udp", port = 33005, src = "any" }
return table.concat({ v.verdict, v.src, v.iface, v.reason }, " | ")`
	r := luatest.Only(t, newProbeHost(t), luatest.Task(body), lua.RunOptions{Check: true, Facts: remote.Facts{Firewall: "nftables"}})
	if r.Status != remote.StatusOK || !strings.HasPrefix(r.Msg, "unknown |  |  | ") || !strings.Contains(r.Msg, "depends on the arrival interface") {
		t.Errorf("got %s %q, want unknown from anywhere, naming the arrival interface", r.Status, r.Msg)
	}
}
