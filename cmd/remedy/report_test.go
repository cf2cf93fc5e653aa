package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remedy/lua/remote"
	"remedy/runner/output"
	"remedy/runner/recap"
	"remedy/runner/shard"
)

// shardFiles writes the -o json of --shard k/3 runs of one audit of nine
// hosts (each ok, drifting, failing or unreachable) and returns their
// paths and the document of the unsharded run.
func shardFiles(t *testing.T, dir string, outcomes map[string]remote.Status) (files []string, whole []byte) {
	t.Helper()
	started := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	play := recap.Play{Name: "fleet audit", Path: "site.lua", Check: true, Diff: true, Audit: true, Started: started,
		Provenance: recap.Provenance{PlaybookSHA256: "ab12", CommandLine: []string{"audit", "site.lua", "-i", "hosts.ini", "-o", "json"}}}
	all := recap.Recap{Play: play, Duration: 3 * time.Second}
	for i := 1; i <= 9; i++ {
		name := fmt.Sprintf("h%d", i)
		status := outcomes[name]
		if status == "" {
			status = remote.StatusOK
		}
		h := recap.HostReport{Host: name, Duration: time.Second,
			Results: []remote.Result{{Host: name, Kind: remote.KindCheck, Name: "policy", Status: status, Msg: name + " " + string(status)}}}
		switch status {
		case remote.StatusUnreachable:
			h.Unreachable, h.Stats.Unreachable = true, 1
		case remote.StatusFailed:
			h.Stats.Failed = 1
		default:
			h.Stats.OK = 1
		}
		all.Play.Hosts = append(all.Play.Hosts, name)
		all.Hosts = append(all.Hosts, h)
	}
	var buf bytes.Buffer
	if err := output.WriteJSON(&buf, all); err != nil {
		t.Fatal(err)
	}
	whole = bytes.Clone(buf.Bytes())
	for k := 1; k <= 3; k++ {
		part := all
		part.Play.Hosts, part.Hosts = nil, nil
		part.Play.Provenance.Shard = fmt.Sprintf("%d/3", k)
		part.Play.Provenance.CommandLine = []string{"audit", "site.lua", "-i", "hosts.ini", "--shard", part.Play.Provenance.Shard, "-o", "json"}
		for _, h := range all.Hosts {
			if shard.Of(h.Host, 3) == k {
				part.Play.Hosts = append(part.Play.Hosts, h.Host)
				part.Hosts = append(part.Hosts, h)
			}
		}
		buf.Reset()
		if err := output.WriteJSON(&buf, part); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, fmt.Sprintf("shard-%d.json", k))
		if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}
	return files, whole
}

// The merged -o json of three shards is the unsharded run's document, and
// the exit code is the worst shard's.
func TestReportMerge(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		outcomes map[string]remote.Status
		code     int
	}{
		{nil, exitOK},
		{map[string]remote.Status{"h2": remote.StatusFailed}, exitDrift},
		{map[string]remote.Status{"h2": remote.StatusFailed, "h7": remote.StatusUnreachable}, exitUnreachable},
	} {
		files, whole := shardFiles(t, dir, tc.outcomes)
		out, code := runRemedy(t, append([]string{"report", "merge", "-o", "json"}, files...)...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.outcomes, code, tc.code, out)
		}
		got, _, _ := strings.Cut(out, "remedy: ")
		if got != string(whole) {
			t.Errorf("%v: merged document differs from the unsharded run's:\n%s\nwant\n%s", tc.outcomes, got, whole)
		}
	}
}

