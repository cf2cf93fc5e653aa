package inventory

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSetPort(t *testing.T) {
	cases := []struct {
		name, file, host, before, after string
	}{
		{"ini add", "hosts.ini", "web1",
			"# web servers\n[web]\nweb1   # first\nweb2\n",
			"# web servers\n[web]\nweb1 ansible_port=2022   # first\nweb2\n"},
		{"ini existing var", "hosts", "web2",
			"[web]\nweb1\nweb2 ansible_port=22 ansible_user=ops\n",
			"[web]\nweb1\nweb2 ansible_port=2022 ansible_user=ops\n"},
		{"ini host:port everywhere", "hosts.ini", "web1",
			"web1:22\n[web]\nweb1 a=1\n[db]\n[db:vars]\nweb1=x\n",
			"web1:2022\n[web]\nweb1 a=1\n[db]\n[db:vars]\nweb1=x\n"},
		{"ini ipv6 crlf", "hosts.ini", "2001:db8::1",
			"[v6]\r\n[2001:db8::1]:22 x=1\r\n",
			"[v6]\r\n[2001:db8::1]:2022 x=1\r\n"},
		{"ini group var does not count", "hosts.ini", "web1",
			"[web]\nweb1\n[web:vars]\nansible_port=22\n",
			"[web]\nweb1 ansible_port=2022\n[web:vars]\nansible_port=22\n"},
		{"yaml add to empty", "hosts.yml", "web1",
			"all:\n  hosts:\n    web1:   # comment\n    web2:\n",
			"all:\n  hosts:\n    web1:\n      ansible_port: 2022   # comment\n    web2:\n"},
		{"yaml add to block", "hosts.yaml", "web1",
			"all:\n  children:\n    web:\n      hosts:\n        web1:\n          x: 1 # keep\n",
			"all:\n  children:\n    web:\n      hosts:\n        web1:\n          ansible_port: 2022\n          x: 1 # keep\n"},
		{"yaml existing quoted", "hosts.yml", "web1",
			"all:\n  hosts:\n    web1: {ansible_port: \"22\", x: 1}\n",
			"all:\n  hosts:\n    web1: {ansible_port: 2022, x: 1}\n"},
		{"yaml flow add", "hosts.yml", "web1",
			"all:\n  hosts:\n    web1: {x: 1}\n",
			"all:\n  hosts:\n    web1: {ansible_port: 2022, x: 1}\n"},
		{"yaml key port", "hosts.yml", "web1",
			"all:\n  hosts:\n    web1:22:\n      ansible_user: é\n",
			"all:\n  hosts:\n    web1:2022:\n      ansible_user: é\n"},
		{"yaml explicit null", "hosts.yml", "web1",
			"all:\n  hosts:\n    web1: ~\n",
			"all:\n  hosts:\n    web1:\n      ansible_port: 2022\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, []byte(tc.before), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := SetPort(path, tc.host, 2022); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.after {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.after)
			}
			if info, _ := os.Stat(path); info.Mode().Perm() != 0o640 {
				t.Errorf("mode changed to %v", info.Mode().Perm())
			}
			if err := SetPort(path, tc.host, 2022); err != nil {
				t.Fatalf("second SetPort: %v", err)
			}
			if again, _ := os.ReadFile(path); string(again) != tc.after {
				t.Errorf("second SetPort changed the file again:\n%s", again)
			}
		})
	}
}

func TestSetPortRefuses(t *testing.T) {
	cases := []struct {
		name, file, host, text, msg string
		files                       map[string]string
	}{
		{"range", "hosts.ini", "web2", "web[1:3]\n", "range", nil},
		{"unknown host", "hosts.yml", "nope", "all:\n  hosts:\n    web1:\n", "no hosts entry", nil},
		{"host_vars wins", "hosts.ini", "web1", "web1\n", "still 22", map[string]string{"host_vars/web1.yml": "ansible_port: 22\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			err := SetPort(path, tc.host, 2022)
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), path) {
				t.Errorf("SetPort: got %v, want an error naming %s and saying %q", err, path, tc.msg)
			}
			if got, _ := os.ReadFile(path); string(got) != tc.text {
				t.Errorf("file changed after a refused SetPort:\n%s", got)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("left a temporary file behind: %s", e.Name())
				}
			}
		})
	}
	if err := SetPort("testdata/patterns.ini", "web1", 70000); err == nil {
		t.Error("SetPort with port 70000: want an error")
	}
}

func TestHostFiles(t *testing.T) {
	a, b := filepath.Join(oracleDir, "multi", "a.ini"), filepath.Join(oracleDir, "multi", "b.yml")
	inv, err := Load([]string{a, b, "extra1,m-web2"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"m-web1": {a, b}, "m-web2": {b}, "extra1": nil}
	for name, files := range want {
		if got := inv.hosts[name].Files(); !reflect.DeepEqual(got, files) {
			t.Errorf("%s: Files() = %q, want %q", name, got, files)
		}
	}
	dir := filepath.Join(oracleDir, "dir")
	if inv, err = Load([]string{dir}); err != nil {
		t.Fatal(err)
	}
	if got, want := inv.hosts["app1"].Files(), []string{filepath.Join(dir, "02-more.yml")}; !reflect.DeepEqual(got, want) {
		t.Errorf("app1: Files() = %q, want %q", got, want)
	}
}
