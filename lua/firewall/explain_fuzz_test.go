package firewall

import (
	"strings"
	"testing"
)

// FuzzReadFirewalldZone feeds arbitrary text to the `firewall-cmd
// --list-all` reader (seeded from testdata/fuzz/FuzzReadFirewalldZone, the
// firewalld fixtures): an accepted zone has a name, and the explanation of
// a verdict decided in that zone names it.
func FuzzReadFirewalldZone(f *testing.F) {
	f.Fuzz(func(t *testing.T, out []byte) {
		z, err := ReadFirewalldZone(out)
		if err != nil {
			return
		}
		if strings.TrimSpace(z.Name) == "" {
			t.Fatalf("zone read without a name from %q", out)
		}
		r := Result{Verdict: "accept", Chain: "inet firewalld filter_IN_" + z.Name + "_allow"}
		if text := ExplainFirewalld(r, z); !strings.Contains(text, z.Name) {
			t.Fatalf("explanation %q does not name zone %q", text, z.Name)
		}
	})
}

// FuzzReadUfwStatus feeds arbitrary text to the `ufw status verbose`
// reader (seeded from testdata/fuzz/FuzzReadUfwStatus, the ufw fixtures):
// every rule line it keeps is explained without a panic, whatever its
// columns hold.
func FuzzReadUfwStatus(f *testing.F) {
	f.Fuzz(func(t *testing.T, out []byte) {
		s := ReadUfwStatus(out)
		if len(s.Rules) > strings.Count(string(out), "\n")+1 {
			t.Fatalf("%d rules from %d lines", len(s.Rules), strings.Count(string(out), "\n")+1)
		}
		for _, p := range fuzzProbes {
			if text := ExplainUfw(p, s); !strings.HasPrefix(text, "ufw default ") {
				t.Fatalf("explanation %q", text)
			}
		}
	})
}

// Found by FuzzReadFirewalldZone: a first line of only whitespace other than
// spaces ("\r", "\t") was read as a zone with an empty name instead of
// being refused like a blank or space-indented first line.
func TestReadFirewalldZoneBlankName(t *testing.T) {
	for _, out := range []string{"\r", "\t\n  target: default\n", " \t\n"} {
		if z, err := ReadFirewalldZone([]byte(out)); err == nil {
			t.Errorf("%q read as zone %+v, want an error", out, z)
		}
	}
}
