package firewall

import (
	"fmt"
	"testing"
)

func TestVerdictVectors(t *testing.T) {
	for line, v := range vectorLines(t, "vectors.txt", 5) {
		t.Run(fmt.Sprintf("line%d", line), func(t *testing.T) {
			rs := loadFixture(t, v[0])
			got := Verdict(rs, parseProbe(t, v[1]))
			wantRule := v[4]
			if wantRule == "-" {
				wantRule = ""
			}
			if got.Verdict != v[2] || got.Chain != v[3] || got.Rule != wantRule {
				t.Errorf("%s, %s:\n got  %s | %s | %s\n want %s | %s | %s\n reason: %s",
					v[0], v[1], got.Verdict, got.Chain, got.Rule, v[2], v[3], wantRule, got.Reason)
			}
		})
	}
}
