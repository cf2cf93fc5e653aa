package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseExtraVars(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "vars.yml")
	if err := os.WriteFile(yml, []byte("ssh_port: 33001\nnames: [a, b]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	js := filepath.Join(dir, "vars.json")
	if err := os.WriteFile(js, []byte(`{"keep_legacy_22": true, "ssh_port": 2222}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want map[string]any
	}{
		{[]string{"a=1 b=two"}, map[string]any{"a": "1", "b": "two"}},
		{[]string{"@" + yml}, map[string]any{"ssh_port": 33001, "names": []any{"a", "b"}}},
		{[]string{"@" + yml, "@" + js}, map[string]any{"ssh_port": 2222, "names": []any{"a", "b"}, "keep_legacy_22": true}},
		{[]string{`{"msg": "hello world"}`, "x=y"}, map[string]any{"msg": "hello world", "x": "y"}},
		{[]string{"a=b=c"}, map[string]any{"a": "b=c"}},
	}
	for _, tt := range tests {
		got, err := parseExtraVars(tt.args)
		if err != nil {
			t.Fatalf("parseExtraVars(%q): %v", tt.args, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseExtraVars(%q) = %#v, want %#v", tt.args, got, tt.want)
		}
	}
	for _, bad := range []string{"novalue", "=x", "@/does/not/exist.yml", "{not: [yaml"} {
		if _, err := parseExtraVars([]string{bad}); err == nil {
			t.Errorf("parseExtraVars(%q) accepted it", bad)
		}
	}
}

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
	loaded, err := loadPlaybook(pb, nil)
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
