package sshd

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestRevertFiles saves a file that exists and one that does not, changes
// both, and restores: the first gets its text back, the second is gone,
// and the restart line runs after them.
func TestRevertFiles(t *testing.T) {
	dir := t.TempDir()
	kept, made := filepath.Join(dir, "sshd config"), filepath.Join(dir, "it's new.conf")
	if err := os.WriteFile(kept, []byte("Port 22\nPort 33001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	save, restore := RevertFiles([]string{kept, made}, "echo restarted > "+filepath.Join(dir, "restart"))
	saves := filepath.Join(dir, "revert")
	script := "set -e; d=" + saves + "; mkdir \"$d\"; " + save + "\n" +
		"echo 'Port 33001' > '" + kept + "'; echo 'Port 33001' > \"" + made + "\"\n" + restore
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s\n%s", err, out, script)
	}
	if b, _ := os.ReadFile(kept); string(b) != "Port 22\nPort 33001\n" {
		t.Errorf("restored %q", b)
	}
	if _, err := os.Stat(made); !os.IsNotExist(err) {
		t.Errorf("the file the move created is still there: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "restart")); string(b) != "restarted\n" {
		t.Errorf("the restart line did not run: %q", b)
	}
}
