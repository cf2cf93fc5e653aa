package file_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"remedy/lua/luatest"
	_ "remedy/lua/modules/all"
	"remedy/lua/remote"
)

// These run the real write and resolve scripts with sh, stat, readlink,
// ln and mv on this machine (localHost), as root where ownership matters.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files other owners")
	}
}

// ownerOf is "uid:gid" of p, not following a link.
func ownerOf(t *testing.T, p string) (uint32, uint32) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid, st.Gid
}

// A write through a symbolic link changes the file the link points to,
// which keeps its mode and (numeric, nameless) owner; the link stays a
// link. The link's own mode is 0777, which once became the new file's.
func TestFileWriteThroughSymlink(t *testing.T) {
	requireRoot(t)
	h := luatest.NewLocalHost(t)
	real := filepath.Join(h.Dir, "conf.d", "app.conf")
	if err := os.Mkdir(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(real, 4321, 4322); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(h.Dir, "app.conf")
	if err := os.Symlink("conf.d/../conf.d/app.conf", link); err != nil {
		t.Fatal(err)
	}
	src := luatest.Task(`return file.write { path = v.dir .. "/app.conf", content = "new\n" }.backup`)
	first := luatest.Only(t, h, src, h.DirVars())
	second := luatest.Only(t, h, src, h.DirVars())
	if first.Status != remote.StatusChanged || second.Status != remote.StatusOK {
		t.Fatalf("first %s %q, second %s %q; want changed then ok", first.Status, first.Msg, second.Status, second.Msg)
	}
	if got, _ := os.ReadFile(real); string(got) != "new\n" {
		t.Errorf("the link's target holds %q", got)
	}
	st, err := os.Lstat(real)
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("the target's mode is %v, %v; want 0640", st.Mode(), err)
	}
	if uid, gid := ownerOf(t, real); uid != 4321 || gid != 4322 {
		t.Errorf("the target's owner is %d:%d; want 4321:4322", uid, gid)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link is no longer a link: %v, %v", st.Mode(), err)
	}
	if !strings.HasPrefix(first.Msg, real+".remedy-") {
		t.Errorf("the backup %q is not beside the target", first.Msg)
	}
	if got, _ := os.ReadFile(first.Msg); string(got) != "old\n" {
		t.Errorf("the backup holds %q", got)
	}
	assertOnly(t, filepath.Dir(real), "app.conf", filepath.Base(first.Msg))
}

