package main

import (
	"os"
	"runtime/debug"
	"testing"
)

// Without GOGC in the environment remedy collects at gcPercent, not Go's
// default 100.
func TestGCPercentDefault(t *testing.T) {
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set: the environment decides")
	}
	got := debug.SetGCPercent(gcPercent)
	if got != gcPercent {
		t.Fatalf("GC percent %d, want %d", got, gcPercent)
	}
}
