package file_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remedy/lua/luatest"
	_ "remedy/lua/modules/all"
	"remedy/lua/remote"
)

func TestFileWriteCheckModeChangesNothing(t *testing.T) {
	h := luatest.NewLocalHost(t)
	target := filepath.Join(h.Dir, "sshd_config")
	before := []byte("Port 22\nPermitRootLogin yes\n")
	if err := os.WriteFile(target, before, 0o600); err != nil {
		t.Fatal(err)
	}
	src := luatest.Task(`file.write { path = v.dir .. "/sshd_config", content = "Port 22\nPermitRootLogin no\n" }`)
	o := h.DirVars()
	o.Check = true
	r := luatest.Only(t, h, src, o)
	if r.Status != remote.StatusChanged || !strings.Contains(r.Diff, "-PermitRootLogin yes\n+PermitRootLogin no") ||
		!strings.HasPrefix(r.Msg, target+": new content, backup "+target+".remedy-") {
		t.Fatalf("check mode: %+v", r)
	}
	after, _ := os.ReadFile(target)
	if string(after) != string(before) {
		t.Fatalf("check mode changed the file: %q", after)
	}
	entries, _ := os.ReadDir(h.Dir)
	if len(entries) != 1 {
		t.Fatalf("check mode left files behind: %v", entries)
	}
}

func TestFileWriteThenRepeat(t *testing.T) {
	h := luatest.NewLocalHost(t)
	target := filepath.Join(h.Dir, "app.conf")
	if err := os.WriteFile(target, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := luatest.Task(`return file.write { path = v.dir .. "/app.conf", content = "new\n", mode = "0640" }.backup`)
	first := luatest.Only(t, h, src, h.DirVars())
	second := luatest.Only(t, h, src, h.DirVars())
	if first.Status != remote.StatusChanged || second.Status != remote.StatusOK {
		t.Fatalf("first %s, second %s; want changed then ok", first.Status, second.Status)
	}
	got, _ := os.ReadFile(target)
	st, _ := os.Stat(target)
	if string(got) != "new\n" || st.Mode().Perm() != 0o640 {
		t.Fatalf("file is %q mode %o", got, st.Mode().Perm())
	}
	backup, err := os.ReadFile(first.Msg)
	if err != nil || string(backup) != "old\n" {
		t.Fatalf("backup %q: %q, %v", first.Msg, backup, err)
	}
}

func TestFileWriteFailingValidatorKeepsOriginal(t *testing.T) {
	h := luatest.NewLocalHost(t)
	target := filepath.Join(h.Dir, "app.conf")
	if err := os.WriteFile(target, []byte("good\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := luatest.Task(`file.write { path = v.dir .. "/app.conf", content = "bad\n", validate = {"sh", "-c", "grep -q good \"$1\" || { echo invalid config >&2; exit 1; }", "sh", "%s"} }`)
	r := luatest.Only(t, h, src, h.DirVars())
	if r.Status != remote.StatusFailed || !strings.Contains(r.Msg, "invalid config") || !strings.Contains(r.Msg, "site.lua:2:") || r.Host != "local" {
		t.Fatalf("want a failure naming host, file:line and the validator's complaint: %+v", r)
	}
	got, _ := os.ReadFile(target)
	entries, _ := os.ReadDir(h.Dir)
	if string(got) != "good\n" || len(entries) != 1 {
		t.Fatalf("original not intact (%q) or temp left (%v)", got, entries)
	}
}

func TestFileLine(t *testing.T) {
	h := luatest.NewLocalHost(t)
	target := filepath.Join(h.Dir, "sshd_config")
	if err := os.WriteFile(target, []byte("#PermitRootLogin yes\nMatch User x\n  X 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := luatest.Task(`file.line { path = v.dir .. "/sshd_config", regexp = "^#?PermitRootLogin", line = "PermitRootLogin no", backup = false }
	file.line { path = v.dir .. "/sshd_config", regexp = "^PasswordAuthentication", line = "PasswordAuthentication no", insertbefore = "^Match", backup = false }`)
	if r := luatest.Only(t, h, src, h.DirVars()); r.Status != remote.StatusChanged {
		t.Fatalf("first: %+v", r)
	}
	if r := luatest.Only(t, h, src, h.DirVars()); r.Status != remote.StatusOK {
		t.Fatalf("second: %+v", r)
	}
	got, _ := os.ReadFile(target)
	if string(got) != "PermitRootLogin no\nPasswordAuthentication no\nMatch User x\n  X 1\n" {
		t.Fatalf("got %q", got)
	}
}

func TestFileReadStat(t *testing.T) {
	h := luatest.NewLocalHost(t)
	if err := os.WriteFile(filepath.Join(h.Dir, "f"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := luatest.Task(`local st = file.stat(v.dir .. "/f")
	expect(file.read(v.dir .. "/missing") == nil, "missing file read")
	expect(file.stat(v.dir .. "/missing") == nil, "missing file stat")
	return file.read(v.dir .. "/f") .. " " .. st.type .. " " .. st.mode .. " " .. st.size`)
	r := luatest.Only(t, h, src, h.DirVars())
	if r.Status != remote.StatusOK || r.Msg != "hello file 0600 5" {
		t.Fatalf("%+v", r)
	}
}

// Several edits of one file in the same second each keep their own backup,
// so the first backup still holds the original.
func TestBackupsDoNotOverwriteEachOther(t *testing.T) {
	h := luatest.NewLocalHost(t)
	target := filepath.Join(h.Dir, "f.conf")
	if err := os.WriteFile(target, []byte("original\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := luatest.Only(t, h, luatest.Task(`for i = 1, 3 do file.line { path = v.dir .. "/f.conf", line = "edit " .. i } end`), h.DirVars())
	if r.Status != remote.StatusChanged {
		t.Fatalf("%+v", r)
	}
	backups, _ := filepath.Glob(target + ".remedy-*.bak")
	found := false
	for _, b := range backups {
		if got, _ := os.ReadFile(b); string(got) == "original\n" {
			found = true
		}
	}
	if len(backups) != 3 || !found {
		t.Fatalf("%d backups, original kept: %v", len(backups), found)
	}
}
