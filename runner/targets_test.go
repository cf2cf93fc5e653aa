package runner

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"remedy/inventory"
)

// An inventory port, even 22, beats ~/.ssh/config's Port, as ansible's
// -o Port=22 does; without one, ssh config's applies.
func TestInventoryPortBeatsSSHConfig(t *testing.T) {
	targets := resolveInventory(t, decodeSSHConfig(t, "Host *\n  Port 2222\n"), "explicit22 ansible_port=22\nunset\nexplicit2200 ansible_port=2200\n")
	want := map[string]int{"explicit22": 22, "unset": 2222, "explicit2200": 2200}
	for _, h := range targets {
		if h.Port != want[h.Name] || h.Addr != h.Name {
			t.Errorf("%s: reached at %s:%d, want %s:%d", h.Name, h.Addr, h.Port, h.Name, want[h.Name])
		}
	}
	if len(targets) != len(want) {
		t.Errorf("%d targets, want %d", len(targets), len(want))
	}
}

// resolveInventory resolves the hosts of an INI inventory as a run does,
// by name.
func resolveInventory(t *testing.T, cfg *SSHConfig, ini string) map[string]Target {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "hosts.ini")
	if err := os.WriteFile(path, []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := inv.Hosts("all")
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := Hosts(hosts, CommandLine{}, cfg, Defaults{User: "me", Home: dir})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Target{}
	for _, h := range resolved {
		out[h.Target.Name] = h.Target
	}
	return out
}

// A ProxyCommand remedy cannot follow stops the run before any dial:
// reaching the host directly would go around the proxy its owner set.
func TestUnsupportedProxyCommandRefused(t *testing.T) {
	h := &inventory.Host{Name: "behind", Vars: map[string]any{
		"ansible_ssh_common_args": `-o ProxyCommand="nc -x proxy:1080 %h %p"`}}
	cfg := decodeSSHConfig(t, "")
	_, err := Hosts([]*inventory.Host{h}, CommandLine{}, cfg, Defaults{User: "me", Home: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "behind: ") || !strings.Contains(err.Error(), "ProxyJump") {
		t.Fatalf("got %v, want the host refused with a pointer to ProxyJump", err)
	}
}

// -u reaches the login as ansible_user does, and is checked the same way.
func TestHostsRefuseABadUser(t *testing.T) {
	h := &inventory.Host{Name: "h1", Vars: map[string]any{}}
	_, err := Hosts([]*inventory.Host{h}, CommandLine{Settings: Settings{User: "-oProxyCommand=x"}}, decodeSSHConfig(t, ""), Defaults{User: "me", Home: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `-u "-oProxyCommand=x"`) {
		t.Errorf("err = %v, want -u refused", err)
	}
}

func TestBecomeFor(t *testing.T) {
	tests := []struct {
		name string
		conn inventory.Conn
		cli  CommandLine
		want *Become
	}{
		{"off", inventory.Conn{}, CommandLine{BecomePassword: "typed"}, nil},
		{"-b with -K", inventory.Conn{}, CommandLine{Become: true, BecomeUser: "app", BecomePassword: "typed"},
			&Become{User: "app", Password: "typed"}},
		{"inventory wins", inventory.Conn{Become: true, BecomeUser: "db", BecomePassword: "inv"},
			CommandLine{BecomeUser: "app", BecomePassword: "typed"}, &Become{User: "db", Password: "inv"}},
	}
	for _, tt := range tests {
		if got := becomeFor(tt.conn, tt.cli); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: becomeFor = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
