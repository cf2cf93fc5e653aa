package labstate

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckDir(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dir, want, err string
	}{
		{"/tmp/remedy-lab", "/tmp/remedy-lab", ""},
		{"rel/lab", filepath.Join(wd, "rel/lab"), ""},
		{"", "", "VM lab dir is required"},
		{"/tmp/a,b", "", `VM lab dir "/tmp/a,b": must not contain commas`},
		{"/tmp/a b", "", "white space"},
		{"/tmp/a:b", "", "colons"},
		{`/tmp/a"b`, "", "quotes"},
	} {
		got, err := CheckDir("VM lab", c.dir)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %q, %v; want an error saying %q", c.dir, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %q, %v; want %q", c.dir, got, err, c.want)
		}
	}
}

// A state survives a write and a read; no state reads as nil, and a
// broken one names its file.
func TestStateRoundTrip(t *testing.T) {
	type state struct {
		Slot     int
		Hosts    []string
		Complete bool
	}
	path := filepath.Join(t.TempDir(), "lab.json")
	if st, err := Read[state]("lab", path); st != nil || err != nil {
		t.Fatalf("no state: %+v, %v; want nil, nil", st, err)
	}
	want := state{Slot: 3, Hosts: []string{"h1", "h2"}, Complete: true}
	if err := Write("lab", path, &want); err != nil {
		t.Fatal(err)
	}
	got, err := Read[state]("lab", path)
	if err != nil || got == nil || got.Slot != 3 || len(got.Hosts) != 2 || !got.Complete {
		t.Fatalf("read back %+v, %v; want %+v", got, err, want)
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the temporary file is left: %v", err)
	}
	if err := os.WriteFile(path, []byte(`{"Slot": 3,`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read[state]("VM lab", path); err == nil || !strings.HasPrefix(err.Error(), path+": parse VM lab state") {
		t.Errorf("a broken state: %v; want an error naming %s", err, path)
	}
}

// PrepareDir says whether it made the dir, and a dir that cannot hold
// files is an error that names the lab.
func TestPrepareDir(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "new", "lab")
	if created, err := PrepareDir("lab", dir); err != nil || !created {
		t.Fatalf("a new dir: %t, %v; want it created", created, err)
	}
	if created, err := PrepareDir("lab", dir); err != nil || created {
		t.Fatalf("the dir again: %t, %v; want it there already", created, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the write probe is left: %v", entries)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := PrepareDir("VM lab", filepath.Join(file, "lab")); err == nil || !strings.HasPrefix(err.Error(), "VM lab dir") {
		t.Errorf("a dir under a file: %v; want a VM lab dir error", err)
	}
}

func TestAccessTo(t *testing.T) {
	a := AccessTo("/tmp/lab", "198.18.0.2", "pw")
	if a.Key != "/tmp/lab/id_ed25519" || a.KnownHosts != "/tmp/lab/known_hosts" || a.Inventory != "/tmp/lab/inventory.ini" ||
		a.OpsUser != "ops" || a.OpsPassword != "pw" || a.License != "198.18.0.2" || a.Dir != "/tmp/lab" {
		t.Errorf("%+v", a)
	}
}
