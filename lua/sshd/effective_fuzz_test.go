package sshd

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParseEffective feeds arbitrary text to the `sshd -T` reader (seeded
// from testdata/fuzz/FuzzParseEffective, which holds the sshd-T fixtures):
// keywords come back lower case and the listening ports sorted, unique and
// in range, since the lockout check dials exactly those ports.
func FuzzParseEffective(f *testing.F) {
	f.Fuzz(func(t *testing.T, out string) {
		c := ParseEffective(out)
		for key, values := range c {
			if key != strings.ToLower(key) || len(values) == 0 {
				t.Fatalf("keyword %q with values %q", key, values)
			}
			if c.Get(key) != values[0] {
				t.Fatalf("Get(%q) = %q, first value %q", key, c.Get(key), values[0])
			}
		}
		ports := c.ListenPorts()
		if !slices.IsSorted(ports) || len(slices.Compact(slices.Clone(ports))) != len(ports) {
			t.Fatalf("ListenPorts() = %v: not sorted and unique", ports)
		}
		for _, p := range ports {
			if p < 1 || p > 65535 {
				t.Fatalf("ListenPorts() = %v: port %d out of range", ports, p)
			}
		}
	})
}

// FuzzParseListeners feeds arbitrary text to the `ss -Htlnp` reader, which
// tells which ports sshd really listens on after a reload.
func FuzzParseListeners(f *testing.F) {
	f.Fuzz(func(t *testing.T, out string) {
		ls, err := ParseListeners(out)
		if err != nil {
			return
		}
		for _, l := range ls {
			if l.Port < 0 || l.Port > 65535 || !ListeningOn(ls, l.Port) {
				t.Fatalf("listener %+v: port out of range or not found again", l)
			}
		}
	})
}
