package main

import (
	"strings"
	"testing"
)

// An inventory Ansible would list but remedy must not dial is bad input
// for run and audit, named at its file and line, before any host is
// contacted; `remedy inventory` still shows it.
func TestHostileInventoryIsBadInputForRun(t *testing.T) {
	f := &runFlags{}
	_, err := prepareWith(t, "all:\n  hosts:\n    ok:\n      ansible_host: 198.18.0.5\n    bad:\n      ansible_host: \"198.18.0.6\\n* ssh-ed25519 AAAA\"\n", f)
	inv := f.inventories[0]
	if exitCode(err) != exitBadInput || !strings.Contains(err.Error(), inv+":6: bad: ansible_host") || strings.Contains(err.Error(), "\n") {
		t.Errorf("run: exit %d, %v; want exit %d naming %s:6, the newline escaped", exitCode(err), err, exitBadInput, inv)
	}
	if out, code := runInventory(t, "-i", inv, "--list"); code != exitOK || !strings.Contains(out, `"bad"`) {
		t.Errorf("inventory --list: exit %d\n%s", code, out)
	}
}
