package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