// A link in a parent directory is followed as the kernel follows it: the
// file is made in the real directory, and the link stays.
func TestFileWriteThroughParentLink(t *testing.T) {
	h := luatest.NewLocalHost(t)
	if err := os.Mkdir(filepath.Join(h.Dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(h.Dir, "real"), filepath.Join(h.Dir, "etc")); err != nil {
		t.Fatal(err)
	}
	r := luatest.Only(t, h, luatest.Task(`file.write { path = v.dir .. "/etc/new.conf", content = "x\n", mode = "0600" }`), h.DirVars())
	if r.Status != remote.StatusChanged {
		t.Fatalf("%s %q", r.Status, r.Msg)
	}
	st, err := os.Lstat(filepath.Join(h.Dir, "real", "new.conf"))
	if err != nil || st.Mode() != 0o600 {
		t.Fatalf("new file: %v, %v; want a regular file, 0600", st, err)
	}
	assertOnly(t, filepath.Join(h.Dir, "real"), "new.conf")
}

// Paths remedy will not write through, each with a message that says why,
// and nothing left behind.
func TestFileWriteRefusesOddLinks(t *testing.T) {
	requireRoot(t)
	h := luatest.NewLocalHost(t)
	mk := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(h.Dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	mk("missing.conf", "dangling")
	mk("loop-b", "loop-a")
	mk("loop-a", "loop-b")
	if err := os.Mkdir(filepath.Join(h.Dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	mk("adir", "todir")
	if err := os.WriteFile(filepath.Join(h.Dir, "shadow"), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mk("shadow", "planted")
	if err := os.Lchown(filepath.Join(h.Dir, "planted"), 4321, 4321); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(h.Dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, want string }{
		{"dangling", "is a symbolic link to " + filepath.Join(h.Dir, "missing.conf") + ", which does not exist"},
		{"loop-a", "too many symbolic links"},
		{"todir", "(a symbolic link to " + filepath.Join(h.Dir, "adir") + ") is a directory"},
		{"adir", "adir is a directory"},
		{"planted", "planted is a symbolic link owned by uid 4321, neither root nor the user remedy writes as: not followed"},
		{"fifo", "fifo is not a regular file"},
		{"nodir/x.conf", "directory " + filepath.Join(h.Dir, "nodir") + "/ does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := luatest.Only(t, h, luatest.Task(`file.write { path = v.dir .. "/`+tc.name+`", content = "x\n" }`), h.DirVars())
			if r.Status != remote.StatusFailed || !strings.Contains(r.Msg, tc.want) {
				t.Fatalf("got %s %q, want failed with %q", r.Status, r.Msg, tc.want)
			}
		})
	}
	if got, _ := os.ReadFile(filepath.Join(h.Dir, "shadow")); string(got) != "secret\n" {
		t.Errorf("the planted link's target was written: %q", got)
	}
	assertOnly(t, h.Dir, "dangling", "loop-a", "loop-b", "adir", "todir", "shadow", "planted", "fifo")
}

// SELinux cannot run here: fake chcon and restorecon on the host's PATH
// stand in for it, with getenforce's answer given as the fact. An existing
// file's label is copied onto the candidate before the rename; a new
// file's restorecon runs after it, and when it fails the message says the
// file was created rather than that nothing changed.
func TestFileWriteSELinuxLabels(t *testing.T) {
	h := luatest.NewLocalHost(t)
	bin := t.TempDir()
	log := filepath.Join(bin, "log")
	fake := func(name, body string) {
		script := "#!/bin/sh\n" + `printf '%s\n' "$0 $*" >> ` + log + "\n" + body
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// chcon checks that the target is still the old file when it runs.
	fake("chcon", `grep -qx old "${1#--reference=}"`)
	fake("restorecon", `echo "restorecon: SELinux: Could not set context for $2: Operation not supported" >&2; exit 1`)
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	o := h.DirVars()
	o.Facts.SELinux = "enforcing"

	existing := filepath.Join(h.Dir, "old.conf")
	if err := os.WriteFile(existing, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := luatest.Only(t, h, luatest.Task(`file.write { path = v.dir .. "/old.conf", content = "new\n", backup = false }`), o)
	if r.Status != remote.StatusChanged {
		t.Fatalf("existing file: %s %q", r.Status, r.Msg)
	}
	calls, _ := os.ReadFile(log)
	priv := filepath.Join(h.Dir, ".old.conf.remedy-")
	if !strings.HasPrefix(string(calls), bin+"/chcon --reference="+existing+" -- ./old.conf\n") || strings.Contains(string(calls), "restorecon") {
		t.Errorf("existing file: fakes ran %q, want chcon --reference on the candidate in %s*", calls, priv)
	}

	r = luatest.Only(t, h, luatest.Task(`file.write { path = v.dir .. "/new.conf", content = "new\n" }`), o)
	want := filepath.Join(h.Dir, "new.conf") + ": created, but restorecon -- " + filepath.Join(h.Dir, "new.conf") + " failed: exit status 1: restorecon: SELinux: Could not set context"
	if r.Status != remote.StatusFailed || !strings.Contains(r.Msg, want) {
		t.Fatalf("failed restorecon: %s %q, want %q", r.Status, r.Msg, want)
	}
	if got, _ := os.ReadFile(filepath.Join(h.Dir, "new.conf")); string(got) != "new\n" {
		t.Errorf("the new file holds %q", got)
	}
	assertOnly(t, h.Dir, "old.conf", "new.conf")
}

// assertOnly fails unless dir holds exactly names: no private directory,
// candidate or stray backup left.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("%s holds %s, which it should not (all: %q)", dir, g, got)
		}
	}
	if len(got) != len(names) {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}

// The candidate lives in a directory of remedy's own, mode 0700, where no
// other user can open it, replace it or see it before the rename, and it
// already has its final mode when the validator sees it.
func TestFileWriteCandidateIsPrivate(t *testing.T) {
	h := luatest.NewLocalHost(t)
	dir := filepath.Join(h.Dir, "etc")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	seen := filepath.Join(h.Dir, "seen")
	src := luatest.Task(`file.write { path = v.dir .. "/etc/app.conf", content = "x\n", mode = "0640",
		validate = { "sh", "-c", 'stat -c "%a %u" "${1%/*}" "$1" > "$2"', "sh", "%s", v.dir .. "/seen" } }`)
	r := luatest.Only(t, h, src, h.DirVars())
	if r.Status != remote.StatusChanged {
		t.Fatalf("%s %q", r.Status, r.Msg)
	}
	got, _ := os.ReadFile(seen)
	want := "700 " + strconv.Itoa(os.Geteuid()) + "\n640 " + strconv.Itoa(os.Geteuid()) + "\n"
	if string(got) != want {
		t.Errorf("the validator saw the candidate's directory and the candidate as %q, want %q", got, want)
	}
	assertOnly(t, dir, "app.conf")
}

// The candidate is born with no permission its final mode lacks (a shell
// creates files without execute bits; chmod adds them later): a fake
// chown, which runs right after the content is written, sees it.
func TestFileWriteCandidateBornWithItsMode(t *testing.T) {
	h := luatest.NewLocalHost(t)
	bin := t.TempDir()
	seen := filepath.Join(bin, "seen")
	script := "#!/bin/sh\nstat -c %a \"$3\" > " + seen + "\n"
	if err := os.WriteFile(filepath.Join(bin, "chown"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	for mode, born := range map[string]string{"0600": "600", "0400": "400", "0755": "644"} {
		r := luatest.Only(t, h, luatest.Task(`file.write { path = v.dir .. "/f`+mode+`", content = "x\n", mode = "`+mode+`", owner = "nobody" }`), h.DirVars())
		got, _ := os.ReadFile(seen)
		if r.Status != remote.StatusChanged || strings.TrimSpace(string(got)) != born {
			t.Errorf("mode %s: %s %q; the candidate was %q when chown ran, want %s", mode, r.Status, r.Msg, got, born)
		}
	}
}
