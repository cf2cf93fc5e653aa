// Package tests holds remedy's end-to-end tests: the real binary against
// the lab's hosts (tests/lab/labkit), effects checked from outside.
package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
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

// isolatedEnv is the environment remedy runs with in these tests: a HOME
// of its own, so the tester's ~/.ssh (known_hosts, config, keys) and
// ssh-agent play no part.
func isolatedEnv(home string) []string {
	return append(slices.DeleteFunc(os.Environ(), func(e string) bool {
		return strings.HasPrefix(e, "HOME=") || strings.HasPrefix(e, "SSH_AUTH_SOCK=")
	}), "HOME="+home)
}

// runRemedyJSON runs bin with args and -o json under home, decodes the
// document into doc, and returns the exit code and, for failure
// messages, both outputs. Not JSON is a test failure.
func runRemedyJSON(t *testing.T, bin, home string, timeout time.Duration, doc any, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args = append(args, "-o", "json")
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = isolatedEnv(home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("remedy %s: %s", strings.Join(args[:min(2, len(args))], " "), time.Since(start).Round(time.Millisecond))
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("remedy %v: %v", args, err)
	}
	out := "stdout:\n" + stdout.String() + "\nstderr:\n" + stderr.String()
	if err := json.Unmarshal(stdout.Bytes(), doc); err != nil {
		t.Fatalf("remedy %v: exit %d, output is not JSON: %v\n%s", args, code, err, out)
	}
	return code, out
}
