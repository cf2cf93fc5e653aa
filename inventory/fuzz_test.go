package inventory

import (
	"encoding/json"
	"errors"
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
		checkParsed(t, inv)
	})
}

// checkParsed finishes an inventory a fuzzed parse accepted: it must
// select hosts and render as valid JSON.
func checkParsed(t *testing.T, inv *Inventory) {
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
}

// FuzzParseYAML feeds arbitrary text to the YAML (and JSON) inventory
// parser: it must never panic, every error must name the file (an *Error,
// or a notYAMLInventory wrapping one), and an accepted inventory must
// render as valid JSON.
func FuzzParseYAML(f *testing.F) {
	f.Add([]byte("all:\n  hosts:\n    a:\n      x: 1\n  children:\n    web:\n      hosts:\n        b:\n      vars:\n        y: [1, 2]\n"))
	f.Add([]byte(`{"all": {"hosts": {"a": {"ansible_port": 2222}}, "children": {"db": {"hosts": {"c": null}}}}}`))
	f.Add([]byte("web:\n  hosts:\n    w[01:03]:\n  vars: &v\n    k: v\ndb:\n  vars: *v\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv := newInventory()
		if err := parseYAMLInventory(inv, "fuzz.yml", data); err != nil {
			var notYAML *notYAMLInventory
			if errors.As(err, &notYAML) {
				err = notYAML.err
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			return
		}
		checkParsed(t, inv)
	})
}
