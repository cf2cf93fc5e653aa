package firewall

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var alee = Domain{Name: "api.ibmaspera.com", Proto: "tcp", Port: 443, Refresh: 5 * time.Minute, Init: "systemd"}

func TestPlanAllowDomain(t *testing.T) {
	tests := []struct {
		name, fixture string
		sys           System
		want          string
		files         string
	}{
		{"nft egress-restricted", "nftables/lab-egress.json", debian,
			`nft add set inet filter rmd_api_ibmaspera_com_4 '{ type ipv4_addr; flags timeout; }'
nft add rule inet filter output 'tcp dport 443 ip daddr @rmd_api_ibmaspera_com_4 accept comment "remedy: api.ibmaspera.com"'
nft add set inet filter rmd_api_ibmaspera_com_6 '{ type ipv6_addr; flags timeout; }'
nft add rule inet filter output 'tcp dport 443 ip6 daddr @rmd_api_ibmaspera_com_6 accept comment "remedy: api.ibmaspera.com"'
nft add rule inet filter output 'udp dport 53 accept comment "remedy: DNS/udp for api.ibmaspera.com"'
nft add rule inet filter output 'tcp dport 53 accept comment "remedy: DNS/tcp for api.ibmaspera.com"'`,
			"/usr/local/sbin/remedy-domain-api-ibmaspera-com /etc/systemd/system/remedy-domain-api-ibmaspera-com.service /etc/systemd/system/remedy-domain-api-ibmaspera-com.timer"},
		{"nft: DNS already open", "nftables/generated.json", debian,
			`nft add set inet filter rmd_api_ibmaspera_com_4 '{ type ipv4_addr; flags timeout; }'
nft add rule inet filter output 'tcp dport 443 ip daddr @rmd_api_ibmaspera_com_4 accept comment "remedy: api.ibmaspera.com"'
nft add set inet filter rmd_api_ibmaspera_com_6 '{ type ipv6_addr; flags timeout; }'
nft add rule inet filter output 'tcp dport 443 ip6 daddr @rmd_api_ibmaspera_com_6 accept comment "remedy: api.ibmaspera.com"'`,
			"/usr/local/sbin/remedy-domain-api-ibmaspera-com /etc/systemd/system/remedy-domain-api-ibmaspera-com.service /etc/systemd/system/remedy-domain-api-ibmaspera-com.timer"},
		{"egress open: nothing to do", "nftables/lab-nftables.json", debian, "", ""},
		{"iptables with ipset", "iptables/lab-egress.legacy.save", System{Backend: IptablesLegacy, OSFamily: "redhat"},
			`ipset create rmd_api_ibmaspera_com_4 hash:ip family inet -exist
iptables -t filter -A OUTPUT -p tcp -m tcp --dport 443 -m set --match-set rmd_api_ibmaspera_com_4 dst -m comment --comment 'remedy: api.ibmaspera.com' -j ACCEPT
iptables -t filter -A OUTPUT -p udp -m udp --dport 53 -m comment --comment 'remedy: DNS/udp for api.ibmaspera.com' -j ACCEPT
iptables -t filter -A OUTPUT -p tcp -m tcp --dport 53 -m comment --comment 'remedy: DNS/tcp for api.ibmaspera.com' -j ACCEPT`,
			"/usr/local/sbin/remedy-domain-api-ibmaspera-com /etc/systemd/system/remedy-domain-api-ibmaspera-com.service /etc/systemd/system/remedy-domain-api-ibmaspera-com.timer"},
		{"ufw: the job adds a rule per address", "ufw/lab-egress.save", System{Backend: Ufw}, "",
			"/usr/local/sbin/remedy-domain-api-ibmaspera-com /etc/systemd/system/remedy-domain-api-ibmaspera-com.service /etc/systemd/system/remedy-domain-api-ibmaspera-com.timer"},
		{"firewalld: egress open", "firewalld/public-ssh.json", System{Backend: Firewalld, Zone: "public"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := PlanAllowDomain(loadFixture(t, tt.fixture), tt.sys, alee)
			if err != nil {
				t.Fatal(err)
			}
			if got := joined(plan.Commands); got != tt.want {
				t.Errorf("commands:\n%s\nwant:\n%s", got, tt.want)
			}
			var paths []string
			for _, f := range plan.Files {
				paths = append(paths, f.Path)
			}
			if got := strings.Join(paths, " "); got != tt.files {
				t.Errorf("files %s, want %s", got, tt.files)
			}
			if plan.Already != (tt.want == "" && tt.files == "") {
				t.Errorf("Already = %v", plan.Already)
			}
		})
	}
}

