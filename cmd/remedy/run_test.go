package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"remedy/inventory"
	"remedy/runner"
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

func TestInventorySettingsLeaveDefaultsToSSHConfig(t *testing.T) {
	got := inventorySettings("web1", inventory.Conn{Addr: "web1", Port: 22, User: "u", ProxyJump: []string{"b"}})
	want := runner.Settings{User: "u", ProxyJump: []string{"b"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("inventorySettings = %+v, want %+v", got, want)
	}
	got = inventorySettings("web1", inventory.Conn{Addr: "198.18.0.2", Port: 2222})
	if got.Addr != "198.18.0.2" || got.Port != 2222 {
		t.Errorf("explicit address and port lost: %+v", got)
	}
}

func TestBecomeFor(t *testing.T) {
	typed := &secrets{becomePassword: "typed"}
	tests := []struct {
		name string
		conn inventory.Conn
		f    runFlags
		want *runner.Become
	}{
		{"off", inventory.Conn{}, runFlags{}, nil},
		{"-b with -K", inventory.Conn{}, runFlags{become: true, becomeUser: "app"}, &runner.Become{User: "app", Password: "typed"}},
		{"inventory wins", inventory.Conn{Become: true, BecomeUser: "db", BecomePassword: "inv"}, runFlags{becomeUser: "app"},
			&runner.Become{User: "db", Password: "inv"}},
	}
	for _, tt := range tests {
		if got := becomeFor(tt.conn, &tt.f, typed); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: becomeFor = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
