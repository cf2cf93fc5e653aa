package firewall

import (
	"os"
	"path/filepath"
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

// FuzzReadFirewalldZoneSettings feeds arbitrary text to the D-Bus reply
// reader, seeded with the captured replies: an accepted zone has a target,
// and no list holds more entries than the reply has lines.
func FuzzReadFirewalldZoneSettings(f *testing.F) {
	for _, name := range []string{"public-rich", "trusted", "public-ssh"} {
		b, err := os.ReadFile(filepath.Join("testdata", "firewalld", name+".zone-settings"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		z, err := ReadFirewalldZoneSettings("public", out)
		if err != nil {
			return
		}
		n := strings.Count(string(out), "\n") + 1
		if z.Target == "" || len(z.Services)+len(z.Ports)+len(z.RichRules)+len(z.Interfaces)+len(z.Sources) > n {
			t.Fatalf("zone %+v from %d lines", z, n)
		}
	})
}

// FuzzStatusFromFiles feeds arbitrary tuple lines to the ufw file reader,
// seeded with the captured ones: it never panics, and every rule it keeps
// came from a tuple line and has an action.
func FuzzStatusFromFiles(f *testing.F) {
	for _, name := range []string{"many.tuples4", "many.tuples6"} {
		b, err := os.ReadFile(filepath.Join("testdata", "ufw", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	defaults := []byte("IPV6=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\n")
	f.Fuzz(func(t *testing.T, tuples []byte) {
		s, err := StatusFromFiles(UfwFiles{Defaults: defaults, Rules4: tuples, Rules6: tuples})
		if err != nil {
			t.Fatal(err)
		}
		if n := 2 * strings.Count(string(tuples), "### tuple ###"); len(s.Rules) > n {
			t.Fatalf("%d rules from %d tuple lines", len(s.Rules), n)
		}
		for _, r := range s.Rules {
			if r.Action == "" || r.To == "" || r.From == "" {
				t.Fatalf("incomplete rule %+v", r)
			}
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
