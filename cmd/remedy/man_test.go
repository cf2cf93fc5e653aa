package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The man pages come from the commands' own flags and help.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetArgs([]string{"man", "--dir", dir})
	t.Cleanup(func() { rootCmd.SetArgs(nil); rootCmd.SetOut(nil) })
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "remedy-run.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".TH \"REMEDY\" \"1\"", "--update-inventory", `\fB--accept-new-host-keys\fP`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("remedy-run.1 lacks %q", want)
		}
	}
	for _, name := range []string{"remedy.1", "remedy-audit.1", "remedy-inventory.1", "remedy-lint.1", "remedy-doc.1"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("no %s: %v", name, err)
		}
	}
}
