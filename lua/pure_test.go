package lua

import (
	"os"
	"reflect"
	"regexp"
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

func TestRender(t *testing.T) {
	vars := map[string]any{
		"port": int64(33001), "name": "hsts", "on": true, "ratio": 0.5,
		"svc": map[string]any{"ports": []any{int64(22), int64(33001)}},
	}
	for _, tc := range []struct{ tmpl, want, err string }{
		{"Port {{ port }}", "Port 33001", ""},
		{"{{name}}:{{ port }}", "hsts:33001", ""},
		{"{{ svc.ports.2 }}", "33001", ""},
		{"{{ on }} {{ ratio }}", "true 0.5", ""},
		{"no placeholders {", "no placeholders {", ""},
		{"{{ missing }}", "", `no variable "missing"`},
		{"{{ svc.ports.3 }}", "", "not an index"},
		{"{{ svc }}", "", "is a table"},
		{"{{ port | quote }}", "", "is not a variable name"},
	} {
		got, err := Render(tc.tmpl, vars)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Render(%q): error %v, want %q", tc.tmpl, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Render(%q) = %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
}

func TestEditLines(t *testing.T) {
	re := regexp.MustCompile
	cfg := "#PermitRootLogin prohibit-password\nPort 22\nMatch User backup\n  PermitRootLogin yes\n"
	for _, tc := range []struct {
		name, in string
		e        LineEdit
		want     string
	}{
		{"replace first match", cfg, LineEdit{Regexp: re(`^#?PermitRootLogin`), Line: "PermitRootLogin no"},
			"PermitRootLogin no\nPort 22\nMatch User backup\n  PermitRootLogin yes\n"},
		{"already there", "PermitRootLogin no\n", LineEdit{Regexp: re(`^#?PermitRootLogin`), Line: "PermitRootLogin no"}, "PermitRootLogin no\n"},
		{"already there without final newline", "a\nb", LineEdit{Line: "b"}, "a\nb"},
		{"append at end", "a\n", LineEdit{Line: "b"}, "a\nb\n"},
		{"insert before Match", cfg, LineEdit{Regexp: re(`^PasswordAuthentication`), Line: "PasswordAuthentication no", InsertBefore: `^Match`},
			"#PermitRootLogin prohibit-password\nPort 22\nPasswordAuthentication no\nMatch User backup\n  PermitRootLogin yes\n"},
		{"insert after last match", "Port 22\nX 1\nPort 2222\n", LineEdit{Line: "Port 33001", InsertAfter: `^Port`}, "Port 22\nX 1\nPort 2222\nPort 33001\n"},
		{"insert at BOF", "a\n", LineEdit{Line: "z", InsertAfter: "BOF"}, "z\na\n"},
		{"insertafter without match goes to end", "a\n", LineEdit{Line: "z", InsertAfter: "^nothing"}, "a\nz\n"},
		{"absent by regexp", "Port 22\nPort 33001\nX\n", LineEdit{Regexp: re(`^Port 22$`), Absent: true}, "Port 33001\nX\n"},
		{"absent by line", "a\nb\na\n", LineEdit{Line: "a", Absent: true}, "b\n"},
		{"empty file", "", LineEdit{Line: "a"}, "a\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EditLines(tc.in, tc.e)
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
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
		want statInfo
	}{
		{"regular file|4755|root:root|2\n", statInfo{"file", "4755", "root:root", 2}},
		{"regular empty file|644|root:root|0\n", statInfo{"file", "0644", "root:root", 0}},
		{"symbolic link|777|root:root|1\n", statInfo{"link", "0777", "root:root", 1}},
		{"directory|755|root:root|4096\n", statInfo{"directory", "0755", "root:root", 4096}},
	} {
		got, err := parseStat(tc.out)
		if err != nil || got != tc.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v", tc.out, got, err, tc.want)
		}
	}
	if _, err := parseStat("stat: cannot statx"); err == nil {
		t.Error("garbage: want an error")
	}
}

func TestParseAhosts(t *testing.T) {
	for file, want := range map[string][]string{
		"testdata/getent/ahosts-localhost.txt": {"127.0.0.1"},
		"testdata/getent/ahosts-multi.txt":     {"198.18.0.9", "198.18.0.10", "2001:db8::9"},
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if got := parseAhosts(string(b)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", file, got, want)
		}
	}
}

func TestServiceCommand(t *testing.T) {
	s := service{name: "ssh", pidfile: "/run/sshd.pid", signal: "HUP"}
	for _, tc := range []struct {
		init, action, want string
	}{
		{"systemd", "reload", "systemctl reload -- ssh"},
		{"sysv", "restart", "service ssh restart"},
		{"none", "reload", "sh -c " + signalScript + " sh /run/sshd.pid HUP"},
		{"none", "restart", "error"},
		{"upstart", "reload", "error"},
	} {
		argv, err := serviceCommand(tc.init, tc.action, s)
		got := strings.Join(argv, " ")
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("%s %s: got %q, want %q", tc.init, tc.action, got, tc.want)
		}
	}
}

func TestEditLinesRefusesNonIdempotentEdits(t *testing.T) {
	for _, e := range []LineEdit{
		{Regexp: regexp.MustCompile(`^Port`), Line: "Listen 1"},
		{Line: "two\nlines"},
	} {
		if _, err := EditLines("Port 1\n", e); err == nil {
			t.Errorf("%+v: want an error", e)
		}
	}
}

// Applying the same edit twice changes nothing the second time: file.line
// reports ok on a repeated run.
func FuzzEditLinesIdempotent(f *testing.F) {
	f.Add("#PermitRootLogin yes\nPort 22\nMatch all\n", `^#?PermitRootLogin`, "PermitRootLogin no", false, "BOF", "")
	f.Add("a\nb\na\n", "", "a", true, "", "")
	f.Add("x", `^P`, "Port 1", false, "", "^Match")
	f.Fuzz(func(t *testing.T, content, pattern, line string, absent bool, after, before string) {
		e := LineEdit{Line: line, Absent: absent, InsertAfter: after, InsertBefore: before}
		if pattern != "" {
			re, err := regexp.Compile(pattern)
			if err != nil {
				return
			}
			e.Regexp = re
		}
		once, err := EditLines(content, e)
		if err != nil {
			return
		}
		twice, err := EditLines(once, e)
		if err != nil || twice != once {
			t.Fatalf("second edit: %q, %v; first gave %q", twice, err, once)
		}
	})
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
