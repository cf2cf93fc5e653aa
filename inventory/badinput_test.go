package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// badInputs are inventories Load must refuse with an error naming the file
// and line.
var badInputs = []struct {
	name, file, text string
	line             int
	msg              string
}{
	{"invalid UTF-8", "hosts", "[web]\nweb\xff\n", 2, "UTF-8"},
	{"malformed host var", "hosts", "[web]\nweb1 novalue\n", 2, "expected key=value"},
	{"malformed vars line", "hosts", "[web]\nweb1\n[web:vars]\njust-a-word\n", 4, "expected key=value"},
	{"unclosed section", "hosts.ini", "[web\nweb1\n", 1, "unclosed range"},
	{"space in section", "hosts.ini", "[web servers]\n", 1, "invalid section"},
	{"Unicode space in section", "hosts.ini", "[web]\nw1\n[web\u00a0x]\n", 3, "invalid section"},
	{"unknown section type", "hosts.ini", "[web:hosts2]\n", 1, "unknown type"},
	{"unclosed quote", "hosts.ini", "web1 a=\"x\n", 1, "no closing quotation"},
	{"host ending in colon", "hosts.ini", "\nweb1:\n", 2, "reserved for a port"},
	{"bad range letters", "hosts.ini", "[web]\nweb[1:x]\n", 2, "bad range"},
	{"bad range order", "hosts.ini", "web[5:1]\n", 1, "begin <= end"},
	{"bad range padding", "hosts.ini", "web[01:100]\n", 1, "equal length"},
	{"bad range step", "hosts.ini", "web[1:5:0]\n", 1, "step"},
	{"unknown child", "hosts.ini", "[prod:children]\nweb\nnosuch\n[web]\nw1\n", 3, `undefined group "nosuch"`},
	{"vars for unknown group", "hosts.ini", "[ghost:vars]\na=1\n", 1, "not defined"},
	{"cycle", "hosts.ini", "[a:children]\nb\n[b:children]\na\n", 4, "cycle"},
	{"self child", "hosts.ini", "[a]\n[a:children]\na\n", 3, "child of itself"},
	{"bad child name", "hosts.ini", "[a]\n[b:children]\na b\n", 3, "expected a group name"},
	{"bad group priority", "hosts.ini", "[a]\n[a:vars]\nansible_group_priority=high\n", 3, "ansible_group_priority"},
	{"yaml hosts list", "hosts.yml", "all:\n  hosts:\n    - a\n    - b\n", 3, "hosts must be a mapping"},
	{"yaml host vars scalar", "hosts.yml", "all:\n  children:\n    web:\n      hosts:\n        h1: notamap\n", 5, "must be a mapping"},
	{"yaml group list", "hosts.yml", "all:\n  children:\n    web: [a]\n", 3, "must be a mapping"},
	{"yaml unknown key", "hosts.yml", "all:\n  host:\n    a:\n", 2, `unexpected key "host"`},
	{"yaml numeric host", "hosts.yml", "all:\n  hosts:\n    1234:\n", 3, "must be a string"},
	{"yaml syntax", "hosts.yml", "all:\n  hosts:\n    a: [\n", 3, "YAML"},
	{"yaml cycle", "hosts.yml", "all:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n", 5, "cycle"},
	{"yaml plugin config", "inv.yml", "plugin: aws_ec2\n", 1, "plugin"},
	{"yaml two documents", "hosts.yml", "all:\n---\nall:\n", 2, "single YAML document"},
	{"yaml bad tag", "hosts.yml", "all:\n  vars:\n    a: !vault |\n      xyz\n", 3, "unsupported YAML tag"},
}

func TestBadInputNamesFileAndLine(t *testing.T) {
	for _, tc := range badInputs {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load([]string{path})
			checkError(t, err, path, tc.line, tc.msg)
		})
	}
}

func checkError(t *testing.T, err error, file string, line int, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Load: want *Error, got %v", err)
	}
	if e.File != file || e.Line != line || !strings.Contains(e.Msg, msg) {
		t.Errorf("Load: got %v, want %s:%d: ...%s...", err, file, line, msg)
	}
	if !strings.HasPrefix(err.Error(), file) {
		t.Errorf("error %q does not start with the file name", err)
	}
}

func TestBadVarsFiles(t *testing.T) {
	cases := []struct {
		name, file, text string
		line             int
		msg              string
	}{
		{"syntax", "group_vars/web.yml", "a: 1\nb: [\n", 2, "YAML"},
		{"list", "group_vars/all", "- a\n- b\n", 1, "must be a mapping"},
		{"in a directory", "host_vars/w1/10.yml", "ok: 1\n\n  bad: indent\n", 3, "YAML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"hosts.ini": "[web]\nw1\n", tc.file: tc.text})
			_, err := Load([]string{filepath.Join(dir, "hosts.ini")})
			checkError(t, err, filepath.Join(dir, tc.file), tc.line, tc.msg)
		})
	}
}

func TestUnreadableSources(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.ini")
	if _, err := Load([]string{missing}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: got %v", err)
	}
	link := filepath.Join(dir, "inv", "dangling")
	writeFiles(t, dir, map[string]string{"inv/a": "[web]\nw1\n"})
	if err := os.Symlink(filepath.Join(dir, "nowhere"), link); err != nil {
		t.Fatal(err)
	}
	if _, err := Load([]string{filepath.Join(dir, "inv")}); err == nil || !strings.Contains(err.Error(), link) {
		t.Errorf("dangling link in an inventory directory: got %v", err)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestYAMLErrorsPointInsideValues(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"hosts.yml":           "all:\n  vars:\n    a: 1\n    deep:\n      list:\n        - !vault |\n          x\n",
		"more/hosts.yml":      "all:\n  hosts:\n    h1:\n",
		"more/group_vars/all": "x:\n  <<: [1]\n",
	})
	_, err := Load([]string{filepath.Join(dir, "hosts.yml")})
	checkError(t, err, filepath.Join(dir, "hosts.yml"), 6, "unsupported YAML tag")
	_, err = Load([]string{filepath.Join(dir, "more", "hosts.yml")})
	checkError(t, err, filepath.Join(dir, "more", "group_vars", "all"), 2, "merge key")
}
