package firewall

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// kernelFixture is every read capture.sh took of testdata/NAME.
type kernelFixture struct {
	rs    *Ruleset
	d     Detection
	host  Addressing
	route Route
}

func loadKernel(t *testing.T, name string) kernelFixture {
	t.Helper()
	read := func(suffix string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name+suffix))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rs, d, err := ReadKernel(KernelReads{Nft: read(".nft.json"), NftSave: read(".nft.save"), NftSave6: read(".nft.save6"),
		LegacySave: read(".legacy.save"), LegacySave6: read(".legacy.save6"), Ipset: read(".ipsets")})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	host, err := ReadIPAddr(read(".addr.json"))
	if err != nil {
		t.Fatal(err)
	}
	route, err := ReadRouteGet(read(".route.json"))
	if err != nil {
		t.Fatal(err)
	}
	return kernelFixture{rs, d, host, route}
}

// probe builds the packet for "in tcp 22 sport=53 peer=203.0.113.7 uid=0" as a
// caller does: from the host's addressing and its route to the peer (the
// fixture's route is to 198.18.0.1; another peer is taken to be reached
// the same way).
func (k kernelFixture) probe(t *testing.T, s string) Packet {
	t.Helper()
	f := strings.Fields(s)
	port, err := strconv.Atoi(f[2])
	if err != nil {
		t.Fatalf("probe %q: %v", s, err)
	}
	p := Probe{Dir: f[0], Proto: f[1], Port: port, Peer: k.route.Dst}
	route := k.route
	var owner *Owner
	for _, opt := range f[3:] {
		key, v, _ := strings.Cut(opt, "=")
		switch key {
		case "uid":
			uid, _ := strconv.Atoi(v)
			owner = &Owner{UID: uint32(uid), GID: uint32(uid)}
		case "sport":
			p.SPort, _ = strconv.Atoi(v)
		case "peer":
			p.Peer = netip.MustParseAddr(v)
			route.Dst = p.Peer
		default:
			t.Fatalf("probe %q: unknown option %q", s, opt)
		}
	}
	pkt := k.host.Packet(route, p)
	pkt.Owner = owner
	return pkt
}

func TestReadKernelVectors(t *testing.T) {
	fixtures := map[string]kernelFixture{}
	for line, v := range vectorLines(t, "kernel.txt", 5) {
		t.Run(fmt.Sprintf("line%d", line), func(t *testing.T) {
			k, ok := fixtures[v[0]]
			if !ok {
				k = loadKernel(t, v[0])
				fixtures[v[0]] = k
			}
			checkVector(t, v, Verdict(k.rs, k.probe(t, v[1])))
		})
	}
}

// Detection says whose each table is and which backends hold rules.
func TestReadKernelDetection(t *testing.T) {
	tests := []struct {
		fixture               string
		legacy, iptNft        bool
		nftTables             []string
		backend, why, noteHas string
	}{
		{"kernel/native-ip-filter", false, false, []string{"ip filter", "ip6 filter"}, Nftables,
			"nftables tables: ip filter, ip6 filter", "ip filter: nftables' own: iptables-nft-save says it holds chains iptables cannot show"},
		{"kernel/iptables-nft-edited", false, true, nil, IptablesNft,
			"iptables-nft holds rules", "ip filter: iptables-nft's: iptables-nft-save lists its chains and rules as nft holds them, and nft shows its matches as xt expressions"},
		{"kernel/both-backends", true, true, []string{"inet host"}, IptablesLegacy,
			"also present: iptables-nft, nftables", "ip filter: iptables-legacy's"},
		{"kernel/probe-nft", false, false, []string{"inet probe"}, Nftables, "nftables tables: inet probe", ""},
		{"kernel/probe-iptables", true, false, nil, IptablesLegacy, "iptables-legacy holds rules", "ip raw: iptables-legacy's"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			d := loadKernel(t, tt.fixture).d
			if d.IptablesLegacy != tt.legacy || d.IptablesNft != tt.iptNft || !slices.Equal(d.NftTables, tt.nftTables) {
				t.Errorf("presence %+v, want legacy %v, iptables-nft %v, nftables %q", d.Presence, tt.legacy, tt.iptNft, tt.nftTables)
			}
			backend, why := d.Governing(false, false)
			if backend != tt.backend || !strings.Contains(why, tt.why) || !strings.Contains(why, tt.noteHas) {
				t.Errorf("governing %s: %s\nwant %s with %q and %q", backend, why, tt.backend, tt.why, tt.noteHas)
			}
		})
	}
}

