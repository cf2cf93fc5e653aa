package lua

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The user resolveScript trusts besides root is the one it runs as, read
// by the shell from /proc: a link that user owns is followed for it, and
// not for root.
func TestResolveTrustsTheUserItRunsAs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run as another user")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs setpriv (util-linux)")
	}
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	target, link := filepath.Join(dir, "app.conf"), filepath.Join(dir, "link")
	if err := os.WriteFile(target, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, 4321, 4321); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		as   []string
		want string
	}{
		{"root", nil, "untrusted\n4321\n" + link},
		{"the link's owner", []string{"setpriv", "--reuid=4321", "--regid=4321", "--clear-groups"}, "exists\n"},
	} {
		argv := append(tc.as, fileStateArgv(link)...)
		out, err := exec.Command(argv[0], argv[1:]...).Output()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !strings.HasPrefix(string(out), tc.want) {
			t.Errorf("%s: %q, want it to start with %q", tc.name, out, tc.want)
		}
		if tc.want == "exists\n" && !strings.HasSuffix(string(out), "\n"+target) {
			t.Errorf("%s: %q, want it to end at %s", tc.name, out, target)
		}
	}
}
