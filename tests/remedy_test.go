// Package tests holds remedy's end-to-end tests: the real binary against
// the lab's hosts (tests/lab/labkit), effects checked from outside.
package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// remedyBinary is the remedy binary every test here runs, built once per
// test process: each lab test used to link its own.
var remedyBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if remedyBinary.dir != "" {
		os.RemoveAll(remedyBinary.dir)
	}
	os.Exit(code)
}

// buildRemedy returns the path of the remedy binary built from this tree.
func buildRemedy(t testing.TB) string {
	t.Helper()
	remedyBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "remedy-tests-")
		if err != nil {
			remedyBinary.err = err
			return
		}
		remedyBinary.dir = dir
		bin := filepath.Join(dir, "remedy")
		if out, err := exec.Command("go", "build", "-o", bin, "remedy/cmd/remedy").CombinedOutput(); err != nil {
			remedyBinary.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		remedyBinary.path = bin
	})
	if remedyBinary.err != nil {
		t.Fatal(remedyBinary.err)
	}
	return remedyBinary.path
}
