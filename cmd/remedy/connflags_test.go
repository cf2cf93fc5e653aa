package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/cobra"

	"remedy/runner"
)

// prepareWith loads a playbook for every host and runs prepare on the
// inventory text, an INI file unless it starts "all:", with the flags f
// (f.inventories names the file written).
func prepareWith(t *testing.T, inventory string, f *runFlags) (*runSetup, error) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	inv := filepath.Join(dir, "hosts.ini")
	if strings.HasPrefix(inventory, "all:") {
		inv = filepath.Join(dir, "hosts.yml")
	}
	pb := filepath.Join(dir, "pb.lua")
	for name, data := range map[string]string{inv: inventory, pb: `return { name = "p", hosts = "all", tasks = {} }`} {
		if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	loaded, err := loadPlaybook(pb, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.inventories, f.output = []string{inv}, "text"
	if f.becomeMethod == "" {
		f.becomeMethod = "sudo"
	}
	return prepare(loaded, f)
}

func TestBecomePasswordFile(t *testing.T) {
	dir := t.TempDir()
	file := func(name, text string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := file("pw", "  s3cret pass\n\n", 0o600)
	setup, err := prepareWith(t, "h1 ansible_host=198.18.0.5\n", &runFlags{connFlags: connFlags{become: true, becomePassFile: good}})
	if err != nil || setup.hosts[0].Become == nil || setup.hosts[0].Become.Password != "s3cret pass" {
		t.Fatalf("--become-password-file: %v, %+v; want the password stripped as Ansible strips it", err, setup)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    runFlags
		want string
	}{
		{"executable", runFlags{connFlags: connFlags{becomePassFile: file("pw.sh", "#!/bin/sh\necho pw\n", 0o700)}}, "executable"},
		{"empty", runFlags{connFlags: connFlags{becomePassFile: file("empty", " \n", 0o600)}}, "empty"},
		{"a FIFO", runFlags{connFlags: connFlags{becomePassFile: fifo}}, "not a regular file"},
		{"missing", runFlags{connFlags: connFlags{becomePassFile: filepath.Join(dir, "nope")}}, "no such file"},
		{"with -K", runFlags{connFlags: connFlags{becomePassFile: good, askBecomePass: true}}, "one way"},
	} {
		_, err := prepareWith(t, "h1 ansible_host=198.18.0.5\n", &c.f)
		if exitCode(err) != exitBadInput || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "pw\n") {
			t.Errorf("%s: exit %d, %v; want exit %d saying %q", c.name, exitCode(err), err, exitBadInput, c.want)
		}
	}
}

// --become-method and the inventory's ansible_become_method: the
// inventory wins, as in Ansible; a method remedy does not have is bad
// input, never sudo in its place.
func TestBecomeMethod(t *testing.T) {
	inv := "h1 ansible_host=198.18.0.5\nh2 ansible_host=198.18.0.6 ansible_become_method=su\n"
	setup, err := prepareWith(t, inv, &runFlags{connFlags: connFlags{become: true, becomeMethod: "sudo"}})
	if err != nil || setup.hosts[0].Become.Method != "sudo" || setup.hosts[1].Become.Method != "su" {
		t.Fatalf("%v, %+v %+v", err, setup.hosts[0].Become, setup.hosts[1].Become)
	}
	if setup, err = prepareWith(t, inv, &runFlags{connFlags: connFlags{become: true, becomeMethod: "su"}}); err != nil || setup.hosts[0].Become.Method != "su" {
		t.Fatalf("--become-method su: %v", err)
	}
	if _, err := prepareWith(t, inv, &runFlags{connFlags: connFlags{become: true, becomeMethod: "doas"}}); exitCode(err) != exitBadInput {
		t.Errorf("--become-method doas: %v, want exit %d", err, exitBadInput)
	}
	_, err = prepareWith(t, "h1 ansible_host=198.18.0.5 ansible_become_method=pbrun\n", &runFlags{connFlags: connFlags{become: true}})
	if exitCode(err) != exitBadInput || !strings.Contains(err.Error(), ":1: h1: ansible_become_method") {
		t.Errorf("ansible_become_method=pbrun: %v, want exit %d naming the line", err, exitBadInput)
	}
}

// --ssh-common-args reaches the hosts whose inventory gives no
// ansible_ssh_common_args, as Ansible's does; a bad one names the flag.
func TestSSHCommonArgsFlag(t *testing.T) {
	inv := "h1 ansible_host=198.18.0.5\nh2 ansible_host=198.18.0.6 ansible_ssh_common_args='-p 2200'\n"
	setup, err := prepareWith(t, inv, &runFlags{connFlags: connFlags{sshCommonArgs: "-J ops@198.18.0.1 -o Port=2222"}})
	if err != nil {
		t.Fatal(err)
	}
	h1, h2 := setup.hosts[0].Target, setup.hosts[1].Target
	if h1.Port != 2222 || len(h1.Jumps) != 1 || h1.Jumps[0].Addr != "198.18.0.1" || h1.Jumps[0].User != "ops" {
		t.Errorf("h1: %+v, want port 2222 through ops@198.18.0.1", h1)
	}
	if h2.Port != 2200 || len(h2.Jumps) != 0 {
		t.Errorf("h2: %+v, want its own args alone", h2)
	}
	_, err = prepareWith(t, inv, &runFlags{connFlags: connFlags{sshCommonArgs: "-o ProxyCommand='nc %h %p'"}})
	if exitCode(err) != exitBadInput || !strings.HasPrefix(err.Error(), "--ssh-common-args: h1: ") {
		t.Errorf("a ProxyCommand in --ssh-common-args: %v, want exit %d naming the flag", err, exitBadInput)
	}
}

// Every command that contacts hosts works on -f of them at once: explain
// gave the runner no forks and read a fleet one host at a time.
func TestForksReachTheRunner(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	commands := map[string]func() (*cobra.Command, *connFlags){
		"run": func() (*cobra.Command, *connFlags) {
			f := &runFlags{}
			cmd := &cobra.Command{Use: "run"}
			addRunFlags(cmd, f)
			return cmd, &f.connFlags
		},
		"firewall explain": func() (*cobra.Command, *connFlags) {
			f := &explainFlags{}
			return newExplainCmd(f), &f.conn
		},
	}
	for name, newCmd := range commands {
		for args, want := range map[string][2]int{"": {50, runner.DefaultMaxHandshakes}, "-f 7 --max-handshakes 3": {7, 3}} {
			cmd, conn := newCmd()
			if err := cmd.ParseFlags(strings.Fields(args)); err != nil {
				t.Fatal(err)
			}
			opts, err := connectOptions(conn, &secrets{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := [2]int{opts.Forks, opts.MaxHandshakes}; got != want {
				t.Errorf("%s %q: forks, handshakes = %v, want %v", name, args, got, want)
			}
		}
	}
}