// The reason names what the verdict assumed of the probe, and where the
// probe's interface and address came from.
func TestVerdictNamesAssumptions(t *testing.T) {
	tests := []struct {
		fixture, probe string
		want           []string
	}{
		{"kernel/probe-nft", "in udp 33005", []string{"arriving on eth0 (the route to 198.18.0.1 leaves by eth0)",
			"a unicast packet to this host (pkttype host)", "a new connection (ct state new)"}},
		{"kernel/probe-nft", "in tcp 7000", []string{"a first packet of 40-80 bytes",
			"to 198.18.0.10 (the address the host uses toward 198.18.0.1)"}},
		{"kernel/probe-nft", "in tcp 7201", []string{"an ephemeral client port (32768-60999), not one of the few a rule names", "a first SYN (tcp flags syn)",
			"set @blocked as of now (its elements when read, which change as packets pass)"}},
		{"kernel/probe-nft", "in tcp 7500", []string{"under the rate limit 5/minute (a single new connection)"}},
		{"kernel/probe-iptables", "in tcp 7501", []string{"under the rate limit 5/min (a single new connection)",
			"one connection counted (no other connection from this source)", "the quota as of now: 1000000 bytes left",
			"ipset blocked as of now (its elements when read, which change as packets pass)"}},
		{"kernel/probe-iptables", "in tcp 7503", []string{"the source is not in recent list knock (a peer the host has not seen lately)"}},
		{"kernel/probe-iptables", "in tcp 7700", []string{"no program listens on the queue: its bypass lets the packet on"}},
		{"kernel/nat-iptables", "in tcp 80", []string{"arriving on eth0 (the route to 198.18.0.1 leaves by eth0)"}},
	}
	for _, tt := range tests {
		k := loadKernel(t, tt.fixture)
		r := Verdict(k.rs, k.probe(t, tt.probe))
		for _, w := range tt.want {
			if !slices.Contains(r.Assumed, w) || !strings.Contains(r.Reason, w) {
				t.Errorf("%s, %s: assumed %q, reason %q: want %q", tt.fixture, tt.probe, r.Assumed, r.Reason, w)
			}
		}
	}
}

// A connection whose answer cannot come back says so; an unknown answer
// says what would decide it.
func TestVerdictFollowsTheAnswer(t *testing.T) {
	k := loadKernel(t, "kernel/reply-owner")
	for probe, want := range map[string]string{
		"in tcp 2222":  "the first packet passes, but the SYN-ACK answering it does not (policy drop of inet host output",
		"out tcp 8443": "the first packet passes, but the SYN-ACK answering it does not (policy drop of inet host input",
		"out tcp 443":  "meta skuid 0 tcp dport 443 accept in inet host output (meta skuid 0: depends on the local socket's owner (the sending program's user))",
		"out udp 53":   "-m string --string facebook.com: depends on the datagram's payload",
	} {
		if r := Verdict(k.rs, k.probe(t, probe)); !strings.Contains(r.Reason, want) {
			t.Errorf("%s: %s: %q\nwant it to say %q", probe, r.Verdict, r.Reason, want)
		}
	}
}

// A redirect says where it sent the packet; an unknown verdict says what
// would decide it.
func TestVerdictExplainsNATAndUnknowns(t *testing.T) {
	k := loadKernel(t, "kernel/nat-iptables")
	r := Verdict(k.rs, k.probe(t, "in tcp 80"))
	if r.Port != 8080 || !strings.Contains(r.NAT, "redirect to :8080") || !strings.Contains(r.Reason, "port 8080") {
		t.Errorf("redirect: port %d, NAT %q, reason %q", r.Port, r.NAT, r.Reason)
	}
	r = Verdict(k.rs, k.probe(t, "in tcp 3389"))
	if !strings.Contains(r.Reason, "forwarded: dnat to 203.0.113.5:3389") {
		t.Errorf("forward: %q", r.Reason)
	}
	p := k.probe(t, "in tcp 22")
	p.Iif, p.Notes = "", nil
	r = Verdict(loadKernel(t, "kernel/probe-nft").rs, Packet{Dir: "in", Proto: "udp", Port: 33005})
	if r.Verdict != VerdictUnknown || !strings.Contains(r.Reason, `iifname "eth0" udp dport 33001-33010 accept in inet probe input (iifname "eth0": depends on the arrival interface)`) {
		t.Errorf("without an interface: %s: %q", r.Verdict, r.Reason)
	}
}

