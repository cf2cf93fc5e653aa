package firewall

import (
	"net/netip"
	"strings"
	"testing"

	"remedy/lua/shell"
)

func ports(lo, hi uint16) PortRange { return PortRange{lo, hi} }

// joined renders commands as shell lines, the way a host receives them.
func joined(cmds [][]string) string {
	var lines []string
	for _, c := range cmds {
		lines = append(lines, shell.Join(c...))
	}
	return strings.Join(lines, "\n")
}

var debian = System{Backend: Nftables, OSFamily: "debian"}

func TestPlanAllow(t *testing.T) {
	fasp := Allow{Dir: "in", Proto: "udp", Ports: ports(33001, 33001), Comment: "fasp"}
	tests := []struct {
		name    string
		fixture string
		sys     System
		allow   Allow
		want    string // commands, one per line; "" when already accepted
	}{
		{"nft policy drop: append", "nftables/lab-nftables.json", debian, fasp,
			`nft add rule inet filter input 'udp dport 33001 accept comment "remedy: fasp"'`},
		{"nft already open", "nftables/lab-nftables.json", debian,
			Allow{Dir: "in", Proto: "tcp", Ports: ports(22, 22)}, ""},
		{"nft egress", "nftables/lab-egress.json", System{Backend: Nftables, OSFamily: "redhat"},
			Allow{Dir: "out", Proto: "tcp", Ports: ports(443, 443), Dst: netip.MustParsePrefix("198.18.200.0/24")},
			`nft add rule inet filter output 'tcp dport 443 ip daddr 198.18.200.0/24 accept comment "remedy: out tcp/443"'`},
		{"nft: before a drop rule", "nftables/generated.json", debian,
			Allow{Dir: "in", Proto: "udp", Ports: ports(9999, 9999), Comment: "remedy: t"},
			`nft insert rule inet filter input handle 23 'udp dport 9999 accept comment "remedy: t"'`},
		{"nft: two base chains stop it, one rule in each", "nftables/generated.json", debian,
			Allow{Dir: "in", Proto: "tcp", Ports: ports(7003, 7003), Comment: "remedy: t"},
			`nft insert rule ip guard early handle 5 'tcp dport 7003 accept comment "remedy: t"'
nft add rule inet filter input 'tcp dport 7003 accept comment "remedy: t"'`},
		{"nft: accepted then rejected by a later chain", "nftables/generated.json", debian,
			Allow{Dir: "in", Proto: "tcp", Ports: ports(33001, 33001), Comment: "remedy: ssh"},
			`nft insert rule ip guard late handle 6 'tcp dport 33001 accept comment "remedy: ssh"'`},
		{"nft: drop early, then policy", "nftables/generated.json", debian,
			Allow{Dir: "in", Proto: "udp", Ports: ports(33005, 33005), Src: netip.MustParsePrefix("198.51.100.0/24"), Comment: "x"},
			`nft insert rule ip guard early handle 3 'udp dport 33005 ip saddr 198.51.100.0/24 accept comment "remedy: x"'`},
		{"nft: range through a user chain", "nftables/generated.json", debian,
			Allow{Dir: "in", Proto: "tcp", Ports: ports(8081, 8082), Comment: "web"},
			`nft insert rule inet filter web handle 29 'tcp dport 8081-8082 accept comment "remedy: web"'`},
		{"iptables: before the REJECT", "iptables/lab-iptables.legacy.save", System{Backend: IptablesLegacy, OSFamily: "debian"}, fasp,
			`iptables -t filter -I INPUT 4 -p udp -m udp --dport 33001 -m comment --comment 'remedy: fasp' -j ACCEPT`},
		{"nftables host with iptables-nft tables: iptables changes those", "iptables/lab-iptables.nft.json+iptables/lab-iptables.nft.save", debian, fasp,
			`iptables -t filter -I INPUT 4 -p udp -m udp --dport 33001 -m comment --comment 'remedy: fasp' -j ACCEPT`},
		{"iptables-legacy named where both variants are installed", "iptables/lab-iptables.legacy.save",
			System{Backend: IptablesLegacy, OSFamily: "debian", Iptables: "iptables-legacy"}, fasp,
			`iptables-legacy -t filter -I INPUT 4 -p udp -m udp --dport 33001 -m comment --comment 'remedy: fasp' -j ACCEPT`},
		{"iptables RHEL: range, source", "iptables/rhel7-default.legacy.save", System{Backend: IptablesLegacy, OSFamily: "redhat"},
			Allow{Dir: "in", Proto: "udp", Ports: ports(33001, 33010), Src: netip.MustParsePrefix("198.18.0.0/15"), Comment: "fasp"},
			`iptables -t filter -I INPUT 5 -p udp -m udp --dport 33001:33010 -s 198.18.0.0/15 -m comment --comment 'remedy: fasp' -j ACCEPT`},
		{"iptables v4 and v6", "iptables/generated.nft.save+iptables/generated6.nft.save6", System{Backend: IptablesNft, OSFamily: "debian"},
			Allow{Dir: "in", Proto: "tcp", Ports: ports(9000, 9000), Comment: "app"},
			`iptables -t filter -A INPUT -p tcp -m tcp --dport 9000 -m comment --comment 'remedy: app' -j ACCEPT
ip6tables -t filter -I INPUT 6 -p tcp -m tcp --dport 9000 -m comment --comment 'remedy: app' -j ACCEPT`},
		{"iptables: raw table drop first", "iptables/generated.legacy.save", System{Backend: IptablesLegacy, OSFamily: "debian"},
			Allow{Dir: "in", Proto: "udp", Ports: ports(33009, 33009), Comment: "f"},
			`iptables -t raw -I PREROUTING 1 -p udp -m udp --dport 33009 -m comment --comment 'remedy: f' -j ACCEPT`},
		{"ufw", "ufw/lab-ufw.save", System{Backend: Ufw}, Allow{Dir: "in", Proto: "udp", Ports: ports(33001, 33010), Comment: "fasp"},
			`ufw allow proto udp from any to any port 33001:33010 comment 'remedy: fasp'`},
		{"ufw already", "ufw/remedy-fasp.save", System{Backend: Ufw}, Allow{Dir: "in", Proto: "udp", Ports: ports(33001, 33010), Comment: "fasp"}, ""},
		{"firewalld", "firewalld/public-ssh.json", System{Backend: Firewalld, Zone: "public"}, fasp,
			`firewall-cmd --permanent --new-service=remedy-fasp
firewall-cmd --permanent --service=remedy-fasp '--set-description=remedy: fasp'
firewall-cmd --permanent --service=remedy-fasp --add-port=33001/udp
firewall-cmd --permanent --zone=public --add-service=remedy-fasp
firewall-cmd --reload`},
		{"firewalld from a source", "firewalld/public-ssh.json", System{Backend: Firewalld, Zone: "public"},
			Allow{Dir: "in", Proto: "tcp", Ports: ports(8443, 8443), Src: netip.MustParsePrefix("198.18.0.0/15"), Comment: "https"},
			`firewall-cmd --permanent --new-service=remedy-https
firewall-cmd --permanent --service=remedy-https '--set-description=remedy: https'
firewall-cmd --permanent --service=remedy-https --add-port=8443/tcp
firewall-cmd --permanent --zone=public '--add-rich-rule=rule family="ipv4" source address="198.18.0.0/15" service name="remedy-https" accept'
firewall-cmd --reload`},
		{"firewalld already", "firewalld/public-fasp.json", System{Backend: Firewalld, Zone: "public"},
			Allow{Dir: "in", Proto: "udp", Ports: ports(33001, 33010)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := PlanAllow(loadFixture(t, tt.fixture), tt.sys, tt.allow)
			if err != nil {
				t.Fatal(err)
			}
			if got := joined(plan.Commands); got != tt.want {
				t.Errorf("commands:\n%s\nwant:\n%s", got, tt.want)
			}
			if plan.Already != (tt.want == "") {
				t.Errorf("Already = %v with commands %q", plan.Already, tt.want)
			}
		})
	}
}

