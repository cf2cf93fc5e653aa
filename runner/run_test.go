package runner

import (
	"testing"

	"remedy/lua"
)

func TestCountResultLikeAnsible(t *testing.T) {
	results := []lua.Result{
		{Status: lua.StatusOK},
		{Status: lua.StatusChanged},
		{Status: lua.StatusFailed, Ignored: true},
		{Status: lua.StatusFailed},
		{Status: lua.StatusSkipped},
		{Status: lua.StatusUnreachable},
	}
	var s Stats
	for _, r := range results {
		countResult(&s, r)
	}
	want := Stats{OK: 2, Changed: 1, Ignored: 1, Failed: 1, Skipped: 1, Unreachable: 1}
	if s != want {
		t.Errorf("stats = %+v, want %+v", s, want)
	}
}

func TestTooManyFailed(t *testing.T) {
	tests := []struct {
		percent       float64
		failed, batch int
		want          bool
	}{
		{-1, 5, 5, false}, // no --max-fail-percent: never stop
		{0, 0, 5, false},
		{0, 1, 5, true}, // 0: any failure stops
		{20, 1, 5, false},
		{20, 2, 5, true}, // 40% > 20%
		{50, 1, 2, false},
		{49.9, 1, 2, true},
		{100, 5, 5, false},
	}
	for _, tt := range tests {
		f := &fanout{opts: Options{MaxFailPercent: tt.percent}}
		if got := f.tooManyFailed(tt.failed, tt.batch); got != tt.want {
			t.Errorf("max %v%%, %d of %d failed: stop = %v, want %v", tt.percent, tt.failed, tt.batch, got, tt.want)
		}
	}
}

func TestHostFailed(t *testing.T) {
	tests := []struct {
		name string
		rep  HostReport
		want bool
	}{
		{"all ok", HostReport{Results: []lua.Result{{Kind: lua.KindTask, Status: lua.StatusOK}}}, false},
		{"unreachable", HostReport{Unreachable: true}, true},
		{"a task failed", HostReport{Results: []lua.Result{{Kind: lua.KindTask, Status: lua.StatusFailed}}}, true},
		{"a handler failed", HostReport{Results: []lua.Result{{Kind: lua.KindHandler, Status: lua.StatusFailed}}}, true},
		{"an ignored failure", HostReport{Results: []lua.Result{{Kind: lua.KindTask, Status: lua.StatusFailed, Ignored: true}}}, false},
		{"a check failed", HostReport{Results: []lua.Result{{Kind: lua.KindCheck, Status: lua.StatusFailed}}}, false},
	}
	for _, tt := range tests {
		if got := hostFailed(tt.rep); got != tt.want {
			t.Errorf("%s: hostFailed = %v, want %v", tt.name, got, tt.want)
		}
	}
}
