package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestParseKeyValuesAsAnsible replays strings through parseKeyValues and
// compares with what ansible-core 2.14's parse_kv made of the same
// strings (testdata/parse_kv.json). Where Ansible keeps _raw_params or
// fails, remedy must refuse.
func TestParseKeyValuesAsAnsible(t *testing.T) {
	data, err := os.ReadFile("testdata/parse_kv.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		In    string            `json:"in"`
		Want  map[string]string `json:"want"`
		Error string            `json:"error"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		got := map[string]any{}
		err := parseKeyValues(c.In, got)
		_, raw := c.Want["_raw_params"]
		if c.Error != "" || raw {
			if err == nil {
				t.Errorf("%q: accepted as %v; Ansible: %s%v", c.In, got, c.Error, c.Want)
			}
			continue
		}
		want := map[string]any{}
		for k, v := range c.Want {
			want[k] = v
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v, %v; Ansible: %#v", c.In, got, err, want)
		}
	}
}

func TestParseExtraVars(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	yml := write("vars.yml", "ssh_port: 33001\nnames: [a, b]\nkeep_legacy_22: no\nforce: on\nmode: 0755\nquoted: \"yes\"\nratio: 1e3\n")
	js := write("vars.json", `{"keep_legacy_22": true, "ssh_port": 2222}`)
	empty := write("empty.yml", "# nothing\n")
	tests := []struct {
		args []string
		want map[string]any
	}{
		{[]string{"a=1 b=two"}, map[string]any{"a": "1", "b": "two"}},
		// As group_vars: YAML 1.1 booleans and octal, a quoted "yes" and
		// 1e3 (no dot) stay strings.
		{[]string{"@" + yml}, map[string]any{"ssh_port": 33001, "names": []any{"a", "b"}, "keep_legacy_22": false,
			"force": true, "mode": 493, "quoted": "yes", "ratio": "1e3"}},
		{[]string{"@" + yml, "@" + js}, map[string]any{"ssh_port": 2222, "names": []any{"a", "b"}, "keep_legacy_22": true,
			"force": true, "mode": 493, "quoted": "yes", "ratio": "1e3"}},
		{[]string{`{"msg": "hello world"}`, "x=y"}, map[string]any{"msg": "hello world", "x": "y"}},
		{[]string{"{flag: off}"}, map[string]any{"flag": false}},
		{[]string{`msg="hello world" n=3`}, map[string]any{"msg": "hello world", "n": "3"}},
		{[]string{"a=b=c", ""}, map[string]any{"a": "b=c"}},
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
	for _, bad := range []string{"novalue", "=x", "@/does/not/exist.yml", "{not: [yaml", "@" + empty, "[1, 2]",
		"./vars.yml", `msg="open`, " key = value"} {
		if _, err := parseExtraVars([]string{bad}); err == nil || !strings.HasPrefix(err.Error(), "-e ") {
			t.Errorf("parseExtraVars(%q): %v, want an error naming -e", bad, err)
		}
	}
}

// -e connection variables win over the inventory's, as in Ansible, and a
// bad one is bad input named as from -e, not at the inventory line.
func TestExtraConnectionVarsWin(t *testing.T) {
	f := &runFlags{extraVars: []string{
		"ansible_port=2222 ansible_user=root ansible_host=198.18.0.6 ansible_ssh_private_key_file=/e/key"}}
	setup, err := prepareWith(t, "h1 ansible_host=198.18.0.5 ansible_port=2200 ansible_user=nobody ansible_ssh_private_key_file=/inv/key\n", f)
	if err != nil {
		t.Fatal(err)
	}
	got := setup.hosts[0].Target
	if got.Port != 2222 || got.User != "root" || got.Addr != "198.18.0.6" || !reflect.DeepEqual(got.KeyFiles, []string{"/e/key"}) {
		t.Errorf("-e did not win: %+v", got)
	}
	for _, bad := range []string{"ansible_port=abc", "ansible_port=0", "ansible_user=-oProxyCommand=x"} {
		f.extraVars = []string{bad}
		_, err := prepareWith(t, "h1 ansible_host=198.18.0.5 ansible_port=2200\n", f)
		if exitCode(err) != exitBadInput || !strings.HasPrefix(err.Error(), "-e: h1: ") || strings.Contains(err.Error(), f.inventories[0]) {
			t.Errorf("-e %s: exit %d, %v; want exit %d, the error naming -e", bad, exitCode(err), err, exitBadInput)
		}
	}
}
