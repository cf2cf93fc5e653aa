package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"remedy/tests/vmlab/vmkit"
)

// The boot-persistence refusal on a real machine, whose unit systemd
// starts (or does not) at a real reboot.

// refuseDisabledUnit: with the firewall's unit disabled, a reboot would
// load none of the rules remedy adds: the run refuses, with the reason,
// before it changes anything, SSH included. persist_firewall enables the
// unit instead; after a reboot SSH answers on 33001.
func (s *vmSuite) refuseDisabledUnit(unit string) vmDrill {
	return func(t *testing.T, l *vmkit.Lab, vm vmkit.VM) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		op := vmOperator(t, l, asperaPort)
		if _, err := l.Exec(ctx, vm.Name, "systemctl", "disable", "--quiet", unit); err != nil {
			t.Fatal(err)
		}
		doc, code := s.remedy(t, l, op, "run", "aspera-server", "-l", vm.Name)
		vmRefused(t, doc, code, vm.Name, "a reboot would not keep it", unit+" is disabled", "persist = true enables it")
		if err := op.login(vm.Addr, 22); err != nil {
			t.Fatalf("SSH on 22 after the refused run: %v", err)
		}

		doc, code = s.remedy(t, l, op, "run", "aspera-server", "-l", vm.Name, "-e", "persist_firewall=true")
		if status, msg, _ := doc.task(vm.Name, "S1/S2: move SSH to ssh_port"); code != 0 || status != "changed" {
			t.Fatalf("persist_firewall=true: exit %d, move %s %q; want 0 and changed\n%s", code, status, msg, doc.out)
		}
		if err := l.SetSSHPort(vm.Name, asperaPort); err != nil {
			t.Fatal(err)
		}
		vmNoPendingRevert(ctx, t, l, vm.Name)
		if out, err := l.Exec(ctx, vm.Name, "systemctl", "is-enabled", unit); err != nil || strings.TrimSpace(string(out)) != "enabled" {
			t.Errorf("%s after persist_firewall=true: %q %v, want enabled", unit, out, err)
		}
		if err := l.Reboot(ctx, vm.Name, asperaPort, 22); err != nil {
			t.Fatal(err)
		}
		if err := op.login(vm.Addr, asperaPort); err != nil {
			t.Errorf("SSH on %d after the reboot: %v", asperaPort, err)
		}
		vmCheck22(t, op, vm.Addr, false)
	}
}

// refuseWithoutLoader: iptables rules that nothing loads at boot (no
// netfilter-persistent, nor its plugins): the run refuses, with or without
// persist_firewall, as there is no unit to enable; after a reboot, which
// loads no rules at all, SSH answers on 22 as before.
func (s *vmSuite) refuseWithoutLoader(t *testing.T, l *vmkit.Lab, vm vmkit.VM) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	op := vmOperator(t, l, asperaPort)
	if _, err := l.Exec(ctx, vm.Name, "dpkg", "--purge", "ipset-persistent", "iptables-persistent", "netfilter-persistent"); err != nil {
		t.Fatal(err)
	}
	for _, vars := range []string{"persist_firewall=false", "persist_firewall=true"} {
		doc, code := s.remedy(t, l, op, "run", "aspera-server", "-l", vm.Name, "-e", vars)
		vmRefused(t, doc, code, vm.Name, "a reboot would not keep it")
	}
	if err := l.Reboot(ctx, vm.Name, 22, asperaPort); err != nil {
		t.Fatal(err)
	}
	if port, _ := l.SSHPort(vm.Name); port != 22 {
		t.Errorf("after the refused runs and a reboot SSH answers on %d, want 22", port)
	}
	if err := op.login(vm.Addr, 22); err != nil {
		t.Errorf("SSH on 22 after the reboot: %v", err)
	}
}

// vmRefused checks a run was refused with the reason and moved nothing.
func vmRefused(t *testing.T, doc jsonRun, code int, host string, reasons ...string) {
	t.Helper()
	if code == 0 {
		t.Errorf("exit 0, want the run refused\n%s", doc.out)
	}
	for _, r := range reasons {
		if !strings.Contains(doc.out, r) {
			t.Errorf("the refusal does not say %q\n%s", r, doc.out)
		}
	}
	if status, msg, _ := doc.task(host, "S1/S2: move SSH to ssh_port"); status == "changed" || status == "ok" {
		t.Errorf("the move ran: %s %q", status, msg)
	}
}
