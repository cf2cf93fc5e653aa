package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remedy/lua"
)

// An inventory Ansible would list but remedy must not dial is bad input
// for run and audit, named at its file and line, before any host is
// contacted; `remedy inventory` still shows it.
func TestHostileInventoryIsBadInputForRun(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	inv := filepath.Join(dir, "hosts.yml")
	text := "all:\n  hosts:\n    ok:\n      ansible_host: 198.18.0.5\n    bad:\n      ansible_host: \"198.18.0.6\\n* ssh-ed25519 AAAA\"\n"
	pb := filepath.Join(dir, "pb.lua")
	for name, data := range map[string]string{inv: text, pb: `return { name = "p", hosts = "all", tasks = {} }`} {
		if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	loaded, err := lua.Load(pb, lua.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = prepare(loaded, &runFlags{inventories: []string{inv}, output: "text"})
	if exitCode(err) != exitBadInput || !strings.Contains(err.Error(), inv+":6: bad: ansible_host") || strings.Contains(err.Error(), "\n") {
		t.Errorf("run: exit %d, %v; want exit %d naming %s:6, the newline escaped", exitCode(err), err, exitBadInput, inv)
	}
	if out, code := runInventory(t, "-i", inv, "--list"); code != exitOK || !strings.Contains(out, `"bad"`) {
		t.Errorf("inventory --list: exit %d\n%s", code, out)
	}
}
