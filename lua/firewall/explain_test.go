package firewall

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadFirewalldZone(t *testing.T) {
	z, err := ReadFirewalldZone(readTestdata(t, "firewalld/public-fasp.list-all"))
	if err != nil {
		t.Fatal(err)
	}
	want := Zone{Name: "public", Active: true, Target: "default", Interfaces: []string{"fw0"},
		Sources: []string{}, Services: []string{"dhcpv6-client", "https", "ssh"}, Ports: []string{"33001-33010/udp"}}
	if !reflect.DeepEqual(z, want) {
		t.Errorf("got %+v\nwant %+v", z, want)
	}
	if _, err := ReadFirewalldZone([]byte("  target: default\n")); err == nil {
		t.Error("no zone name: no error")
	}
}

func TestExplain(t *testing.T) {
	tests := []struct{ fixture, explain, probe, want string }{
		{"firewalld/public-ssh.json", "firewalld/public-ssh.list-all", "in udp 33001",
			"firewalld zone public (target default) lets in services [dhcpv6-client ssh] and ports []"},
		{"firewalld/public-fasp.json", "firewalld/public-fasp.list-all", "in udp 33002",
			"firewalld zone public (target default) lets in services [dhcpv6-client https ssh] and ports [33001-33010/udp]"},
		{"ufw/remedy-fasp.save", "ufw/remedy-fasp.status", "in udp 33002",
			"ufw default deny (incoming), allow (outgoing), disabled (routed); ufw rules for it: 33001:33010/udp ALLOW IN Anywhere remedy: fasp; 33001:33010/udp (v6) ALLOW IN Anywhere (v6) remedy: fasp"},
		{"ufw/lab-ufw.save", "ufw/lab-ufw.status", "in udp 33001",
			"ufw default deny (incoming), allow (outgoing), disabled (routed)"},
	}
	for _, tt := range tests {
		p := parseProbe(t, tt.probe)
		r := Verdict(loadFixture(t, tt.fixture), p)
		var got string
		if filepath.Dir(tt.fixture) == "ufw" {
			got = ExplainUfw(p, ReadUfwStatus(readTestdata(t, tt.explain)))
		} else {
			z, err := ReadFirewalldZone(readTestdata(t, tt.explain))
			if err != nil {
				t.Fatal(err)
			}
			got = ExplainFirewalld(r, z)
		}
		if got != tt.want {
			t.Errorf("%s %s:\n got  %s\n want %s", tt.explain, tt.probe, got, tt.want)
		}
	}
}

// The D-Bus reply and firewall-cmd --list-all, captured from the same
// zone of the lab's firewalld one after the other, read the same.
func TestReadFirewalldZoneSettingsAgreesWithListAll(t *testing.T) {
	for _, tt := range []struct{ name, zone string }{
		{"public-rich", "public"}, {"trusted", "trusted"}, {"public-ssh", "public"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadFirewalldZoneSettings(tt.zone, readTestdata(t, "firewalld/"+tt.name+".zone-settings"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ReadFirewalldZone(readTestdata(t, "firewalld/"+tt.name+".list-all"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "public-ssh" {
				// Captured on another lab, where the zone held its interface.
				want.Interfaces, want.Active = nil, false
			}
			if g, w := fmt.Sprintf("%q", zoneFields(got)), fmt.Sprintf("%q", zoneFields(want)); g != w {
				t.Errorf("D-Bus:    %s\nlist-all: %s", g, w)
			}
		})
	}
	for _, bad := range []string{"", "Error org.fedoraproject.FirewallD1.Exception: INVALID_ZONE: nosuch", "method return\n   array [\n   ]\n"} {
		if _, err := ReadFirewalldZoneSettings("public", []byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// zoneFields lists a Zone's values with nil and empty lists alike.
func zoneFields(z Zone) []string {
	f := []string{z.Name, fmt.Sprint(z.Active), z.Target}
	for _, l := range [][]string{z.Interfaces, z.Sources, z.Services, z.Ports, z.RichRules} {
		f = append(f, strings.Join(l, " "))
	}
	return f
}

// ufw's files and `ufw status verbose`, captured from the lab's ufw host
// one after the other (rules of every kind: ranges, addresses, source
// ports, applications, interfaces, logging, comments, outgoing, routed,
// IPv6), read the same.
func TestStatusFromFilesAgreesWithUfwStatus(t *testing.T) {
	for _, name := range []string{"many", "policies"} {
		t.Run(name, func(t *testing.T) {
			fwd := strings.Contains(string(readTestdata(t, "ufw/"+name+".forwarding")), "1")
			got, err := StatusFromFiles(UfwFiles{
				Defaults:   readTestdata(t, "ufw/"+name+".default"),
				Rules4:     readTestdata(t, "ufw/"+name+".tuples4"),
				Rules6:     readTestdata(t, "ufw/"+name+".tuples6"),
				Forwarding: fwd,
			})
			if err != nil {
				t.Fatal(err)
			}
			want := ReadUfwStatus(readTestdata(t, "ufw/"+name+".status"))
			want.Active = false
			if got.Defaults != want.Defaults {
				t.Errorf("defaults %q, want %q", got.Defaults, want.Defaults)
			}
			for i := range max(len(got.Rules), len(want.Rules)) {
				var g, w UfwRule
				if i < len(got.Rules) {
					g = got.Rules[i]
				}
				if i < len(want.Rules) {
					w = want.Rules[i]
				}
				if g != w {
					t.Errorf("rule %d:\n got  %q\n want %q", i+1, g, w)
				}
			}
		})
	}
	if _, err := StatusFromFiles(UfwFiles{Defaults: []byte("IPV6=yes\n")}); err == nil {
		t.Error("defaults without policies: no error")
	}
}
