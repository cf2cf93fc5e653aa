package firewall

import (
	"reflect"
	"slices"
	"testing"
)

func TestBusList(t *testing.T) {
	tests := []struct {
		out  string
		want []string
		err  bool
	}{
		{`as 2 "ssh" "remedy-fasp"` + "\n", []string{"ssh", "remedy-fasp"}, false},
		{`as 0`, []string{}, false},
		{`a(ss) 2 "33001-33010" "udp" "8443" "tcp"`, []string{"33001-33010/udp", "8443/tcp"}, false},
		{`as 1 "rule family=\"ipv4\" source address=\"198.18.0.0/15\" service name=\"remedy-https\" accept"`,
			[]string{`rule family="ipv4" source address="198.18.0.0/15" service name="remedy-https" accept`}, false},
		{`as 1 "a\\b\x41\101\n"`, []string{"a\\bAA\n"}, false},
		{`as 2 "ssh"`, nil, true},
		{`as 1 "ssh`, nil, true},
		{`s "ssh"`, nil, true},
		{``, nil, true},
	}
	for _, tt := range tests {
		got, err := busList([]byte(tt.out))
		if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("busList(%q) = %q, %v; want %q, error %v", tt.out, got, err, tt.want, tt.err)
		}
	}
}

func TestBusSettings(t *testing.T) {
	tests := []struct {
		out  string
		want map[string][]string
		err  bool
	}{
		{`a{sv} 0`, map[string][]string{}, false},
		{`a{sv} 5 "description" s "remedy: peer" "priority" i -100 "masquerade" b false "ports" a(ss) 1 "8443" "tcp" "rich_rules" as 1 "rule port port=\"53\" protocol=\"udp\" accept"`,
			map[string][]string{"description": {"remedy: peer"}, "priority": {"-100"}, "masquerade": {"false"},
				"ports": {"8443", "tcp"}, "rich_rules": {`rule port port="53" protocol="udp" accept`}}, false},
		{`a{sv} 1 "forward_ports" a(ssss) 1 "80" "tcp" "8080" ""`, map[string][]string{"forward_ports": {"80", "tcp", "8080", ""}}, false},
		{`a{sv} 1 "ports" a(ss) 2 "8443" "tcp"`, nil, true},
		{`a{sv} 1 "options" a{ss} 1 "family" "inet"`, nil, true},
		{`a{sv} 2 "target" s "CONTINUE"`, nil, true},
		{`a{sv} 1 "target" s "CONTINUE" "extra"`, nil, true},
		{`as 1 "x"`, nil, true},
	}
	for _, tt := range tests {
		got, err := busSettings([]byte(tt.out))
		if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("busSettings(%q) = %q, %v; want %q, error %v", tt.out, got, err, tt.want, tt.err)
		}
	}
}

// What removal reads of firewalld over D-Bus, captured on a lab host.
func TestReadFirewalldInstalled(t *testing.T) {
	in, err := ReadFirewalldInstalled([]byte(readText(t, "firewalld/installed.parts")))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(in.FirewalldServices); n != 222 || in.FirewalldServices[0] != "RH-Satellite-6" || !slices.Contains(in.FirewalldServices, "remedy-sshd-port-33001") {
		t.Errorf("%d services, first %q, remedy's missing", n, in.FirewalldServices[0])
	}
	if want := []string{"allow-host-ipv6", "egress-restricted", "rmd--live", "rmd-api-ibmas-a0ec"}; !reflect.DeepEqual(in.FirewalldPolicies, want) {
		t.Errorf("policies %q, want %q", in.FirewalldPolicies, want)
	}
	if len(in.FirewalldRichRules) != 0 {
		t.Errorf("rich rules %q, want none", in.FirewalldRichRules)
	}
	if want := map[string][]string{"remedy-sshd-port-33001": {"33001/tcp"}}; !reflect.DeepEqual(in.FirewalldServicePorts, want) {
		t.Errorf("ports %q, want %q", in.FirewalldServicePorts, want)
	}
	if _, err := ReadFirewalldInstalled([]byte("as 0\n")); err == nil {
		t.Error("output without parts: no error")
	}
}

// What an outbound opening reads of firewalld over D-Bus, captured on a
// lab host, and what it plans from it.
func TestReadFirewalldOut(t *testing.T) {
	fo, err := ReadFirewalldOut([]byte(readText(t, "firewalld/outbound.parts")))
	if err != nil {
		t.Fatal(err)
	}
	tcp := `rule family="ipv4" destination address="198.18.12.2/32" port port="33001" protocol="tcp" accept`
	udp := `rule family="ipv4" destination address="198.18.12.2/32" port port="33001" protocol="udp" accept`
	if fo.Live == nil || !reflect.DeepEqual(fo.Live.RichRules, []string{tcp, udp}) {
		t.Errorf("live policy %+v, want the two rules", fo.Live)
	}
	if !reflect.DeepEqual(fo.Own["rich_rules"], []string{tcp}) || !reflect.DeepEqual(fo.Own["description"], []string{"remedy: aspera client SSH"}) {
		t.Errorf("own policy %q", fo.Own)
	}
	none, err := ReadFirewalldOut([]byte("\nremedy-00000000000000000000000000000000:live\n\nremedy-00000000000000000000000000000000:own\n"))
	if err != nil || none.Live != nil || none.Own != nil {
		t.Errorf("no policies: %+v, %v", none, err)
	}
}
