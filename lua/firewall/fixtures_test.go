package firewall

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// loadFixture reads testdata/spec with the reader its name calls for;
// "a+b" merges b's tables over a's, as a caller does for iptables-nft,
// or adds b's sets when b is `ipset save` output (*.ipsets).
func loadFixture(t *testing.T, spec string) *Ruleset {
	t.Helper()
	var rs *Ruleset
	for _, name := range strings.Split(spec, "+") {
		out, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var next *Ruleset
		switch {
		case strings.HasSuffix(name, ".ipsets"):
			if err := ReadIpsetSave(rs, out); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			continue
		case strings.HasSuffix(name, ".json"):
			next, err = ReadNft(out)
		case strings.HasSuffix(name, ".save6"):
			next, err = ReadIptablesSave(out, "ip6")
		default:
			next, err = ReadIptablesSave(out, "ip")
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rs == nil {
			rs = next
		} else {
			rs, _, _ = merge(rs, next)
		}
	}
	return rs
}

// parseProbe reads "in tcp 22 src=198.18.0.1 v6".
func parseProbe(t *testing.T, s string) Packet {
	t.Helper()
	f := strings.Fields(s)
	if len(f) < 3 {
		t.Fatalf("probe %q: want dir proto port", s)
	}
	port, err := strconv.Atoi(f[2])
	if err != nil {
		t.Fatalf("probe %q: %v", s, err)
	}
	p := Packet{Dir: f[0], Proto: f[1], Port: port}
	for _, opt := range f[3:] {
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "src":
			p.Src = netip.MustParseAddr(v)
		case "dst":
			p.Dst = netip.MustParseAddr(v)
		case "sport":
			p.SPort, _ = strconv.Atoi(v)
		case "iif":
			p.Iif = v
		case "oif":
			p.Oif = v
		case "v6":
			p.IPv6 = true
		default:
			t.Fatalf("probe %q: unknown option %q", s, opt)
		}
	}
	return p
}

// checkVector compares a verdict with a vector's "verdict | chain | rule"
// (fields 2 to 4; rule "-" for a chain's policy).
func checkVector(t *testing.T, v []string, got Result) {
	t.Helper()
	wantRule := v[4]
	if wantRule == "-" {
		wantRule = ""
	}
	if got.Verdict != v[2] || got.Chain != v[3] || got.Rule != wantRule {
		t.Errorf("%s, %s:\n got  %s | %s | %s\n want %s | %s | %s\n reason: %s",
			v[0], v[1], got.Verdict, got.Chain, got.Rule, v[2], v[3], wantRule, got.Reason)
	}
}

// vectorLines returns the "|"-separated fields of each data line of a
// testdata file, with the line number.
func vectorLines(t *testing.T, name string, fields int) map[int][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	out := map[int][]string{}
	for i, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line == "" || line[0] == '#' {
			continue
		}
		parts := strings.Split(line, " | ")
		if len(parts) != fields {
			t.Fatalf("%s:%d: want %d fields separated by \" | \"", name, i+1, fields)
		}
		for j := range parts {
			parts[j] = strings.TrimSpace(parts[j])
		}
		out[i+1] = parts
	}
	return out
}