func TestPlanAllowDomainRejects(t *testing.T) {
	rs := loadFixture(t, "nftables/lab-egress.json")
	for _, d := range []Domain{
		{Name: "api.ibmaspera.com; rm -rf /", Proto: "tcp", Port: 443, Refresh: time.Hour},
		{Name: "api.ibmaspera.com", Proto: "icmp", Port: 443, Refresh: time.Hour},
		{Name: "api.ibmaspera.com", Proto: "tcp", Refresh: time.Hour},
		{Name: "api.ibmaspera.com", Proto: "tcp", Port: 443, Refresh: time.Second},
	} {
		if _, err := PlanAllowDomain(rs, debian, d); err == nil {
			t.Errorf("PlanAllowDomain(%+v): no error", d)
		}
	}
	if _, err := PlanAllowDomain(rs, System{Backend: "none"}, alee); err == nil {
		t.Error("no backend: no error")
	}
}

// TestAllowDomainAppliesToRealTools runs the plan and its refresh script
// with the real nft, iptables and ipset in a throwaway namespace, for
// "localhost", which getent resolves from /etc/hosts without a network.
func TestAllowDomainAppliesToRealTools(t *testing.T) {
	local := Domain{Name: "localhost", Proto: "tcp", Port: 443, Refresh: time.Minute, Init: "none"}
	tests := []struct{ backend, input string }{
		{Nftables, "nftables/lab-egress.nft"},
		{IptablesLegacy, "iptables/lab-egress.rules"},
	}
	for _, tt := range tests {
		t.Run(tt.backend, func(t *testing.T) {
			tl := tools[tt.backend]
			n := newNetns(t)
			tl.load(n, filepath.Join("testdata", tt.input))
			// getent resolves nothing while the only address is on loopback.
			n.run("", "ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1")
			n.run("", "ip", "addr", "add", "198.18.250.1/30", "dev", "v0")
			n.run("", "ip", "link", "set", "v0", "up")
			sys := tl.system()
			plan, err := PlanAllowDomain(tl.rules(n), sys, local)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range plan.Commands {
				n.run("", c...)
			}
			script := filepath.Join(t.TempDir(), "refresh")
			if err := os.WriteFile(script, []byte(plan.Files[0].Content), 0o700); err != nil {
				t.Fatal(err)
			}
			n.run("", "sh", script)
			rs := tl.rules(n)
			if tt.backend != Nftables {
				if err := ReadIpsetSave(rs, n.run("", "ipset", "save")); err != nil {
					t.Fatal(err)
				}
			}
			p := Packet{Dir: "out", Proto: "tcp", Port: 443, Dst: netip.MustParseAddr("127.0.0.1")}
			if r := Verdict(rs, p); r.Verdict != VerdictAccept {
				t.Errorf("to localhost after the refresh: %s (%s)", r.Verdict, r.Reason)
			}
			again, err := PlanAllowDomain(rs, sys, Domain{Name: "localhost", Proto: "tcp", Port: 443,
				Refresh: time.Minute, Init: "none", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}})
			if err != nil || len(again.Commands) != 0 || again.Already {
				t.Errorf("second plan: %v, commands %q, already %v (want only the job)", err, again.Commands, again.Already)
			}
		})
	}
}
