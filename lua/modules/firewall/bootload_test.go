package firewall

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"remedy/lua/firewall"
)

// The batch loads an nft boot file into a scratch namespace only where a
// link enables nftables.service at boot, and says so where it did not:
// the real script, with real unshare and nft, in a mount namespace whose
// /etc/systemd/system has the link or not.
func TestBootLoadOnlyWhereEnabled(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for mount and network namespaces")
	}
	for _, f := range firewall.DefaultBootFiles {
		if f.Format == firewall.FormatNft && slices.ContainsFunc(bootWarm(), func(r []string) bool { return slices.Equal(r, nftScratchLoad(f.Path)) }) {
			t.Errorf("the batch loads %s whatever firewall governs", f.Path)
		}
	}
	file := filepath.Join(t.TempDir(), "nftables.conf")
	if err := os.WriteFile(file, []byte("table inet remedy_boot_test {\n\tchain input { type filter hook input priority 0; }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, link string
		exit       int
	}{
		{"not enabled", "", notEnabled},
		{"wanted by sysinit.target", "sysinit.target.wants", 0},
		{"required by multi-user.target", "multi-user.target.requires", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			host := `set -e; mount -t tmpfs tmpfs /etc/systemd/system
[ -z "$LINK" ] || { mkdir "/etc/systemd/system/$LINK"; ln -s /lib/systemd/system/nftables.service "/etc/systemd/system/$LINK/"; }
exec "$@"`
			argv := append([]string{"unshare", "-m", "--propagation", "private", "sh", "-c", host, "sh"}, nftBootLoad(file)...)
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = append(os.Environ(), "LINK="+tt.link)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			var exit *exec.ExitError
			code := 0
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			loaded := bytes.Contains(out, []byte(`"name": "remedy_boot_test"`))
			if code != tt.exit || loaded != (tt.exit == 0) {
				t.Errorf("exit %d, loaded %v, want exit %d; stdout %q, stderr %q", code, loaded, tt.exit, out, stderr.String())
			}
		})
	}
}
