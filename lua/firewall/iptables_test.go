package firewall

import (
	"testing"
)

func TestReadIptablesSave(t *testing.T) {
	tests := []struct {
		fixture, family, table, chain, want string
	}{
		{"iptables/rhel7-default.legacy.save", "ip", "filter", "INPUT", `hook=input prio=0 policy=accept
1: ct state related,established accept
2: meta l4proto icmp accept
3: iifname "lo" accept
4: meta l4proto tcp ct state new th dport 22 accept
5: reject`},
		{"iptables/generated.legacy.save", "ip", "raw", "PREROUTING", `hook=prerouting prio=-300 policy=accept
1: udp dport 33009 drop`},
		{"iptables/generated.nft.save", "ip", "filter", "INPUT", `hook=input prio=0 policy=drop
1: ct state invalid drop
2: ct state related,established accept
3: iifname "lo" accept
4: tcp dport { 22, 33001 } accept comment "ssh ports"
5: udp dport 33001-33010 accept
6: ip saddr 198.18.10.0/24 jump TRUSTED
7: tcp dport 8000-8100 goto WEB
8: udp dport 5000 -m mark --mark 0x2a accept
9: meta l4proto tcp ip saddr { 198.18.0.1, 198.18.0.2/31, 198.18.0.4/30, 198.18.0.8/31 } th dport 6000 accept
10: udp dport 7000 reject
11: tcp dport 7001 reject
12: ip saddr != 198.18.0.0/15 tcp dport 7002 accept
13: udp dport 9999 drop`},
		{"iptables/generated6.legacy.save6", "ip6", "filter", "INPUT", `hook=input prio=0 policy=drop
1: ct state related,established accept
2: iifname "lo" accept
3: meta l4proto ipv6-icmp accept
4: tcp dport 22 accept
5: ip6 saddr 2001:db8::/32 tcp dport 9000 accept
6: reject`},
		{"ufw/lab-ufw.save", "ip", "filter", "ufw-not-local", `hook= prio=0 policy=
1: fib daddr type LOCAL return
2: fib daddr type MULTICAST return
3: fib daddr type BROADCAST return
4: -m limit --limit 3/min jump ufw-logging-deny
5: drop`},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+"/"+tt.chain, func(t *testing.T) {
			got := dumpChain(t, loadFixture(t, tt.fixture), tt.family, tt.table, tt.chain)
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestReadIptablesSaveErrors(t *testing.T) {
	for _, in := range []string{
		"-A INPUT -j ACCEPT\n",                        // outside a table
		"*filter\n-A INPUT -j ACCEPT\n",               // undeclared chain
		"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p\n", // option without value
		"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 99999 -j ACCEPT\n",
		"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment \"open\n",
	} {
		if _, err := ReadIptablesSave([]byte(in), "ip"); err == nil {
			t.Errorf("ReadIptablesSave(%q): no error", in)
		}
	}
}

// iptables-save -c prefixes each rule with its counters.
func TestReadIptablesSaveCounters(t *testing.T) {
	rs, err := ReadIptablesSave([]byte("*filter\n:INPUT DROP [9:540]\n[5:300] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"), "ip")
	if err != nil {
		t.Fatal(err)
	}
	if got := Verdict(rs, Packet{Dir: "in", Proto: "tcp", Port: 22}); got.Verdict != VerdictAccept || got.Rule != "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT" {
		t.Errorf("got %s by %q", got.Verdict, got.Rule)
	}
}
