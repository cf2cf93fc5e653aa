package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// An inventory that is a symbolic link: the file it points to is
// rewritten, keeping its mode and its (non-root) owner, and the link stays
// a link; nothing is left beside either.
func TestSetPortThroughSymlinkKeepsModeAndOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the inventory another owner")
	}
	dir := t.TempDir()
	real := filepath.Join(dir, "shared", "hosts.ini")
	if err := os.Mkdir(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("[web]\nweb1\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(real, 4321, 4322); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "hosts.ini")
	if err := os.Symlink("shared/hosts.ini", link); err != nil {
		t.Fatal(err)
	}
	if err := SetPort(link, "web1", 2022); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(real); string(got) != "[web]\nweb1 ansible_port=2022\n" {
		t.Errorf("the link's target holds %q", got)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the inventory link is no longer a link: %v, %v", st.Mode(), err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(real, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o640 || st.Uid != 4321 || st.Gid != 4322 {
		t.Errorf("the inventory is mode %o, owner %d:%d; want 640, 4321:4322", st.Mode&0o7777, st.Uid, st.Gid)
	}
	onlyEntries(t, dir, "hosts.ini", "shared")
	onlyEntries(t, filepath.Dir(real), "hosts.ini")
}

// Runs that update one inventory at the same time wait for each other's
// lock, and each reads what the one before it wrote: no update is lost.
func TestSetPortConcurrentWritersAllLand(t *testing.T) {
	const hosts = 12
	dir := t.TempDir()
	path := filepath.Join(dir, "hosts.ini")
	var b strings.Builder
	b.WriteString("[web]\n")
	for i := range hosts {
		fmt.Fprintf(&b, "web%d\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, hosts)
	for i := range hosts {
		wg.Go(func() {
			<-start
			errs[i] = SetPort(path, fmt.Sprintf("web%d", i), 2000+i)
		})
	}
	close(start)
	wg.Wait()
	inv, err := Load([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	for i := range hosts {
		name := fmt.Sprintf("web%d", i)
		if errs[i] != nil {
			t.Errorf("%s: %v", name, errs[i])
		} else if got := inv.hosts[name].Conn().Port; got != 2000+i {
			t.Errorf("%s: port %d, want %d (an update was lost)", name, got, 2000+i)
		}
	}
	onlyEntries(t, dir, "hosts.ini")
}

// onlyEntries fails unless dir holds exactly names: no temporary file.
func onlyEntries(t *testing.T, dir string, names ...string) {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err := d.Readdirnames(-1)
	slices.Sort(got)
	if err != nil || !slices.Equal(got, names) {
		t.Errorf("%s holds %q, %v; want %q", dir, got, err, names)
	}
}
