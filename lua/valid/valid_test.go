package valid

import (
	"strings"
	"testing"
)

// hostile are values from the threat model: each would be an option, a
// server, a file to read or a second line if it reached a tool as is.
var hostile = []string{
	"", "-f/etc/shadow", "--help", "-x", "-", "--", "@/etc/shadow", "@evil.example",
	"+short", "x\n-f/etc/shadow", "$(touch /tmp/x)", "`id`", "a b", "a;b", "a/b",
	"*", "../etc", "x\x00y",
}

func TestDomain(t *testing.T) {
	for _, ok := range []string{"api.ibmaspera.com", "localhost", "a", "1.2.3.4", "xn--bcher-kva.example",
		"a-b.c-d", "3com.com", strings.Repeat("a", 63) + ".example"} {
		if err := Domain(ok); err != nil {
			t.Errorf("Domain(%q): %v", ok, err)
		}
	}
	bad := append([]string{"a-.example", "a..b", ".a", "a.", "under_score.example", "é.example",
		strings.Repeat("a", 64) + ".example", strings.Repeat("a.", 127) + "a", "::1"}, hostile...)
	for _, s := range bad {
		if err := Domain(s); err == nil || err.Error() != "not a domain name" {
			t.Errorf("Domain(%q) = %v, want not a domain name", s, err)
		}
	}
}

func TestHost(t *testing.T) {
	for _, ok := range []string{"api.ibmaspera.com", "198.18.0.2", "::1", "2001:db8::1", "::ffff:198.18.0.2"} {
		if err := Host(ok); err != nil {
			t.Errorf("Host(%q): %v", ok, err)
		}
	}
	for _, s := range append([]string{"fe80::1%eth0", "fe80::1%-x", "198.18.0.2/24", "[::1]", "1.2.3.4:22"}, hostile...) {
		if err := Host(s); err == nil || err.Error() != "not a host name or IP address" {
			t.Errorf("Host(%q) = %v, want not a host name or IP address", s, err)
		}
	}
}

func TestPort(t *testing.T) {
	for s, want := range map[string]int{"1": 1, "22": 22, "33001": 33001, "65535": 65535} {
		if n, err := Port(s); err != nil || n != want {
			t.Errorf("Port(%q) = %d, %v, want %d", s, n, err, want)
		}
	}
	for _, s := range append([]string{"0", "65536", "-1", "22.5", "0x16", "1e3", " 22", "22 ", "+22"}, hostile...) {
		if _, err := Port(s); err == nil || err.Error() != "not a port (1-65535)" {
			t.Errorf("Port(%q) = %v, want not a port", s, err)
		}
	}
}

func TestPath(t *testing.T) {
	for _, ok := range []string{"/", "/opt/aspera/bin", "/run/sshd.pid", "/etc/a b", "/tmp/-x", "/tmp/$(id)"} {
		if err := Path(ok); err != nil {
			t.Errorf("Path(%q): %v", ok, err)
		}
	}
	for s, want := range map[string]string{
		"":                              "not an absolute path",
		"-f/etc/shadow":                 "not an absolute path",
		"--help":                        "not an absolute path",
		"@/etc/shadow":                  "not an absolute path",
		"opt/aspera":                    "not an absolute path",
		"$(touch /tmp/x)":               "not an absolute path",
		"/opt/x\n-f":                    "a path with a control character",
		"/opt/x\x00y":                   "a path with a control character",
		"/opt/\x7f":                     "a path with a control character",
		"/opt/aspera/":                  "not a clean path (/opt/aspera)",
		"/opt/../etc":                   "not a clean path (/etc)",
		"/opt//aspera":                  "not a clean path (/opt/aspera)",
		"/opt/./aspera":                 "not a clean path (/opt/aspera)",
		"/" + strings.Repeat("a", 4096): "a path longer than 4096 bytes",
	} {
		if err := Path(s); err == nil || err.Error() != want {
			t.Errorf("Path(%.40q) = %v, want %s", s, err, want)
		}
	}
}

func TestAddr(t *testing.T) {
	for _, ok := range []string{"198.18.0.2", "::1", "2001:db8::1"} {
		if err := Addr(ok); err != nil {
			t.Errorf("Addr(%q): %v", ok, err)
		}
	}
	for _, s := range append([]string{"fe80::1%eth0", "198.18.0.2/24", "example.com", "1.2.3.4:22"}, hostile...) {
		if err := Addr(s); err == nil {
			t.Errorf("Addr(%q): no error", s)
		}
	}
}

func TestIface(t *testing.T) {
	for _, ok := range []string{"eth0", "enp3s0f1", "br-1a2b3c4d5e6f", "eth0.100", "wg0", "docker0", "veth_a", strings.Repeat("a", 15)} {
		if err := Iface(ok); err != nil {
			t.Errorf("Iface(%q): %v", ok, err)
		}
	}
	for _, s := range append([]string{strings.Repeat("a", 16), "eth0:1", "eth 0", "-eth0", "."}, hostile...) {
		if err := Iface(s); err == nil {
			t.Errorf("Iface(%q): no error", s)
		}
	}
}
