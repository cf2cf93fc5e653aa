package vmkit

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// One nftables VM, through everything a test does with it: commands over
// SSH, listeners reached with real packets through its firewall, a reset
// from the snapshot, a power cut and a cold start.
func TestVMLifecycle(t *testing.T) {
	l := New(t, Options{Profiles: []string{"nftables"}})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	vm := l.VMs[0]

	t.Run("exec runs as root under systemd", func(t *testing.T) {
		out, err := l.Exec(ctx, vm.Name, "sh", "-c", "id -un; ps -o comm= -p 1")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Fields(string(out)); strings.Join(got, " ") != "root systemd" {
			t.Errorf("user and PID 1 = %q, want root systemd", got)
		}
	})

	t.Run("listeners answer only where the firewall lets them", func(t *testing.T) {
		for _, proto := range []string{"tcp", "udp"} {
			stop, err := l.Listen(ctx, vm.Name, proto, 8443)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Reach(vm.Addr, proto, 8443, 2*time.Second); err == nil {
				t.Errorf("%s/8443 reached through the nftables drop policy", proto)
			}
			if _, err := l.Exec(ctx, vm.Name, "nft", "add", "rule", "inet", "filter", "input", proto, "dport", "8443", "accept"); err != nil {
				t.Fatal(err)
			}
			if err := l.Reach(vm.Addr, proto, 8443, 5*time.Second); err != nil {
				t.Errorf("%s/8443 once allowed: %v", proto, err)
			}
			if err := stop(); err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("the licensing stand-in answers from the VM", func(t *testing.T) {
		out, err := l.Exec(ctx, vm.Name, "timeout", "10", "bash", "-c", "exec 3<>/dev/tcp/"+LicenseDomain+"/443 && cat <&3")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "stand-in") {
			t.Errorf("%s:443 says %q", LicenseDomain, out)
		}
	})

	t.Run("reset restores the snapshot and the clock", func(t *testing.T) {
		if _, err := l.Exec(ctx, vm.Name, "touch", "/etc/after-snapshot"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := l.Reset(ctx, vm.Name); err != nil {
			t.Fatal(err)
		}
		t.Logf("reset in %s", time.Since(start).Round(100*time.Millisecond))
		out, err := l.Exec(ctx, vm.Name, "sh", "-c", "test ! -e /etc/after-snapshot && nft list chain inet filter input && date +%s")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), "8443") {
			t.Errorf("the rules added after the snapshot survive the reset:\n%s", out)
		}
		fields := strings.Fields(string(out))
		clock, _ := strconv.ParseInt(fields[len(fields)-1], 10, 64)
		if skew := time.Since(time.Unix(clock, 0)); skew < -time.Minute || skew > time.Minute {
			t.Errorf("the VM's clock is %s off after the reset", skew)
		}
	})

	t.Run("power off and start again", func(t *testing.T) {
		if err := l.PowerOff(vm.Name); err != nil {
			t.Fatal(err)
		}
		if err := l.Reach(vm.Addr, "tcp", 22, 2*time.Second); err == nil {
			t.Fatal("SSH answers after the power cut")
		}
		start := time.Now()
		if err := l.Start(ctx, vm.Name); err != nil {
			t.Fatal(err)
		}
		t.Logf("cold start to SSH in %s", time.Since(start).Round(time.Second))
		if out, err := l.Exec(ctx, vm.Name, "systemctl", "is-active", "nftables.service"); err != nil {
			t.Fatalf("after a cold start: %v: %s", err, out)
		}
	})
}
