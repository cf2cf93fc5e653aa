package inventory

import (
	"math"
	"reflect"
	"testing"
)

func TestResolveYAML11(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{"", nil}, {"~", nil}, {"null", nil}, {"Null", nil},
		{"yes", true}, {"On", true}, {"TRUE", true}, {"no", false}, {"off", false}, {"y", "y"}, {"n", "n"},
		{"0755", 493}, {"0x1f", 31}, {"0b11", 3}, {"-12", -12}, {"+5", 5}, {"1_000", 1000}, {"1:30", 90}, {"0", 0},
		{"1.5", 1.5}, {"1.", 1.0}, {".5", 0.5}, {"1.0e+3", 1000.0}, {"1e3", "1e3"}, {"1:30.5", 90.5},
		{".inf", math.Inf(1)}, {"-.Inf", math.Inf(-1)},
		{"2024-01-15", "2024-01-15"}, {"0o17", "0o17"}, {"09", "09"}, {"abc", "abc"},
	}
	for _, tc := range cases {
		got := resolveYAML11(tc.in)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("resolveYAML11(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
	if got := resolveYAML11(".nan"); got == got {
		t.Errorf("resolveYAML11(.nan) = %v, want NaN", got)
	}
}
