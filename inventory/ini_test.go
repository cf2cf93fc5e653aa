package inventory

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestSplitLines(t *testing.T) {
	cases := map[string][]string{
		"":                    nil,
		"a":                   {"a"},
		"a\n":                 {"a"},
		"a\r\nb\rc\n\nd":      {"a", "b", "c", "", "d"},
		"a\vb\fc\x1cd\u2028e": {"a", "b", "c", "d", "e"},
		"\n":                  {""},
	}
	for in, want := range cases {
		if got := splitLines(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitLines(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestINIDetails(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"hosts": "# caf\xe9 in a comment is fine\n" +
		"first:2201\n" +
		"[web]\n" +
		"first:2299 role=web\n" +
		"\u00a0second\u00a0\n" +
		"[web:vars]\n" +
		"role=group\n"})
	inv, err := Load([]string{filepath.Join(dir, "hosts")})
	if err != nil {
		t.Fatal(err)
	}
	first := inv.hosts["first"]
	// The port of a host's first entry counts, as in Ansible; a host in a
	// group leaves ungrouped; host vars beat group vars.
	want := map[string]any{"ansible_port": 2201, "role": "web"}
	if !reflect.DeepEqual(first.Vars, want) || !reflect.DeepEqual(first.Groups, []string{"web"}) {
		t.Errorf("first: vars %v groups %v", first.Vars, first.Groups)
	}
	if _, ok := inv.hosts["second"]; !ok {
		t.Error("a host line with Unicode spaces around the name was not read")
	}
	if _, err := Load([]string{filepath.Join(dir, "missing"), "h1,"}); err == nil {
		t.Error("a missing source with no comma must be an error")
	}
}
