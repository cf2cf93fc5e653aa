package main

import (
	"path/filepath"
	"testing"
	"time"
)

func TestMeasureExitCodes(t *testing.T) {
	log := filepath.Join(t.TempDir(), "out.log")
	if _, err := measure([]string{"sh", "-c", "exit 3"}, nil, log, []int{0, 3}); err != nil {
		t.Errorf("exit 3 with 3 allowed: %v", err)
	}
	if _, err := measure([]string{"sh", "-c", "exit 3"}, nil, log, []int{0}); err == nil {
		t.Error("exit 3 with only 0 allowed: no error")
	}
	if _, err := measure([]string{"true"}, nil, log, []int{3}); err == nil {
		t.Error("exit 0 with only 3 allowed: no error")
	}
}

// A process the command leaves behind, as ControlPersist masters are,
// is ended and its CPU time counted with the command's.
func TestMeasureReapsWhatTheRunLeftBehind(t *testing.T) {
	if err := becomeSubreaper(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The orphan burns CPU, says so through a FIFO, and waits to be
	// ended; the command, idle in read meanwhile, then exits without
	// waiting for it.
	script := `mkfifo "$1/busy" || exit 1
(i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done >"$1/busy"; exec sleep 60) &
read -r _ <"$1/busy"`
	start := time.Now()
	s, err := measure([]string{"sh", "-c", script, "sh", dir}, nil, filepath.Join(dir, "out.log"), []int{0})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("measure waited %s for the orphan's sleep instead of ending it", took)
	}
	if s.CPU < 100*time.Millisecond {
		t.Errorf("CPU %s: the orphan's busy loop is not counted", s.CPU)
	}
	if s.MaxRSS <= 0 {
		t.Errorf("MaxRSS %d, want the shell's", s.MaxRSS)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []int64
		want int64
	}{
		{[]int64{5}, 5},
		{[]int64{9, 1, 5}, 5},
		{[]int64{4, 1, 3, 2}, 2}, // mean of 2 and 3, truncated
		{[]int64{10, 30}, 20},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
