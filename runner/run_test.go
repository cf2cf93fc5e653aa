package runner

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

func TestCountResultLikeAnsible(t *testing.T) {
	results := []remote.Result{
		{Status: remote.StatusOK},
		{Status: remote.StatusChanged},
		{Status: remote.StatusFailed, Ignored: true},
		{Status: remote.StatusFailed},
		{Status: remote.StatusSkipped},
		{Status: remote.StatusUnreachable},
	}
	var s recap.Stats
	for _, r := range results {
		countResult(&s, r)
	}
	want := recap.Stats{OK: 3, Changed: 1, Ignored: 1, Failed: 1, Skipped: 1, Unreachable: 1}
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
		rep  recap.HostReport
		want bool
	}{
		{"all ok", recap.HostReport{Results: []remote.Result{{Kind: remote.KindTask, Status: remote.StatusOK}}}, false},
		{"unreachable", recap.HostReport{Unreachable: true}, true},
		{"a task failed", recap.HostReport{Results: []remote.Result{{Kind: remote.KindTask, Status: remote.StatusFailed}}}, true},
		{"a handler failed", recap.HostReport{Results: []remote.Result{{Kind: remote.KindHandler, Status: remote.StatusFailed}}}, true},
		{"an ignored failure", recap.HostReport{Results: []remote.Result{{Kind: remote.KindTask, Status: remote.StatusFailed, Ignored: true}}}, false},
		{"a check failed", recap.HostReport{Results: []remote.Result{{Kind: remote.KindCheck, Status: remote.StatusFailed}}}, false},
		{"a check broke", recap.HostReport{Results: []remote.Result{{Kind: remote.KindCheck, Status: remote.StatusFailed, Error: true}}}, true},
	}
	for _, tt := range tests {
		if got := hostFailed(tt.rep); got != tt.want {
			t.Errorf("%s: hostFailed = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFactsResult(t *testing.T) {
	unreachable := &UnreachableError{Host: "h1", Err: errors.New("connect: connection refused")}
	if r := remote.FactsResult(unreachable, remote.Facts{}, time.Now()); r.Status != remote.StatusUnreachable || r.Name != remote.FactsTask {
		t.Errorf("unreachable: %+v", r)
	}
	if r := remote.FactsResult(fmt.Errorf("%w: h1: sudo needs a password", ErrBecome), remote.Facts{}, time.Now()); r.Status != remote.StatusFailed || !r.Error {
		t.Errorf("become refused: %+v", r)
	}
	facts := remote.Facts{OSID: "debian", OSVersion: "12", Init: "systemd", SSHDVersion: "OpenSSH_9.2p1", Firewall: "ufw"}
	if r := remote.FactsResult(nil, facts, time.Now()); r.Status != remote.StatusOK || r.Msg != "debian 12, systemd init, OpenSSH_9.2p1, firewall ufw" {
		t.Errorf("gathered: %+v", r)
	}
}

func TestHostErrors(t *testing.T) {
	r := recap.Recap{Hosts: []recap.HostReport{
		{Host: "h1"},
		{Host: "h2", Err: &UnreachableError{Host: "h2", Err: errors.New("timeout")}},
		{Host: "h3", Err: errors.New("playbook.lua:3: boom")},
		{Host: "h4", Err: fmt.Errorf("h4: %w", context.Canceled)},
		{Host: "h5", Err: fmt.Errorf("h5: h5: sshd.move_port: %w", &UnreachableError{Host: "h5", Err: errors.New("connection lost")})},
	}}
	err := hostErrors(r)
	var all *multierror.Error
	if !errors.As(err, &all) || len(all.Errors) != 3 {
		t.Fatalf("hostErrors = %v, want h2's, h3's and h5's (not the interrupted h4)", err)
	}
	want := []string{"h2: timeout", "h3: playbook.lua:3: boom", "h5: sshd.move_port: connection lost"}
	for i, w := range want {
		if got := all.Errors[i].Error(); got != w {
			t.Errorf("error %d = %q, want %q: each names its host once", i, got, w)
		}
	}
	if !errors.Is(all.Errors[2], remote.ErrUnreachable) {
		t.Error("h5's error no longer says the host is unreachable")
	}
	if hostErrors(recap.Recap{Hosts: []recap.HostReport{{Host: "h1"}}}) != nil {
		t.Error("a clean run has errors")
	}
}

// The runner shows the host beside every message, so the names that lua,
// its modules and the Conn put in front of what they wrap go.
func TestWithoutHost(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"h1: h1: sshd.move_port: h1: probe port 33001: connection refused", "sshd.move_port: probe port 33001: connection refused"},
		{"sshd.move_port: h1: h1: probe", "sshd.move_port: probe"},
		{"connect to h1:22: dial tcp: lookup h1: no such host", "connect to h1:22: dial tcp: lookup h1: no such host"},
		{"h10: not h1's", "h10: not h1's"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := withoutHost(tt.msg, "h1"); got != tt.want {
			t.Errorf("withoutHost(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}
