package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"remedy/tests/vmlab/vmkit"
)

// vmAudit is what these tests read of remedy's -o json document.
type vmAudit struct {
	Hosts []struct {
		Name        string `json:"name"`
		Unreachable bool   `json:"unreachable"`
		Error       string `json:"error"`
		Facts       *struct {
			Init string `json:"init"`
		} `json:"facts"`
	} `json:"hosts"`
}

// The VM tier end to end. remedy audits a booted Debian 12 whose PID 1 is
// systemd (a namespace host has no init), the VM reboots for real and
// comes back with its firewall loaded by nftables.service at boot, and
// remedy logs in to it again.
func TestVMAuditAcrossReboot(t *testing.T) {
	l := vmkit.New(t, vmkit.Options{Profiles: []string{"nftables"}})
	vm := l.VMs[0]
	bin, home := buildRemedy(t), t.TempDir()
	audit := func(when string) {
		t.Helper()
		var doc vmAudit
		code, out := runRemedyJSON(t, bin, home, 5*time.Minute, &doc,
			"audit", "aspera-server", "-i", l.Inventory, "--known-hosts", l.KnownHosts)
		if len(doc.Hosts) != 1 || doc.Hosts[0].Unreachable || doc.Hosts[0].Facts == nil {
			t.Fatalf("audit %s: exit %d, want one reachable host with facts\n%s", when, code, out)
		}
		if got := doc.Hosts[0].Facts.Init; got != "systemd" {
			t.Errorf("audit %s: facts.init = %q, want systemd", when, got)
		}
		// SSH on 22 and the Aspera ports closed: drift, exit 3.
		if code != 3 {
			t.Errorf("audit %s: exit %d, want 3 (drift)\n%s", when, code, out)
		}
	}
	audit("after the first boot")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	if err := l.Reboot(ctx, vm.Name); err != nil {
		t.Fatal(err)
	}
	t.Logf("reboot to SSH in %s", time.Since(start).Round(time.Second))
	out, err := l.Exec(ctx, vm.Name, "nft", "list", "chain", "inet", "filter", "input")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "policy drop") || !strings.Contains(string(out), "tcp dport 22 accept") {
		t.Errorf("after the reboot the input chain is not Debian's from /etc/nftables.conf:\n%s", out)
	}
	audit("after the reboot")
}