// readAddr reads the captured `ip -j addr`.
func readAddr(t *testing.T) Addressing {
	t.Helper()
	b, err := os.ReadFile("testdata/ip/addr.json")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ReadIPAddr(b)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestReadIPAddr(t *testing.T) {
	a := readAddr(t)
	var got []string
	for _, i := range a.Ifaces {
		got = append(got, fmt.Sprintf("%s up=%v %v", i.Name, i.Up, i.Addrs))
	}
	// Link-local addresses differ from one capture to the next.
	want := []string{"lo up=true [127.0.0.1/8 ::1/128]", "eth0p up=true [" + a.Ifaces[1].Addrs[0].String() + "]",
		"eth0 up=true [198.18.0.10/23 2001:db8::10/64 " + a.Ifaces[2].Addrs[2].String() + "]",
		"wg0p up=false []", "wg0 up=false [10.8.0.1/24]"}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := ReadIPAddr([]byte("Device \"x\" does not exist.")); err == nil {
		t.Error("not JSON: no error")
	}
}

func TestReadRouteGetAndProbes(t *testing.T) {
	host := readAddr(t)
	tests := []struct {
		route, probe string
		want         string
	}{
		{"route-link", "in 198.18.0.1", "198.18.0.1 -> 198.18.0.10 iif=eth0 oif=; iif: the route to 198.18.0.1 leaves by eth0"},
		{"route-gateway", "in 203.0.113.7", "203.0.113.7 -> 198.18.0.10 iif=eth0 oif=; iif: the route to 203.0.113.7 leaves by eth0"},
		{"route-local", "in 198.18.0.10", "198.18.0.10 -> 198.18.0.10 iif=lo oif=; iif: 198.18.0.10 is the host's own address"},
		{"route6-link", "in 2001:db8::1", "2001:db8::1 -> 2001:db8::10 iif=eth0 oif=; iif: the route to 2001:db8::1 leaves by eth0"},
		{"route-gateway", "out 203.0.113.7", "198.18.0.10 -> 203.0.113.7 iif= oif=eth0; oif: the route to 203.0.113.7 leaves by eth0"},
	}
	for _, tt := range tests {
		b, err := os.ReadFile("testdata/ip/" + tt.route + ".json")
		if err != nil {
			t.Fatal(err)
		}
		r, err := ReadRouteGet(b)
		if err != nil {
			t.Fatalf("%s: %v", tt.route, err)
		}
		dir, peer, _ := strings.Cut(tt.probe, " ")
		p := host.Packet(r, Probe{Dir: dir, Proto: "tcp", Port: 22, Peer: netip.MustParseAddr(peer)})
		note := map[string]string{"in": "iif", "out": "oif"}[dir]
		got := fmt.Sprintf("%s -> %s iif=%s oif=%s; %s: %s", p.Src, p.Dst, p.Iif, p.Oif, note, p.Notes[note])
		if got != tt.want {
			t.Errorf("%s, %s:\n got  %s\n want %s", tt.route, tt.probe, got, tt.want)
		}
		if len(p.Local) != 7 {
			t.Errorf("%s: local addresses %v, want the host's seven", tt.route, p.Local)
		}
	}
	for _, bad := range []string{"", "[]", `[{"dst":"198.18.0.1"}]`, `[{"dst":"x","dev":"eth0"}]`} {
		if _, err := ReadRouteGet([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// An action the model cannot follow still names what would decide it.
func TestUnknownActionSaysWhatDecides(t *testing.T) {
	k := loadKernel(t, "kernel/effects-unknown")
	r := Verdict(k.rs, k.probe(t, "in tcp 7000"))
	if want := "it would be decided by the set once this packet's own element is deleted from it"; r.Verdict != VerdictUnknown || !strings.Contains(r.Reason, want) {
		t.Errorf("%s: %q, want it to say %q", r.Verdict, r.Reason, want)
	}
	for target, want := range map[string]string{
		"-j TPROXY --on-port 12345 --tproxy-mark 0x1/0x1": "whether a transparent proxy listens on its port",
		"-j SYNPROXY --sack-perm":                         "the SYN proxy's own handshake",
		"-j CHAOS":                                        "what target CHAOS does with the packet",
	} {
		if got := unknownWhy(Action{Kind: Unknown, Target: target}); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", target, got, want)
		}
	}
}
