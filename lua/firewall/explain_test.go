package firewall

import (
	"os"
	"path/filepath"
	"reflect"
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
