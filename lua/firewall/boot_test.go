package firewall

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func unitFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "units", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// catOf prints files as `systemctl cat` does: each after a "# PATH" line,
// a blank line between them.
func catOf(t *testing.T, files ...[2]string) string {
	var parts []string
	for _, f := range files {
		parts = append(parts, "# "+f[0]+"\n"+unitFixture(t, f[1]))
	}
	return strings.Join(parts, "\n")
}

func TestReadUnit(t *testing.T) {
	const lib, etc = "/lib/systemd/system/", "/etc/systemd/system/"
	tests := []struct {
		name, unit, cat string
		want            Unit
	}{
		{"Debian 12 nftables", "nftables.service", catOf(t, [2]string{lib + "nftables.service", "debian12-nftables.service"}),
			Unit{Path: lib + "nftables.service", ExecStart: [][]string{{"/usr/sbin/nft", "-f", "/etc/nftables.conf"}}, WantedBy: []string{"sysinit.target"}}},
		{"a drop-in overrides ExecStart", "nftables.service", catOf(t,
			[2]string{lib + "nftables.service", "debian12-nftables.service"},
			[2]string{etc + "nftables.service.d/override.conf", "site-override.conf"}),
			Unit{Path: lib + "nftables.service", ExecStart: [][]string{{"/usr/sbin/nft", "-f", "/etc/nftables.d/site.nft"}}, WantedBy: []string{"sysinit.target"}}},
		{"RHEL 9 nftables", "nftables.service", catOf(t, [2]string{"/usr/lib/systemd/system/nftables.service", "rhel9-nftables.service"}),
			Unit{Path: "/usr/lib/systemd/system/nftables.service", ExecStart: [][]string{{"/sbin/nft", "-f", "/etc/sysconfig/nftables.conf"}}, WantedBy: []string{"multi-user.target"}}},
		{"Debian 12 netfilter-persistent with its alias drop-in", "netfilter-persistent.service", catOf(t,
			[2]string{lib + "netfilter-persistent.service", "debian12-netfilter-persistent.service"},
			[2]string{lib + "netfilter-persistent.service.d/iptables.conf", "debian12-netfilter-persistent.service.d-iptables.conf"}),
			Unit{Path: lib + "netfilter-persistent.service", ExecStart: [][]string{{"/usr/sbin/netfilter-persistent", "start"}}, WantedBy: []string{"multi-user.target"}}},
		{"RHEL 9 iptables-services", "iptables.service", catOf(t, [2]string{"/usr/lib/systemd/system/iptables.service", "rhel9-iptables.service"}),
			Unit{Path: "/usr/lib/systemd/system/iptables.service", ExecStart: [][]string{{"/usr/libexec/iptables/iptables.init", "start"}}, WantedBy: []string{"multi-user.target"}}},
		{"a unit file in /etc wins over the packaged one", "nftables.service",
			"# " + lib + "nftables.service\n" + unitFixture(t, "debian12-nftables.service") +
				"\n# " + etc + "nftables.service\n[Service]\nExecStart=/usr/sbin/nft --file=/srv/fw.nft\n",
			Unit{Path: etc + "nftables.service", ExecStart: [][]string{{"/usr/sbin/nft", "--file=/srv/fw.nft"}}}},
		{"masked: a link to /dev/null reads as an empty file", "nftables.service",
			"# " + etc + "nftables.service\n# " + lib + "nftables.service\n" + unitFixture(t, "debian12-nftables.service"),
			Unit{Path: etc + "nftables.service", Masked: true}},
		{"not installed", "nftables.service", "", Unit{}},
		{"an ExecStart systemd must expand", "nftables.service",
			"# " + etc + "nftables.service\n[Service]\nExecStart=/usr/sbin/nft -f $RULES\n",
			Unit{Path: etc + "nftables.service", Problem: `ExecStart=/usr/sbin/nft -f $RULES: "$RULES" needs systemd to expand it`}},
		{"quotes, a prefix and a continued line", "nftables.service",
			"# " + etc + "nftables.service\n[Service]\nExecStart=-/usr/sbin/nft \\\n  -f \"/etc/nft ables.conf\"\n",
			Unit{Path: etc + "nftables.service", ExecStart: [][]string{{"/usr/sbin/nft", "-f", "/etc/nft ables.conf"}}}},
		{"a comment naming a path is not a file header", "nftables.service",
			"# " + lib + "nftables.service\n# /etc/nftables.conf is loaded below\n[Service]\nExecStart=/usr/sbin/nft -f /etc/nftables.conf\n",
			Unit{Path: lib + "nftables.service", ExecStart: [][]string{{"/usr/sbin/nft", "-f", "/etc/nftables.conf"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ReadUnit(tt.unit, SplitUnitFiles(tt.unit, tt.cat), false)
			tt.want.Name = tt.unit
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPlanBoot(t *testing.T) {
	nft := func(enabled bool, cmd ...string) Unit {
		return Unit{Name: "nftables.service", Path: "/lib/systemd/system/nftables.service", Enabled: enabled, ExecStart: [][]string{cmd}}
	}
	persistent := Unit{Name: "netfilter-persistent.service", Path: "/lib/systemd/system/netfilter-persistent.service", Enabled: true,
		ExecStart: [][]string{{"/usr/sbin/netfilter-persistent", "start"}}}
	tests := []struct {
		name    string
		sys     System
		units   []Unit
		ufw     bool
		files   []BootFile
		problem string
	}{
		{"Debian nftables", debian, []Unit{nft(true, "/usr/sbin/nft", "-f", "/etc/nftables.conf")}, false,
			[]BootFile{{"/etc/nftables.conf", FormatNft, ""}}, ""},
		{"a site's own file", debian, []Unit{nft(true, "/usr/sbin/nft", "-f", "/etc/nftables.d/site.nft")}, false,
			[]BootFile{{"/etc/nftables.d/site.nft", FormatNft, ""}}, ""},
		{"disabled", debian, []Unit{nft(false, "/usr/sbin/nft", "-f", "/etc/nftables.conf")}, false,
			[]BootFile{{"/etc/nftables.conf", FormatNft, ""}}, "nftables.service is disabled: a reboot loads no nftables rules"},
		{"not installed", debian, nil, false, nil,
			"nftables.service is not installed: nothing remedy knows of loads nftables rules at boot"},
		{"a script", debian, []Unit{nft(true, "/usr/local/sbin/firewall", "start")}, false, nil,
			"nftables.service: runs /usr/local/sbin/firewall start, not nft -f FILE: remedy cannot tell what it loads"},
		{"nft from standard input", debian, []Unit{nft(true, "/usr/sbin/nft", "-f", "-")}, false, nil,
			`nftables.service: nft loads "-", not a file by its absolute path`},
		{"Debian iptables", System{Backend: IptablesLegacy, OSFamily: "debian"}, []Unit{persistent}, false,
			[]BootFile{{"/etc/iptables/rules.v4", FormatIptablesSave, "ip"}, {"/etc/iptables/rules.v6", FormatIptablesSave, "ip6"}}, ""},
		{"Debian iptables without netfilter-persistent", System{Backend: IptablesNft, OSFamily: "debian"}, nil, false, nil,
			"netfilter-persistent.service is not installed: nothing remedy knows of loads iptables-nft rules at boot"},
		{"RHEL iptables-services", System{Backend: IptablesNft, OSFamily: "redhat"}, []Unit{
			{Name: "iptables.service", Path: "/usr/lib/systemd/system/iptables.service", Enabled: true, ExecStart: [][]string{{"/usr/libexec/iptables/iptables.init", "start"}}},
			{Name: "ip6tables.service", Path: "/usr/lib/systemd/system/ip6tables.service", ExecStart: [][]string{{"/usr/libexec/iptables/ip6tables.init", "start"}}}}, false,
			[]BootFile{{"/etc/sysconfig/iptables", FormatIptablesSave, "ip"}, {"/etc/sysconfig/ip6tables", FormatIptablesSave, "ip6"}},
			"ip6tables.service is disabled: a reboot loads no iptables-nft rules"},
		{"ufw enabled", System{Backend: Ufw}, []Unit{{Name: "ufw.service", Path: "/lib/systemd/system/ufw.service", Enabled: true}}, true, nil, ""},
		{"ufw inactive", System{Backend: Ufw}, []Unit{{Name: "ufw.service", Path: "/lib/systemd/system/ufw.service", Enabled: true}}, false, nil,
			"ufw is not enabled in /etc/ufw/ufw.conf (ENABLED=no): a reboot starts it inactive"},
		{"firewalld masked", System{Backend: Firewalld}, []Unit{{Name: "firewalld.service", Path: "/etc/systemd/system/firewalld.service", Masked: true}}, false, nil,
			"firewalld.service is masked: a reboot loads no firewalld rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			units := map[string]Unit{}
			for _, u := range tt.units {
				units[u.Name] = u
			}
			b := PlanBoot(tt.sys, units, tt.ufw)
			if !reflect.DeepEqual(b.Files, tt.files) || b.Problem != tt.problem {
				t.Errorf("got files %v, problem %q\nwant files %v, problem %q", b.Files, b.Problem, tt.files, tt.problem)
			}
		})
	}
}

func TestEnableLinks(t *testing.T) {
	u := ReadUnit("nftables.service", SplitUnitFiles("nftables.service", catOf(t, [2]string{"/lib/systemd/system/nftables.service", "debian12-nftables.service"})), false)
	want := [][2]string{{"/etc/systemd/system/sysinit.target.wants/nftables.service", "/lib/systemd/system/nftables.service"}}
	if got := EnableLinks(u); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// systemctl show of the known units on a Debian 12 VM (systemd 252):
// nftables enabled with a drop-in, ufw masked, ipset installed and
// disabled, the others not installed.
func TestParseShow(t *testing.T) {
	shown, err := ParseShow(KnownUnits, unitFixture(t, "debian12-systemctl-show.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Shown{
		"nftables.service": {Load: "loaded", State: "enabled",
			Files: []string{"/lib/systemd/system/nftables.service", "/etc/systemd/system/nftables.service.d/override.conf"}},
		"netfilter-persistent.service": {Load: "not-found"},
		"iptables.service":             {Load: "not-found"},
		"ip6tables.service":            {Load: "not-found"},
		"firewalld.service":            {Load: "not-found"},
		"ufw.service":                  {Load: "masked", State: "masked", Files: []string{"/etc/systemd/system/ufw.service"}},
		"ipset.service":                {Load: "loaded", State: "disabled", Files: []string{"/etc/systemd/system/ipset.service"}},
	}
	if !reflect.DeepEqual(shown, want) {
		t.Errorf("got %+v\nwant %+v", shown, want)
	}
	if _, err := ParseShow(KnownUnits[:3], unitFixture(t, "debian12-systemctl-show.txt")); err == nil {
		t.Error("7 blocks for 3 units asked: no error")
	}
	if _, err := ParseShow(KnownUnits, ""); err == nil {
		t.Error("no output: no error")
	}
}
