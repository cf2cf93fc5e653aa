package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteFileReplacesAPlantedLink: a symbolic link at a report's path
// is replaced by the report, never followed to the file it names; a
// failed write leaves the old report whole and no temporary file behind.
func TestWriteFileReplacesAPlantedLink(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "audit.html")
	if err := os.Symlink(victim, report); err != nil {
		t.Fatal(err)
	}
	if err := writeFileWith(report, func(w io.Writer) error { _, err := io.WriteString(w, "<html>"); return err }); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "precious\n" {
		t.Errorf("the link was followed: %s now holds %q", victim, got)
	}
	info, err := os.Lstat(report)
	if err != nil || !info.Mode().IsRegular() || info.Mode().Perm() != 0o644 {
		t.Errorf("%s: %v, %v; want a regular file, mode 0644", report, info.Mode(), err)
	}
	if err := writeFileWith(report, func(io.Writer) error { return errors.New("renderer broke") }); err == nil {
		t.Error("a failed write reported no error")
	}
	if got, _ := os.ReadFile(report); string(got) != "<html>" {
		t.Errorf("a failed write changed the report: %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("files left behind: %v", entries)
	}
}
