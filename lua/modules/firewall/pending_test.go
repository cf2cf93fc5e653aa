package firewall

import (
	"strings"
	"testing"

	"remedy/lua"
	"remedy/lua/luatest"
	"remedy/lua/remote"
)

// A revert armed by an earlier run would take back the rules a change
// builds on: changes are refused, an audit says so, a verdict is unaffected.
func TestFirewallRefusesChangesWhileARevertIsPending(t *testing.T) {
	tests := []struct {
		name, body string
		check      bool
		status     remote.Status
		msg        string
	}{
		{"allow", `firewall.allow { dir = "in", proto = "tcp", port = 22 }`, false, remote.StatusFailed, "kill $(cat /run/remedy-revert-fw-1a2b/pid)"},
		{"remove", `firewall.remove { comment = "remedy: x" }`, false, remote.StatusFailed, "is pending (/run/remedy-revert-fw-1a2b)"},
		{"allow in check mode", `firewall.allow { dir = "in", proto = "tcp", port = 22 }`, true, remote.StatusOK, "is pending (/run/remedy-revert-fw-1a2b)"},
		{"verdict", `firewall.verdict { dir = "in", proto = "tcp", port = 22 }`, false, remote.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFwFixtureHost(t, "nftables/lab-nftables.json", "")
			h.read = append(h.read, "pending", "fw-1a2b\n")
			r := luatest.Only(t, h, luatest.Task(tt.body), lua.RunOptions{Check: tt.check, Facts: remote.Facts{Firewall: "nftables", OSFamily: "debian"}})
			if r.Status != tt.status || !strings.Contains(r.Msg, tt.msg) {
				t.Errorf("got %s %q, want %s with %q", r.Status, r.Msg, tt.status, tt.msg)
			}
			if len(h.Ran) > 0 {
				t.Errorf("ran %q", h.Ran)
			}
		})
	}
}