// -o text prints the failures with their messages and the recap;
// --report writes the merged report or, for .json, the merged document.
func TestReportMergeTextAndReport(t *testing.T) {
	dir := t.TempDir()
	files, whole := shardFiles(t, dir, map[string]remote.Status{"h3": remote.StatusFailed, "h5": remote.StatusUnreachable})
	md, js := filepath.Join(dir, "fleet.md"), filepath.Join(dir, "fleet.json")
	for _, report := range []string{md, js} {
		out, code := runRemedy(t, append([]string{"report", "merge", "-o", "text", "--report", report}, files...)...)
		if code != exitUnreachable {
			t.Errorf("exit %d, want %d\n%s", code, exitUnreachable, out)
		}
		for _, want := range []string{"CHECK [policy] ***", "fatal: [h3]: FAILED! => h3 failed", "fatal: [h5]: UNREACHABLE! => h5 unreachable",
			"PLAY RECAP ***", "h9                         : ok=1 "} {
			if !strings.Contains(out, want) {
				t.Errorf("merge -o text lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "h1 ok") {
			t.Errorf("merge -o text shows a host that passed:\n%s", out)
		}
	}
	out, code := runRemedy(t, append([]string{"report", "merge", "-o", "junit", "--report="}, files...)...)
	if code != exitUnreachable || strings.Count(out, "<testsuite ") != 9 || !strings.Contains(out, `type="unreachable"`) {
		t.Errorf("merge -o junit: exit %d, want %d and a suite per host\n%s", code, exitUnreachable, out)
	}
	if b, err := os.ReadFile(js); err != nil || string(b) != string(whole) {
		t.Errorf("--report fleet.json: %v\n%s\nwant\n%s", err, b, whole)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fleet audit", "h3", "h5", "h9"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("--report fleet.md lacks %q", want)
		}
	}
	if strings.Contains(string(b), "--shard") {
		t.Errorf("the merged report's command line keeps --shard:\n%s", b)
	}
}

// What cannot be merged is bad input (exit 5), the message naming the
// file; a missing shard fails the merge after printing it, unless
// --partial, which says on stderr which shard the merge lacks.
func TestReportMergeRefuses(t *testing.T) {
	dir := t.TempDir()
	files, _ := shardFiles(t, dir, nil)
	write := func(name string, edit func(map[string]any)) string {
		b, err := os.ReadFile(files[1])
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		edit(doc)
		if b, err = json.Marshal(doc); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	v2 := write("v2.json", func(d map[string]any) { d["schema_version"] = 2 })
	other := write("other.json", func(d map[string]any) { d["playbook"] = "another"; d["shard"] = "" })
	overlap := write("overlap.json", func(d map[string]any) { d["shard"] = "" })
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{files[0], v2}, v2 + ": schema_version 2: this remedy reads version 1"},
		{[]string{files[0], other}, other + `: playbook "another"`},
		{[]string{files[0], files[1], overlap}, overlap + ": host "},
		{[]string{files[0], files[0]}, files[0] + ": shard 1/3 again"},
		{[]string{files[0], filepath.Join(dir, "nosuch.json")}, "nosuch.json: no such file"},
		{[]string{files[0], "-o", "xml"}, `-o "xml": want text, json or junit`},
		{[]string{files[0], "--report", filepath.Join(dir, "x.txt")}, "must end in .html or .md, or .json"},
	} {
		out, code := runRemedy(t, append([]string{"report", "merge", "-o", "json", "--report="}, tc.args...)...)
		if code != exitBadInput || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, want %d and %q\n%s", tc.args, code, exitBadInput, tc.want, out)
		}
	}
	out, code := runRemedy(t, "report", "merge", "-o", "json", "--report=", files[0], files[2])
	if code != exitBadInput || !strings.Contains(out, "merge lacks shard 2/3 (--partial") || !strings.Contains(out, `"hosts"`) {
		t.Errorf("two of three shards: exit %d, want %d, the merge and the shard it lacks\n%s", code, exitBadInput, out)
	}
	out, code = runRemedy(t, "report", "merge", "-o", "json", "--report=", "--partial", files[0], files[2])
	if code != exitOK || !strings.Contains(out, "remedy: no file of shard 2/3") {
		t.Errorf("two of three shards, --partial: exit %d\n%s", code, out)
	}
}

// Merged shards print the failures as one run of the whole fleet would:
// hosts of different shards that fail the same way are one line.
func TestReportMergeGroupsFailuresAcrossShards(t *testing.T) {
	dir := t.TempDir()
	failed := map[string]remote.Status{"h2": remote.StatusFailed, "h3": remote.StatusFailed, "h5": remote.StatusFailed, "h7": remote.StatusFailed}
	files, whole := shardFiles(t, dir, failed)
	out, code := runRemedy(t, append([]string{"report", "merge", "-o", "text"}, files...)...)
	if code != exitDrift {
		t.Errorf("exit %d, want %d\n%s", code, exitDrift, out)
	}
	r, err := output.ReadJSON(bytes.NewReader(whole))
	if err != nil {
		t.Fatal(err)
	}
	var one bytes.Buffer
	if err := output.WriteSummary(&one, r, false); err != nil {
		t.Fatal(err)
	}
	got, _, _ := strings.Cut(out, "remedy: ")
	if got != one.String() {
		t.Errorf("merge -o text:\n%s\nthe unsharded run's:\n%s", got, one.String())
	}
	if want := "fatal: 4 hosts [h2, h3, h5, h7]: FAILED! => <host> failed\n"; !strings.Contains(got, want) {
		t.Errorf("merge -o text lacks %q:\n%s", want, got)
	}
}
