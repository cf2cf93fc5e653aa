package inventory

import (
	"encoding/json"
	"regexp"
	"testing"
)

var nonFinite = regexp.MustCompile(`(?m)(^\s*|: )-?(?:Infinity|NaN)`)

// FuzzParseINI feeds arbitrary text to the INI parser: it must never panic,
// and whatever it accepts must render as valid JSON and select hosts.
func FuzzParseINI(f *testing.F) {
	f.Add([]byte("[web]\nweb[01:03] a=1 b='x y'\n[web:vars]\nc=[1,2]\n"))
	// Huge ranges only make each run slow; the parser's paths are the target.
	saved := maxRangeHosts
	maxRangeHosts = 500
	f.Cleanup(func() { maxRangeHosts = saved })
	f.Fuzz(func(t *testing.T, data []byte) {
		inv := newInventory()
		if err := parseINI(inv, "fuzz.ini", data); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			return
		}
		inv.reconcile()
		inv.mergeVars()
		hosts, err := inv.Hosts("all")
		if err != nil {
			t.Fatalf("Hosts(all) after a successful parse: %v", err)
		}
		// Python's json, which remedy copies, prints non-finite floats bare.
		out := nonFinite.ReplaceAllString(inv.ListJSON(hosts), "${1}0")
		if !json.Valid([]byte(out)) {
			t.Fatalf("ListJSON is not valid JSON:\n%s", out)
		}
	})
}
