package main

import (
	"os"
	"path/filepath"
	"reflect"
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
