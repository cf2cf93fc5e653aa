package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remedy/tests/vmlab/vmkit"
)

// vmRemedysDomain lists what of allow_domain's a systemd host could keep
// after firewall.remove: the refresh job's units (loaded or on disk),
// files, and the lines of the live firewall and its boot file naming
// remedy's sets or comments.
const vmRemedysDomain = `systemctl list-units --all --no-legend --plain 'remedy-domain-*' | sed 's/^/unit: /'
ls -d /usr/local/sbin/remedy-domain-* /etc/systemd/system/remedy-domain-* /etc/systemd/system/*/remedy-domain-* 2>/dev/null
{
	nft list ruleset 2>/dev/null
	! command -v ufw >/dev/null || ufw status 2>/dev/null
	cat /etc/nftables.conf 2>/dev/null
} | grep -Eo '.{0,30}(rmd_|remedy: ).{0,30}' | sed 's/^/firewall: /'
true`

// TestVMRemoveDomain undoes allow_domain on booted Debian VMs, where the
// refresh job is a systemd timer (the namespace lab has no systemd:
// TestRemoveDomainOnLab covers its detached loop): after firewall.remove
// no unit, file, set or rule of remedy's is left, the licensing domain
// is unreachable, and still after a real reboot, when a timer left
// enabled would have run the job again (on ufw: re-adding its rules).
func TestVMRemoveDomain(t *testing.T) {
	s := newVMSuite(t)
	for _, profile := range []string{"nftables+egress", "ufw+egress"} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			l := vmkit.New(t, vmkit.Options{Profiles: []string{profile}})
			vm := l.VMs[0]
			ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
			defer cancel()
			op := vmOperator(t, l)
			allow := fmt.Sprintf(`return { tasks = {
  { name = "alee", run = function() firewall.allow_domain { domain = %q, refresh = 60 } end },
} }`, vmkit.LicenseDomain)
			remove := fmt.Sprintf(`return { tasks = {
  { name = "unalee", run = function() firewall.remove { comment = "remedy: %s" } end },
} }`, vmkit.LicenseDomain)
			pb := func(src string) string {
				p := filepath.Join(t.TempDir(), "pb.lua")
				if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			}
			marks := func() string {
				out, err := l.Exec(ctx, vm.Name, "sh", "-c", vmRemedysDomain)
				if err != nil {
					t.Fatalf("%s: %v: %s", vm.Name, err, out)
				}
				return strings.TrimSpace(string(out))
			}
			before := marks()
			if doc, code := s.remedy(t, l, op, "run", pb(allow), "-l", vm.Name); code != 0 || doc.statuses(vm.Name) != "alee=changed" {
				t.Fatalf("allow_domain: exit %d, %s\n%s", code, doc.statuses(vm.Name), doc.out)
			}
			if err := reachLicense(ctx, l, vm.Name, 5); err != nil {
				t.Fatalf("after allow_domain: %v", err)
			}
			if m := marks(); !strings.Contains(m, "unit: remedy-domain-") {
				t.Fatalf("after allow_domain no timer is loaded:\n%s", m)
			}
			doc, code := s.remedy(t, l, op, "run", pb(remove), "-l", vm.Name)
			if code != 0 || doc.statuses(vm.Name) != "unalee=changed" {
				t.Fatalf("remove: exit %d, %s\n%s", code, doc.statuses(vm.Name), doc.out)
			}
			if doc, code := s.remedy(t, l, op, "run", pb(remove), "-l", vm.Name); code != 0 || doc.statuses(vm.Name) != "unalee=ok" {
				t.Errorf("second remove: exit %d, %s, want unalee=ok\n%s", code, doc.statuses(vm.Name), doc.out)
			}
			if m := marks(); m != before {
				t.Errorf("after the removal:\n%s\nwant, as before allow_domain:\n%s", m, before)
			}
			if err := reachLicense(ctx, l, vm.Name, 1); err == nil {
				t.Errorf("%s reachable after the removal", vmkit.LicenseDomain)
			}
			if err := l.Reboot(ctx, vm.Name, 22); err != nil {
				t.Fatal(err)
			}
			// Past the timer's OnBootSec (30s), had it stayed enabled.
			time.Sleep(40 * time.Second)
			if m := marks(); m != before {
				t.Errorf("after the removal and a reboot:\n%s\nwant:\n%s", m, before)
			}
			if err := reachLicense(ctx, l, vm.Name, 1); err == nil {
				t.Errorf("%s reachable after the removal and a reboot", vmkit.LicenseDomain)
			}
		})
	}
}
