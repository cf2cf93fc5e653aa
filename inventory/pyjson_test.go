package inventory

import (
	"math"
	"testing"
)

func TestPyFloat(t *testing.T) {
	cases := map[float64]string{
		1: "1.0", 0.5: "0.5", 1e16: "1e+16", 1e15: "1000000000000000.0", 1e-5: "1e-05", 0.0001: "0.0001",
		math.Copysign(0, -1): "-0.0", 1.5e300: "1.5e+300", 123456.789: "123456.789",
	}
	for f, want := range cases {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %s, want %s", f, got, want)
		}
	}
}
