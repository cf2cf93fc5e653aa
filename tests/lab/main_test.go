package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input is refused with a one-line reason before anything is created.
func TestBadInputCreatesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "usage: lab up|down|status"},
		{[]string{"start"}, `unknown command "start"`},
		{[]string{"up", "--hosts", "0", "--dir", dir}, "hosts must be between 1 and 500, not 0"},
		{[]string{"up", "--hosts", "501", "--dir", dir}, "hosts must be between 1 and 500, not 501"},
		{[]string{"up", "--profiles", "nftables,pf", "--dir", dir}, `unknown profile "pf"`},
		{[]string{"up", "--hosts", "two", "--dir", dir}, `invalid value "two" for flag -hosts`},
		{[]string{"up", "--dir", dir, "extra"}, `unexpected argument "extra"`},
		{[]string{"status", "--dir", dir}, "no lab is up there"},
	} {
		err := run(c.args, io.Discard)
		if err == nil || !strings.Contains(oneLine(err), c.want) {
			t.Errorf("lab %s = %v, want an error containing %q", strings.Join(c.args, " "), err, c.want)
			continue
		}
		if strings.Contains(oneLine(err), "\n") {
			t.Errorf("lab %s: reason %q is not one line", strings.Join(c.args, " "), oneLine(err))
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("lab %s created %s", strings.Join(c.args, " "), dir)
		}
	}
}

func TestDownWithoutALabIsANoOp(t *testing.T) {
	dir := t.TempDir()
	if err := run([]string{"down", "--dir", dir}, io.Discard); err != nil {
		t.Fatalf("lab down on an empty dir: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("lab down wrote %v", entries)
	}
}
