package labkit

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input fails with one reason and creates nothing: not even the dir.
func TestUpRejectsBadInputAndCreatesNothing(t *testing.T) {
	base := t.TempDir()
	for _, c := range []struct {
		name string
		o    Options
		want string
	}{
		{"unknown profile", Options{Hosts: 2, Profiles: []string{"nftables", "pf"}}, `unknown profile "pf"`},
		{"egress typo", Options{Hosts: 1, Profiles: []string{"ufw+egres"}}, `unknown profile "ufw+egres"`},
		{"zero hosts", Options{Hosts: 0}, "hosts must be between 1 and"},
		{"too many hosts", Options{Hosts: MaxHosts + 1}, "hosts must be between 1 and"},
		{"too many hidden", Options{Hosts: 1, Hidden: MaxHidden + 1}, "hidden hosts must be between 0 and"},
		{"comma in dir", Options{Hosts: 1, Dir: filepath.Join(base, "a,b")}, "must not contain commas"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.o.Dir == "" {
				c.o.Dir = filepath.Join(base, strings.ReplaceAll(c.name, " ", "-"))
			}
			_, err := Up(context.Background(), c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Up(%+v) = %v, want an error containing %q", c.o, err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
			if _, err := os.Stat(c.o.Dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Up created %s for bad input", c.o.Dir)
			}
		})
	}
}

func TestUpNeedsADir(t *testing.T) {
	if _, err := Up(context.Background(), Options{Hosts: 1}); err == nil || err.Error() != "lab dir is required" {
		t.Errorf("Up without a dir = %v", err)
	}
}

func TestUpRejectsAnUnwritableDir(t *testing.T) {
	RequireLab(t) // without root, Up stops at Preflight
	for _, dir := range []string{"/proc/remedy-lab", "/proc/self/status/lab"} {
		_, err := Up(context.Background(), Options{Hosts: 1, Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "lab dir") {
			t.Errorf("Up in %s = %v, want a lab dir error", dir, err)
		}
	}
}
