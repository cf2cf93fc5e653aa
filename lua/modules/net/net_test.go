package net

import (
	"bytes"
	"errors"
	stdnet "net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"remedy/lua/remote"
)

func TestParseAhosts(t *testing.T) {
	for file, want := range map[string][]string{
		"testdata/getent/ahosts-localhost.txt": {"127.0.0.1"},
		"testdata/getent/ahosts-multi.txt":     {"198.18.0.9", "198.18.0.10", "2001:db8::9"},
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if got := ParseAhosts(string(b)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", file, got, want)
		}
	}
}

// TestReachCurlIPv6 runs the TCP reach script here, on the controller,
// with curl as the only tool on PATH, against a listener on ::1: the one
// branch that builds a URL.
func TestReachCurlIPv6(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("no curl here")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := stdnet.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	bin := t.TempDir()
	for _, p := range []string{curl, sh} {
		if err := os.Symlink(p, filepath.Join(bin, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	port := ln.Addr().(*stdnet.TCPAddr).Port
	argv := Reach{Host: "::1", Port: port, Timeout: 2}.Argv()
	cmd := exec.Command(sh, argv[1:]...)
	cmd.Env = []string{"PATH=" + bin}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	got := reached(remote.Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: code})
	if !got.OK || got.Via != "curl" {
		t.Fatalf("reach [::1]:%d with curl: %+v", port, got)
	}
}
