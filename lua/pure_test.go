package lua

import (
	"reflect"
	"strings"
	"testing"

	"remedy/lua/change"
)

func TestMergeVars(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		playbook, inv, extra map[string]any
		want                 map[string]any
	}{
		{"playbook only", map[string]any{"a": 1}, nil, nil, map[string]any{"a": 1}},
		{"inventory beats playbook", map[string]any{"a": 1, "b": 2}, map[string]any{"a": 10}, nil, map[string]any{"a": 10, "b": 2}},
		{"extra beats both", map[string]any{"a": 1}, map[string]any{"a": 10}, map[string]any{"a": 100}, map[string]any{"a": 100}},
		{"tables are replaced, not merged", map[string]any{"t": map[string]any{"x": 1, "y": 2}}, map[string]any{"t": map[string]any{"x": 9}}, nil, map[string]any{"t": map[string]any{"x": 9}}},
		{"empty", nil, nil, nil, map[string]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := MergeVars(tc.playbook, tc.inv, tc.extra)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	tasks := []TaskInfo{
		{Name: "a", Tags: []string{"fw"}},
		{Name: "b", Tags: []string{"ssh"}},
		{Name: "c"},
		{Name: "d", Tags: []string{"always"}},
		{Name: "e", Tags: []string{"never", "debug"}},
		{Name: "f", Tags: []string{"fw", "ssh"}},
	}
	for _, tc := range []struct {
		name       string
		tags, skip []string
		start      string
		want       string
	}{
		{"default runs all but never", nil, nil, "", "abcdf"},
		{"tags pick, always too", []string{"fw"}, nil, "", "adf"},
		{"skip removes", nil, []string{"ssh"}, "", "acd"},
		{"skip beats tags", []string{"fw"}, []string{"ssh"}, "", "ad"},
		{"never runs when named", []string{"debug"}, nil, "", "de"},
		{"all excludes never", []string{"all"}, nil, "", "abcdf"},
		{"skip always by name", nil, []string{"always"}, "", "abcf"},
		{"untagged", []string{"untagged"}, nil, "", "cd"},
		{"tagged", []string{"tagged"}, nil, "", "abdf"},
		{"start at", nil, nil, "c", "cdf"},
		{"start at with tags", []string{"ssh"}, nil, "c", "df"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := Select(tasks, tc.tags, tc.skip, tc.start)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			for i, ok := range sel {
				if ok {
					got += tasks[i].Name
				}
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := Select(tasks, nil, nil, "zzz"); err == nil {
		t.Fatal("start at an unknown task: want an error")
	}
}

func TestPlanWrite(t *testing.T) {
	cur := fileState{path: "/e/f", exists: true, content: []byte("a\n"), mode: "0600", owner: "root:root", ids: "0:0"}
	names := writeNames{priv: ".f.r", backup: "/e/f.bak"}
	// Every change makes a new file in the private directory and renames
	// it into place; an existing file keeps its numeric owner and mode.
	replace := func(mode, owner string) []string {
		steps := []string{"mkdir -m 0700 -- /e/.f.r", "write /e/.f.r/f (2 bytes)"}
		if owner != "" {
			steps = append(steps, "chown -- "+owner+" /e/.f.r/f")
		}
		return append(steps, "chmod "+mode+" /e/.f.r/f")
	}
	for _, tc := range []struct {
		name    string
		w       change.File
		cur     fileState
		relabel bool
		want    []string
	}{
		{"same content and attributes", change.File{Path: "/e/f", Content: []byte("a\n")}, cur, false, nil},
		{"same content, new mode", change.File{Path: "/e/f", Content: []byte("a\n"), Mode: "644"}, cur, false,
			append(replace("0644", "0:0"), "mv -f -T -- /e/.f.r/f /e/f")},
		{"same content, same user", change.File{Path: "/e/f", Content: []byte("a\n"), Owner: "root"}, cur, false, nil},
		{"same content, new owner", change.File{Path: "/e/f", Content: []byte("a\n"), Owner: "sshd:root"}, cur, false,
			append(replace("0600", "sshd:root"), "mv -f -T -- /e/.f.r/f /e/f")},
		{"new content keeps mode and owner, validates, backs up", change.File{Path: "/e/f", Content: []byte("b\n"), Backup: true, Validate: []string{"sshd", "-t", "-f", "%s"}}, cur, false,
			append(replace("0600", "0:0"), "sshd -t -f /e/.f.r/f", "ln -- /e/f /e/f.bak", "mv -f -T -- /e/.f.r/f /e/f")},
		{"new file gets 0644 and no backup", change.File{Path: "/e/f", Content: []byte("b\n"), Backup: true}, fileState{path: "/e/f"}, false,
			append(replace("0644", ""), "mv -f -T -- /e/.f.r/f /e/f")},
		{"SELinux: an existing file's label is copied before the rename", change.File{Path: "/e/f", Content: []byte("b\n")}, cur, true,
			append(replace("0600", "0:0"), "chcon --reference=/e/f -- /e/.f.r/f", "mv -f -T -- /e/.f.r/f /e/f")},
		{"SELinux: a new file is relabelled after the rename", change.File{Path: "/e/f", Content: []byte("b\n")}, fileState{path: "/e/f"}, true,
			append(replace("0644", ""), "mv -f -T -- /e/.f.r/f /e/f", "restorecon -- /e/f")},
		{"a link's target is written", change.File{Path: "/e/link", Content: []byte("b\n")}, cur, false,
			append(replace("0600", "0:0"), "mv -f -T -- /e/.f.r/f /e/f")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := planWrite(tc.w, tc.cur, names, tc.relabel)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			if len(p.changes) > 0 {
				got = p.planned()
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
		})
	}
	for _, bad := range []change.File{
		{Path: "/e/f", Content: []byte("b"), Mode: "rw-r--r--"},
		{Path: "/e/f", Content: []byte("b"), Validate: []string{"sshd", "-t"}},
		{Path: "/e/f", Content: []byte("b"), Owner: "-R"},
		{Path: "/e/f", Content: []byte("b"), Owner: "root; id"},
	} {
		if _, err := planWrite(bad, cur, names, false); err == nil {
			t.Errorf("planWrite(%+v): want an error", bad)
		}
	}
}

func TestPlanWriteDiff(t *testing.T) {
	p, err := planWrite(change.File{Path: "/e/f", Content: []byte("a\nc\n")}, fileState{path: "/e/f", exists: true, content: []byte("a\nb\n"), mode: "0644"}, writeNames{priv: ".t"}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := "--- /e/f\n+++ /e/f\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
	if p.diff != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", p.diff, want)
	}
}

// Captured from GNU coreutils stat -c statFormat.
func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want FileStat
	}{
		{"regular file|4755|root:root|2\n", FileStat{"file", "4755", "root:root", 2}},
		{"regular empty file|644|root:root|0\n", FileStat{"file", "0644", "root:root", 0}},
		{"symbolic link|777|root:root|1\n", FileStat{"link", "0777", "root:root", 1}},
		{"directory|755|root:root|4096\n", FileStat{"directory", "0755", "root:root", 4096}},
	} {
		got, err := ParseStat(tc.out)
		if err != nil || got != tc.want {
			t.Errorf("ParseStat(%q) = %+v, %v; want %+v", tc.out, got, err, tc.want)
		}
	}
	if _, err := ParseStat("stat: cannot statx"); err == nil {
		t.Error("garbage: want an error")
	}
}

// resolveScript's output, as the lab's hosts print it.
func TestParseResolved(t *testing.T) {
	for _, tc := range []struct{ out, path, mode, ids, err string }{
		{"exists\nregular file|640|root:adm|12|0:4\n/etc/app.conf", "/etc/app.conf", "0640", "0:4", ""},
		{"exists\nregular empty file|600|UNKNOWN:UNKNOWN|0|4321:4322\n/etc/odd|name\nwith a newline", "/etc/odd|name\nwith a newline", "0600", "4321:4322", ""},
		{"new\n\n/etc/new.conf", "/etc/new.conf", "", "", ""},
		{"exists\ndirectory|755|root:root|4096|0:0\n/etc/d", "", "", "", "/etc/x (a symbolic link to /etc/d) is a directory"},
		{"exists\nfifo|600|root:root|0|0:0\n/etc/x", "", "", "", "/etc/x is not a regular file"},
		{"untrusted\n1000\n/tmp/l", "", "", "", "/etc/x: /tmp/l is a symbolic link owned by uid 1000"},
		{"exists\nregular file|640|root:adm\n/etc/x", "", "", "", "unexpected stat output"},
		{"", "", "", "", "unexpected output while resolving it"},
	} {
		st, err := parseResolved("/etc/x", tc.out)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: got %v, want an error with %q", tc.out, err, tc.err)
			}
			continue
		}
		if err != nil || st.path != tc.path || st.mode != tc.mode || st.ids != tc.ids {
			t.Errorf("%q: got %+v, %v", tc.out, st, err)
		}
	}
}
