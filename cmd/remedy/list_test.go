package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

const listPlaybook = `return {
  name = "site policy", hosts = "all",
  tasks = {
    { name = "first", tags = {"fw", "ssh"}, run = function() end },
    { name = "second", tags = {"never", "debug"}, run = function() end },
    { name = "third", notify = {"restart"}, run = function() end },
  },
  handlers = { { name = "restart", run = function() end } },
  checks = { { name = "root login", tags = {"ssh"}, run = function() end } },
}`

// runRemedy runs the remedy command line args and returns its output and
// exit code.
func runRemedy(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs(args)
	defer resetFlags(t)
	err := rootCmd.Execute()
	if err != nil {
		out.WriteString("remedy: " + err.Error() + "\n")
	}
	return out.String(), exitCode(err)
}

// resetFlags puts every flag of run and audit back to its default, as
// the next test's command line would find them in a new process.
func resetFlags(t *testing.T) {
	for _, c := range rootCmd.Commands() {
		c.Flags().Visit(func(f *pflagFlag) {
			if err := f.Value.Set(f.DefValue); err != nil && f.Value.Type() != "stringSlice" && f.Value.Type() != "stringArray" {
				t.Fatalf("reset --%s: %v", f.Name, err)
			}
			if sv, ok := f.Value.(sliceValue); ok {
				sv.Replace(nil)
			}
			f.Changed = false
		})
	}
}

// The listings are ansible-playbook's, for remedy's one play, with its
// checks and handlers after the tasks; the tags select as they do for a run.
func TestListings(t *testing.T) {
	pb := filepath.Join(t.TempDir(), "pb.lua")
	if err := os.WriteFile(pb, []byte(listPlaybook), 0o600); err != nil {
		t.Fatal(err)
	}
	head := "\nplaybook: " + pb + "\n\n  play #1 (all): site policy\tTAGS: []\n"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--list-tasks"}, head + "    tasks:\n      first\tTAGS: [fw, ssh]\n      third\tTAGS: []\n" +
			"    checks:\n      root login\tTAGS: [ssh]\n    handlers:\n      restart\tTAGS: []\n"},
		{[]string{"--list-tasks", "-t", "fw"}, head + "    tasks:\n      first\tTAGS: [fw, ssh]\n    handlers:\n      restart\tTAGS: []\n"},
		{[]string{"--list-tasks", "--skip-tags", "ssh"}, head + "    tasks:\n      third\tTAGS: []\n    handlers:\n      restart\tTAGS: []\n"},
		{[]string{"--list-tags"}, head + "      TASK TAGS: [fw, ssh]\n      CHECK TAGS: [ssh]\n"},
		{[]string{"--list-tags", "--tags", "debug"}, head + "      TASK TAGS: [debug, never]\n      CHECK TAGS: []\n"},
		{[]string{"--list-hosts", "-i", "a,b,c,", "-l", "a:c"}, head + "    pattern: ['all']\n    hosts (2):\n      a\n      c\n"},
		{[]string{"--syntax-check"}, "\nplaybook: " + pb + "\n"},
	}
	for _, c := range cases {
		for _, sub := range []string{"run", "audit"} {
			out, code := runRemedy(t, append([]string{sub, pb}, c.args...)...)
			if code != exitOK || out != c.want {
				t.Errorf("%s %v: exit %d\n%s\nwant\n%s", sub, c.args, code, out, c.want)
			}
		}
	}
}

// --start-at-task naming no task, --step and a playbook with an error are
// bad input, found before any host is contacted: the inventory's one
// host listens nowhere, so a connection would make it unreachable (4).
func TestBadSelectionBeforeAnyHost(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	pb := filepath.Join(dir, "pb.lua")
	bad := filepath.Join(dir, "bad.lua")
	hosts := filepath.Join(dir, "hosts.ini")
	for name, text := range map[string]string{pb: listPlaybook, bad: `return { tasks = { { name = "x", run = function() nosuch.call() end } } }`,
		hosts: "h1 ansible_host=127.0.0.1 ansible_port=1\n"} {
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	inv := []string{"-i", hosts, "--known-hosts", filepath.Join(dir, "known_hosts"), "--accept-new-host-keys"}
	for _, args := range [][]string{
		{"run", pb, "--start-at-task", "nope"},
		{"audit", pb, "--start-at-task", "nope"},
		{"run", pb, "--step"},
		{"run", bad, "--syntax-check"},
	} {
		if args[2] == "--start-at-task" {
			// The same command line with a task that exists does connect.
			if out, code := runRemedy(t, append([]string{args[0], args[1], "--start-at-task", "third"}, inv...)...); code != exitUnreachable {
				t.Fatalf("a task that exists: exit %d, want %d\n%s", code, exitUnreachable, out)
			}
		}
		out, code := runRemedy(t, append(args, inv...)...)
		if code != exitBadInput || strings.Contains(out, "UNREACHABLE") {
			t.Errorf("%v: exit %d, want %d before any connection\n%s", args, code, exitBadInput, out)
		}
	}
}

type pflagFlag = pflag.Flag

type sliceValue interface{ Replace([]string) error }
