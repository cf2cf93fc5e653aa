package firewall

import (
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
var fuzzProbes = []Packet{{Dir: "in", Proto: "tcp", Port: 22}, {Dir: "out", Proto: "udp", Port: 53, IPv6: true}}

func FuzzReadNft(f *testing.F) {
	fuzzSeeds(f, "nftables/*.json")
	f.Fuzz(func(t *testing.T, out []byte) {
		rs, err := ReadNft(out)
		if err != nil {
			return
		}
		for _, p := range fuzzProbes {
			if v := Verdict(rs, p).Verdict; v == "" {
				t.Fatalf("no verdict for %+v", p)
			}
		}
	})
}

func FuzzReadIptablesSave(f *testing.F) {
	fuzzSeeds(f, "*/*.save")
	f.Fuzz(func(t *testing.T, out []byte) {
		rs, err := ReadIptablesSave(out, "ip")
		if err != nil {
			return
		}
		for _, p := range fuzzProbes {
			if v := Verdict(rs, p).Verdict; v == "" {
				t.Fatalf("no verdict for %+v", p)
			}
		}
	})
}
