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

// The parts of -o json the tests read.
type (
	jsonRun struct {
		Playbook    string     `json:"playbook"`
		Check       bool       `json:"check"`
		Interrupted bool       `json:"interrupted"`
		NotRun      []string   `json:"not_run"`
		Hosts       []jsonHost `json:"hosts"`
		out         string     // the command's stdout and stderr, for failure messages
	}
	jsonHost struct {
		Name        string     `json:"name"`
		Unreachable bool       `json:"unreachable"`
		Error       string     `json:"error"`
		Facts       *jsonFacts `json:"facts"`
		Tasks       []jsonTask `json:"tasks"`
		Stats       jsonStats  `json:"stats"`
	}
	jsonFacts struct {
		OSID     string `json:"os_id"`
		Firewall string `json:"firewall"`
		Root     bool   `json:"root"`
		User     string `json:"user"`
	}
	jsonTask struct {
		Name    string   `json:"name"`
		Kind    string   `json:"kind"`
		Status  string   `json:"status"`
		Msg     string   `json:"msg"`
		Diff    string   `json:"diff"`
		Planned []string `json:"planned"`
	}
	jsonStats struct {
		OK          int `json:"ok"`
		Changed     int `json:"changed"`
		Unreachable int `json:"unreachable"`
		Failed      int `json:"failed"`
	}
)

// decodeJSON reads an -o json document into doc; not JSON is a test
// failure, with out, the command's output, in its message.
func decodeJSON(t *testing.T, stdout []byte, doc any, out string) {
	t.Helper()
	if err := json.Unmarshal(stdout, doc); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, out)
	}
}

// decodeRun reads an -o json document as a jsonRun.
func decodeRun(t *testing.T, stdout []byte, out string) jsonRun {
	t.Helper()
	doc := jsonRun{out: out}
	decodeJSON(t, stdout, &doc, out)
	return doc
}

// runRemedyJSON runs bin with args and -o json under home, decodes the
// document into doc, and returns the exit code and, for failure
// messages, both outputs.
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
	out := fmt.Sprintf("remedy %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout.String(), stderr.String())
	decodeJSON(t, stdout.Bytes(), doc, out)
	return code, out
}

// runRemedy is runRemedyJSON for a jsonRun.
func runRemedy(t *testing.T, bin, home string, timeout time.Duration, args ...string) (jsonRun, int) {
	t.Helper()
	var doc jsonRun
	code, out := runRemedyJSON(t, bin, home, timeout, &doc, args...)
	doc.out = out
	return doc, code
}

// task returns a host's status, message and diff for a task or check:
// "missing" when the host has no such result, "error" and the host's
// error when its run ended early.
func (doc jsonRun) task(host, name string) (status, msg, diff string) {
	for _, h := range doc.Hosts {
		for _, x := range h.Tasks {
			if h.Name == host && x.Name == name {
				return x.Status, x.Msg, x.Diff
			}
		}
		if h.Name == host && h.Error != "" {
			return "error", h.Error, ""
		}
	}
	return "missing", "", ""
}

// planned returns the commands a host's task ran or would run.
func (doc jsonRun) planned(host, name string) string {
	for _, h := range doc.Hosts {
		for _, x := range h.Tasks {
			if h.Name == host && x.Name == name {
				return strings.Join(x.Planned, "\n")
			}
		}
	}
	return ""
}

// statuses is "name=status ..." for one host, without fact gathering.
func (doc jsonRun) statuses(host string) string {
	var parts []string
	for _, h := range doc.Hosts {
		if h.Name != host {
			continue
		}
		for _, task := range h.Tasks {
			if task.Name != "Gathering Facts" {
				parts = append(parts, task.Name+"="+task.Status)
			}
		}
	}
	return strings.Join(parts, " ")
}

// diff returns the diff a host's task reported.
func (doc jsonRun) diff(host, task string) string {
	_, _, d := doc.task(host, task)
	return d
}

// msg returns the message a host's task or check reported.
func (doc jsonRun) msg(host, task string) string {
	_, m, _ := doc.task(host, task)
	return m
}
