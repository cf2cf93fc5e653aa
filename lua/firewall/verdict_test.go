package firewall

import (
	"fmt"
	"testing"
)

func TestVerdictVectors(t *testing.T) {
	for line, v := range vectorLines(t, "vectors.txt", 5) {
		t.Run(fmt.Sprintf("line%d", line), func(t *testing.T) {
			checkVector(t, v, Verdict(loadFixture(t, v[0]), parseProbe(t, v[1])))
		})
	}
}

// Named sets of interface names and protocols decide like inline lists,
// and a set the ruleset does not hold leaves the verdict unknown.
func TestVerdictNameSets(t *testing.T) {
	rs := &Ruleset{Tables: []*Table{{Family: "inet", Name: "t",
		Sets: map[string]*Set{"ifs": {Name: "ifs", Type: "ifname", Names: []string{"lo", "eth1"}},
			"protos": {Name: "protos", Type: "inet_proto", Names: []string{"udp"}}},
		Chains: []*Chain{{Name: "in", Type: "filter", Hook: "input", Policy: "drop", Rules: []*Rule{
			{Handle: 1, Matches: []Match{{Field: IIf, Set: "ifs"}}, Action: Action{Kind: Accept}, Text: "iifname @ifs accept"},
			{Handle: 2, Matches: []Match{{Field: Proto, Set: "protos"}}, Action: Action{Kind: Accept}, Text: "meta l4proto @protos accept"},
			{Handle: 3, Matches: []Match{{Field: Proto, Set: "missing"}}, Action: Action{Kind: Accept}, Text: "meta l4proto @missing accept"},
		}}}}}}
	for _, tt := range []struct {
		probe, want string
	}{
		{"in tcp 80 iif=eth1", "accept"},
		{"in tcp 80 iif=eth0", "unknown"},
		{"in udp 80 iif=eth0", "accept"},
	} {
		if got := Verdict(rs, parseProbe(t, tt.probe)); got.Verdict != tt.want {
			t.Errorf("%s: %s (%s), want %s", tt.probe, got.Verdict, got.Reason, tt.want)
		}
	}
}
