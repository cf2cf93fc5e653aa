package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remedy/runner/recap"
)

// runInventory runs `remedy inventory ARGS` and returns its output and exit
// code.
func runInventory(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newInventoryCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), exitCode(err)
}

func TestInventoryCommand(t *testing.T) {
	inv := filepath.Join("..", "..", "inventory", "testdata", "patterns.ini")
	cases := []struct {
		name string
		args []string
		code int
		want string
		// absent must not be in the output.
		absent string
	}{
		{"list", []string{"-i", inv, "--list"}, exitOK, `"ungrouped": {`, ""},
		{"list limited", []string{"-i", inv, "--list", "-l", "db"}, exitOK, `"db2"`, `"web1"`},
		{"graph group", []string{"-i", inv, "--graph", "prod"}, exitOK, "@prod:\n  |--@web:\n  |  |--web1\n", ""},
		{"host", []string{"-i", "h1,h2:2200,", "--host", "h2"}, exitOK, `"ansible_port": 2200`, ""},
		{"no action", []string{"-i", inv}, exitBadInput, "", ""},
		{"two actions", []string{"-i", inv, "--list", "--graph"}, exitBadInput, "", ""},
		{"no inventory", []string{"--list"}, exitBadInput, "", ""},
		{"unknown host", []string{"-i", inv, "--host", "nope"}, exitBadInput, "", ""},
		{"graph of a host", []string{"-i", inv, "--graph", "web1"}, exitBadInput, "", ""},
		{"bad pattern", []string{"-i", inv, "--list", "-l", "~web("}, exitBadInput, "", ""},
	}
	for _, tc := range cases {
		out, code := runInventory(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) || tc.absent != "" && strings.Contains(out, tc.absent) {
			t.Errorf("%s: exit %d, want %d; output:\n%s", tc.name, code, tc.code, out)
		}
	}
}

func TestInventoryBadInputExits5(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "hosts.ini")
	if err := os.WriteFile(bad, []byte("[web]\nweb1\n[prod:children]\nnosuch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := newInventoryCmd()
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetArgs([]string{"-i", bad, "--list"})
	err := cmd.Execute()
	if exitCode(err) != exitBadInput {
		t.Fatalf("exit code %d, want %d (err %v)", exitCode(err), exitBadInput, err)
	}
	if want := bad + ":4:"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
}

// TestInventoryNamesShownVisibly: a host or group name from an inventory
// file reaches the terminal with its controls escaped, in every view, and
// --list stays JSON.
func TestInventoryNamesShownVisibly(t *testing.T) {
	inv := filepath.Join(t.TempDir(), "hosts.yml")
	text := "all:\n  children:\n    \"web\\e]0;owned\\a\":\n      hosts:\n        \"h1\\eM\\u202e\":\n          ansible_host: 198.18.0.5\n          note: \"\\u009b31m\"\n"
	if err := os.WriteFile(inv, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--graph", "--vars"}, {"--list"}, {"--host", "h1*"}} {
		out, code := runInventory(t, append([]string{"-i", inv}, args...)...)
		if code != exitOK || strings.ContainsAny(out, "\x1b\a\u202e\u009b") {
			t.Errorf("%v: exit %d, controls reach the terminal: %q", args, code, out)
		}
		if args[0] != "--graph" && !json.Valid([]byte(out)) {
			t.Errorf("%v: not JSON any more: %q", args, out)
		}
	}
}

func TestReportMovedPortsShownVisibly(t *testing.T) {
	inv := loadInventory(t, "h1,")
	r := recap.Recap{Hosts: []recap.HostReport{{Host: "h\x1b[2J", MovedPort: 33001}}}
	var out bytes.Buffer
	reportMovedPorts(&out, r, inv, false)
	if strings.Contains(out.String(), "\x1b") {
		t.Errorf("a host name's escape reaches the terminal: %q", out.String())
	}
}
