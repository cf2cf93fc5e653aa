package firewall

import (
	"fmt"
	"strings"
	"testing"
)

// dumpChain prints a chain's header and rules, one per line, as the
// reader tests compare them.
func dumpChain(t *testing.T, rs *Ruleset, family, table, chain string) string {
	t.Helper()
	tb := rs.Table(family, table)
	if tb == nil {
		t.Fatalf("no table %s %s", family, table)
	}
	c := tb.Chain(chain)
	if c == nil {
		t.Fatalf("no chain %s in %s %s", chain, family, table)
	}
	lines := []string{fmt.Sprintf("hook=%s prio=%d policy=%s", c.Hook, c.Priority, c.Policy)}
	for _, r := range c.Rules {
		lines = append(lines, fmt.Sprintf("%d: %s", r.Handle, nftText(r)))
	}
	return strings.Join(lines, "\n")
}

func TestReadNft(t *testing.T) {
	tests := []struct {
		fixture, family, table, chain, want string
	}{
		{"nftables/lab-nftables.json", "inet", "filter", "input", `hook=input prio=0 policy=drop
4: ct state established,related accept
5: iifname "lo" accept
6: tcp dport 22 accept`},
		{"nftables/debian12-default.json", "inet", "filter", "output", `hook=output prio=0 policy=accept`},
		{"nftables/generated.json", "ip", "guard", "early", `hook=input prio=-10 policy=accept
3: udp dport 33005 drop
4: tcp dport 2222 accept
5: tcp dport 7003 drop`},
		{"nftables/generated.json", "inet", "filter", "trusted", `hook= prio=0 policy=
24: tcp dport 3306 accept
25: udp dport 161 return
26: udp dport 161-162 accept`},
		// A verdict map becomes one rule per key, sharing the handle.
		{"nftables/generated.json", "inet", "filter", "input", `hook=input prio=0 policy=drop
9: ct state invalid drop
9: ct state established accept
9: ct state related accept
10: iifname "lo" accept
11: meta l4proto icmp accept
13: tcp dport { 22, 33001 } accept comment "ssh ports"
14: udp dport @fasp_ports accept
15: ip saddr @trusted4 jump trusted
16: tcp dport 8000-8100 goto web
17: udp dport 5000 meta mark 42 accept
18: tcp dport 6000 limit rate 10/second burst 5 packets accept
19: meta l4proto tcp tcp flags syn tcp dport 6001 accept
20: udp dport 7000 reject
21: tcp dport 7001 reject
22: ip6 saddr 2001:db8::/32 tcp dport 9000 accept
23: udp dport 9999 drop`},
		{"firewalld/public-ssh.json", "inet", "firewalld", "filter_PREROUTING", `hook=prerouting prio=10 policy=accept
54: meta l4proto ipv6-icmp icmpv6 type { nd-router-advert, nd-neighbor-solicit } accept
52: meta nfproto ipv6 fib saddr . mark . iif oif missing drop`},
		// iptables-nft's own matches are opaque to nft -j.
		{"iptables/lab-iptables.nft.json", "ip", "filter", "INPUT", `hook=input prio=0 policy=accept
4: {"xt":{"type":"match","name":"conntrack"}} accept
5: iifname "lo" accept
6: tcp dport 22 accept
7: {"xt":{"type":"target","name":"REJECT"}}`},
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

func TestReadNftSets(t *testing.T) {
	rs := loadFixture(t, "nftables/generated.json")
	sets := rs.Table("inet", "filter").Sets
	got := fmt.Sprint(sets["trusted4"].Prefixes, sets["fasp_ports"].Ports, sets["allowed_out4"].Prefixes)
	want := "[198.18.10.0/24 198.19.0.1/32] [33001-33010 55001] [198.18.200.1/32]"
	if got != want {
		t.Errorf("sets: got %s, want %s", got, want)
	}
}

func TestReadNftErrors(t *testing.T) {
	for _, in := range []string{
		`not json`,
		`{"nftables": [{"chain": {"family": "inet", "table": "nope", "name": "input"}}]}`,
		`{"nftables": [{"table": {"family": "inet", "name": "t"}}, {"rule": {"family": "inet", "table": "t", "chain": "c", "expr": []}}]}`,
	} {
		if _, err := ReadNft([]byte(in)); err == nil {
			t.Errorf("ReadNft(%s): no error", in)
		}
	}
}
