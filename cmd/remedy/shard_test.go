package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"remedy/runner/shard"
)

// A bad --shard is bad input (exit 5) before any host is contacted, in
// run, audit and --list-hosts alike; a good one on the same command line
// does connect.
func TestBadShardBeforeAnyHost(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	pb := filepath.Join(dir, "pb.lua")
	hosts := filepath.Join(dir, "hosts.ini")
	writeFiles(t, map[string]string{pb: listPlaybook, hosts: "h1 ansible_host=127.0.0.1 ansible_port=1\n"})
	inv := []string{"-i", hosts, "--known-hosts", filepath.Join(dir, "known_hosts"), "--accept-new-host-keys"}
	if out, code := runRemedy(t, append([]string{"audit", pb, "--shard", "1/1"}, inv...)...); code != exitUnreachable {
		t.Fatalf("--shard 1/1: exit %d, want %d\n%s", code, exitUnreachable, out)
	}
	for _, spec := range []string{"0/3", "4/3", "a/b", "1/0", "3", "-1/3", "1/3/3"} {
		for _, cmd := range [][]string{{"run", pb}, {"audit", pb}, {"run", pb, "--list-hosts"}} {
			args := append(append(cmd, "--shard", spec), inv...)
			out, code := runRemedy(t, args...)
			if code != exitBadInput || strings.Contains(out, "UNREACHABLE") || !strings.Contains(out, "--shard") {
				t.Errorf("%v: exit %d, want %d naming --shard, before any connection\n%s", args, code, exitBadInput, out)
			}
		}
	}
}

// The N shards of a selection, as --list-hosts shows them with --limit,
// split it exactly: each host of the limit in one shard, the one its
// name hashes to.
func TestShardListHosts(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	pb := filepath.Join(dir, "pb.lua")
	hosts := filepath.Join(dir, "hosts.ini")
	var ini strings.Builder
	ini.WriteString("[web]\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&ini, "web%02d\n", i)
	}
	ini.WriteString("[db]\ndb1\ndb2\n")
	writeFiles(t, map[string]string{pb: listPlaybook, hosts: ini.String()})
	var union []string
	for k := 1; k <= 3; k++ {
		spec := fmt.Sprintf("%d/3", k)
		out, code := runRemedy(t, "run", pb, "-i", hosts, "--limit", "web", "--shard", spec, "--list-hosts")
		if code != 0 {
			t.Fatalf("--shard %s: exit %d\n%s", spec, code, out)
		}
		listed := listedHosts(out)
		for _, h := range listed {
			if !strings.HasPrefix(h, "web") || shard.Of(h, 3) != k {
				t.Errorf("--shard %s lists %s (limit web, its shard %d)", spec, h, shard.Of(h, 3))
			}
		}
		if !strings.Contains(out, fmt.Sprintf("hosts (%d):", len(listed))) {
			t.Errorf("--shard %s: the count is not the hosts listed\n%s", spec, out)
		}
		union = append(union, listed...)
	}
	slices.Sort(union)
	if len(union) != 30 || len(slices.Compact(slices.Clone(union))) != 30 {
		t.Errorf("the 3 shards list %d hosts (%v), want the 30 web hosts once each", len(union), union)
	}
}

// --summary-only shapes text: with -o json or junit it is bad input.
func TestSummaryOnlyNeedsText(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	pb := filepath.Join(dir, "pb.lua")
	writeFiles(t, map[string]string{pb: listPlaybook})
	for _, o := range []string{"json", "junit"} {
		out, code := runRemedy(t, "audit", pb, "-i", "127.0.0.1,", "-e", "ansible_port=1", "--summary-only", "-o", o)
		if code != exitBadInput || !strings.Contains(out, "--summary-only") {
			t.Errorf("-o %s --summary-only: exit %d, want %d\n%s", o, code, exitBadInput, out)
		}
	}
}

func listedHosts(out string) []string {
	_, list, _ := strings.Cut(out, "):\n")
	return strings.Fields(list)
}

func writeFiles(t *testing.T, files map[string]string) {
	t.Helper()
	for name, text := range files {
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A shard that holds none of the selected hosts runs on none: exit 0 and
// a document with no host, which merges with the other shards'.
func TestEmptyShard(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	pb := filepath.Join(dir, "pb.lua")
	writeFiles(t, map[string]string{pb: listPlaybook})
	// h1 is in shard 1 of 3 (runner's TestShardStableWhenHostsAdded).
	out, code := runRemedy(t, "audit", pb, "-i", "h1,", "-e", "ansible_host=127.0.0.1 ansible_port=1", "--shard", "2/3", "-o", "json")
	if code != exitOK || !strings.Contains(out, `"hosts": []`) || !strings.Contains(out, `"shard": "2/3"`) {
		t.Errorf("an empty shard: exit %d, want 0 and no host\n%s", code, out)
	}
}
