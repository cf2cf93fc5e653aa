package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"remedy/tests/vmlab/vmkit"
)

// vmDomainMarks lists what of allow_domain's for domain a systemd host
// keeps: the refresh job's units (loaded or on disk), its files, and the
// lines of the live firewall and its boot file naming remedy's sets or
// the domain's comment. The aspera run's other rules are not listed.
func vmDomainMarks(domain string) string {
	return `systemctl list-units --all --no-legend --plain 'remedy-domain-*' | sed 's/^/unit: /'
ls -d /usr/local/sbin/remedy-domain-* /etc/systemd/system/remedy-domain-* /etc/systemd/system/*/remedy-domain-* 2>/dev/null
{
	nft list ruleset 2>/dev/null
	! command -v ufw >/dev/null || ufw status 2>/dev/null
	cat /etc/nftables.conf 2>/dev/null
} | grep -Eo '.{0,30}(rmd_|remedy: ` + regexp.QuoteMeta(domain) + `).{0,30}' | sed 's/^/firewall: /'
true`
}

// removeDomain goes on from an aspera run with alee (vmServer.undomain),
// whose allow_domain left sets, rules and a systemd refresh timer on the
// VM: firewall.remove of the domain's comment takes all of it out, the
// licensing domain is unreachable, and still after a real reboot, when a
// timer left enabled would have run the job again. It runs on the VM the
// case left, not from the snapshot: the removal is of what a real run
// made, beside the run's other rules, and the tier boots no VM for it
// (TestRemoveDomainOnLab covers every backend, check mode and a second
// removal in the namespace lab).
func (s *vmSuite) removeDomain(t *testing.T, l *vmkit.Lab, c vmServer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	vm := c.vm
	op := vmOperator(t, l, c.sshPort)
	op.user = c.user
	marks := func() string {
		out, err := l.Exec(ctx, vm.Name, "sh", "-c", vmDomainMarks(vmkit.LicenseDomain))
		if err != nil {
			t.Fatalf("%s: %v: %s", vm.Name, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if m := marks(); !strings.Contains(m, "unit: remedy-domain-") {
		t.Fatalf("after the aspera run no refresh timer is loaded:\n%s", m)
	}
	pb := filepath.Join(t.TempDir(), "unalee.lua")
	src := fmt.Sprintf(`return { tasks = {
  { name = "unalee", run = function() firewall.remove { comment = "remedy: %s" } end },
} }`, vmkit.LicenseDomain)
	if err := os.WriteFile(pb, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"run", pb, "-l", vm.Name, "-e", "ansible_port=" + strconv.Itoa(c.sshPort)}, s.login(t, l, c)...)
	if doc, code := s.remedy(t, l, op, args...); code != 0 || doc.statuses(vm.Name) != "unalee=changed" {
		t.Fatalf("remove: exit %d, %s\n%s", code, doc.statuses(vm.Name), doc.out)
	}
	if m := marks(); m != "" {
		t.Errorf("after the removal, of allow_domain's:\n%s", m)
	}
	if err := reachLicense(ctx, l, vm.Name, 1); err == nil {
		t.Errorf("%s reachable after the removal", vmkit.LicenseDomain)
	}
	if err := l.Reboot(ctx, vm.Name, c.sshPort); err != nil {
		t.Fatal(err)
	}
	// Past the timer's OnBootSec (30 s) and a run, had it stayed enabled.
	if out, err := l.Exec(ctx, vm.Name, "sh", "-c", `while [ "$(cut -d. -f1 /proc/uptime)" -lt 50 ]; do sleep 1; done`); err != nil {
		t.Fatalf("%s: %v: %s", vm.Name, err, out)
	}
	if m := marks(); m != "" {
		t.Errorf("after the removal and a reboot, of allow_domain's:\n%s", m)
	}
	if err := reachLicense(ctx, l, vm.Name, 1); err == nil {
		t.Errorf("%s reachable after the removal and a reboot", vmkit.LicenseDomain)
	}
}
