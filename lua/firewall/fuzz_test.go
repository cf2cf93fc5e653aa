package firewall

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// fuzzSeeds adds every fixture matching pattern to the corpus.
func fuzzSeeds(f *testing.F, pattern string) {
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures match %s: %v", pattern, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// fuzzProbes are evaluated on whatever a reader accepts: the engine must
// end with a verdict on any ruleset, loops and undecidable matches included.
var fuzzProbes = []Packet{{Dir: "in", Proto: "tcp", Port: 22}, {Dir: "out", Proto: "udp", Port: 53, IPv6: true},
	{Dir: "in", Proto: "udp", Port: 33001, Src: netip.MustParseAddr("198.18.0.1"), Dst: netip.MustParseAddr("198.18.0.10"),
		Iif: "eth0", Local: []netip.Addr{netip.MustParseAddr("198.18.0.10")}}}

// verdictForEveryProbe fails t unless the engine ends with a verdict for
// each of fuzzProbes on rs.
func verdictForEveryProbe(t *testing.T, rs *Ruleset) {
	t.Helper()
	for _, p := range fuzzProbes {
		if v := Verdict(rs, p).Verdict; v == "" {
			t.Fatalf("no verdict for %+v", p)
		}
	}
}

func FuzzReadNft(f *testing.F) {
	fuzzSeeds(f, "nftables/*.json")
	fuzzSeeds(f, "kernel/*.nft.json")
	f.Fuzz(func(t *testing.T, out []byte) {
		rs, err := ReadNft(out)
		if err != nil {
			return
		}
		verdictForEveryProbe(t, rs)
	})
}

func FuzzReadIptablesSave(f *testing.F) {
	fuzzSeeds(f, "*/*.save")
	f.Fuzz(func(t *testing.T, out []byte) {
		rs, err := ReadIptablesSave(out, "ip")
		if err != nil {
			return
		}
		verdictForEveryProbe(t, rs)
	})
}

func FuzzReadRouteGet(f *testing.F) {
	fuzzSeeds(f, "ip/route*.json")
	f.Fuzz(func(t *testing.T, out []byte) {
		if r, err := ReadRouteGet(out); err == nil && r.Dev == "" {
			t.Fatalf("a route without a device: %+v", r)
		}
	})
}

func FuzzReadIPAddr(f *testing.F) {
	fuzzSeeds(f, "ip/addr.json")
	f.Fuzz(func(t *testing.T, out []byte) {
		a, err := ReadIPAddr(out)
		if err != nil {
			return
		}
		for _, l := range a.Local() {
			if !l.IsValid() {
				t.Fatalf("an invalid local address in %+v", a)
			}
		}
	})
}