func TestPlanAllowRejects(t *testing.T) {
	rs := loadFixture(t, "nftables/lab-nftables.json")
	for _, a := range []Allow{
		{Dir: "sideways", Proto: "tcp", Ports: ports(1, 1)},
		{Dir: "in", Proto: "icmp", Ports: ports(1, 1)},
		{Dir: "in", Proto: "tcp", Ports: ports(0, 0)},
		{Dir: "in", Proto: "tcp", Ports: ports(10, 9)},
		{Dir: "out", Proto: "tcp", Ports: ports(1, 1), Src: netip.MustParsePrefix("198.18.0.0/15")},
		{Dir: "in", Proto: "tcp", Ports: ports(1, 1), Comment: `say "hi"`},
		{Dir: "in", Proto: "tcp", Ports: ports(1, 1), Comment: "it's"},
		{Dir: "in", Proto: "tcp", Ports: ports(1, 1), Comment: strings.Repeat("x", 101)},
	} {
		if _, err := PlanAllow(rs, debian, a); err == nil {
			t.Errorf("PlanAllow(%+v): no error", a)
		}
	}
	if _, err := PlanAllow(rs, System{Backend: "pf"}, Allow{Dir: "in", Proto: "tcp", Ports: ports(1, 1)}); err == nil {
		t.Error("unknown backend: no error")
	}
	if _, err := PlanAllow(loadFixture(t, "firewalld/public-ssh.json"), System{Backend: Firewalld},
		Allow{Dir: "in", Proto: "tcp", Ports: ports(1, 1)}); err == nil {
		t.Error("firewalld without a zone: no error")
	}
}

// An opaque match that decides the flow leaves nowhere sure to insert
// only when no path names one; here the limit rule's paths do.
func TestPlanAllowAroundUnknown(t *testing.T) {
	plan, err := PlanAllow(loadFixture(t, "nftables/generated.json"), debian,
		Allow{Dir: "in", Proto: "udp", Ports: ports(5000, 5000), Comment: "u"})
	if err != nil {
		t.Fatal(err)
	}
	want := `nft add rule inet filter input 'udp dport 5000 accept comment "remedy: u"'`
	if got := joined(plan.Commands); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestPolicyName(t *testing.T) {
	for comment, want := range map[string]string{
		"remedy: dns":               "rmd-dns",
		"remedy: api.ibmaspera.com": "rmd-api-ibmas-",
	} {
		got := policyName(comment)
		if len(got) > 18 || got[:min(len(got), len(want))] != want {
			t.Errorf("policyName(%q) = %q, want %q… within 18 characters", comment, got, want)
		}
	}
}
