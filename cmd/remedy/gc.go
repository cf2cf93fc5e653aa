package main

import (
	"os"
	"runtime/debug"
)

// gcPercent is the controller's GOGC unless the environment sets one.
// Memory is what bounds a fleet on one controller: with 100 hosts in
// flight the heap holds about 0.45 MiB a host (its facts, its parsed
// firewall, its Lua VM), and Go's default of 100 lets the heap reach twice
// what is live before it collects. At 50 the peak is 1.5 times: on the
// 100-host lab 0.74-0.77 MiB a host instead of 0.93-1.06, for 15% more of
// the controller's CPU (1.18 s instead of 1.03), a few percent of what the
// hosts spend on the same audit (docs/benchmarks.md).
const gcPercent = 50

func init() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}
