package inventory

import (
	"reflect"
	"strings"
	"testing"
)

func TestConn(t *testing.T) {
	cases := []struct {
		name string
		vars map[string]any
		want Conn
	}{
		{"nothing set", nil, Conn{}},
		{"explicit port 22", map[string]any{"ansible_port": 22}, Conn{Port: 22}},
		{"explicit address equal to the name", map[string]any{"ansible_host": "h"}, Conn{Addr: "h"}},
		{"ansible vars", map[string]any{
			"ansible_host": "198.18.0.5", "ansible_port": 2222, "ansible_user": "ops",
			"ansible_ssh_private_key_file": "~/.ssh/id", "ansible_password": "pw",
			"ansible_become": "yes", "ansible_become_user": "admin", "ansible_become_password": "bpw",
		}, Conn{Addr: "198.18.0.5", Port: 2222, User: "ops", KeyFile: "~/.ssh/id", Password: "pw",
			Become: true, BecomeUser: "admin", BecomePassword: "bpw"}},
		{"old names", map[string]any{
			"ansible_ssh_host": "198.18.0.6", "ansible_ssh_port": "2200", "ansible_ssh_user": "u",
			"ansible_ssh_pass": "p", "ansible_become_pass": "b", "ansible_become": true,
		}, Conn{Addr: "198.18.0.6", Port: 2200, User: "u", Password: "p", Become: true, BecomePassword: "b"}},
		{"-J list", map[string]any{"ansible_ssh_common_args": "-J ops@198.18.0.1:2222,198.18.0.2"},
			Conn{ProxyJump: []string{"ops@198.18.0.1:2222", "198.18.0.2"}}},
		{"-o ProxyJump, Port, User", map[string]any{"ansible_ssh_common_args": `-o ProxyJump=jump -o "Port 2201" -oUser=alice -o StrictHostKeyChecking=no`},
			Conn{Port: 2201, User: "alice", ProxyJump: []string{"jump"}}},
		{"ansible vars win over ssh args", map[string]any{"ansible_port": 2022, "ansible_user": "bob", "ansible_ssh_common_args": "-o Port=9 -o User=eve -p 8"},
			Conn{Port: 2022, User: "bob"}},
		{"first ssh option wins", map[string]any{"ansible_ssh_common_args": "-o Port=2301 -o Port=2302 -J a -J b"},
			Conn{Port: 2301, ProxyJump: []string{"a"}}},
		{"ProxyCommand ssh -W", map[string]any{"ansible_ssh_common_args": `-F /dev/null -o UserKnownHostsFile=/lab/known_hosts -o ProxyCommand="ssh -F /dev/null -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/lab/bastion_hosts -i /lab/key -W %h:%p root@198.18.0.10"`},
			Conn{ProxyJump: []string{"root@198.18.0.10"}, KnownHostsFiles: []string{"/lab/known_hosts"}, JumpKnownHostsFiles: []string{"/lab/bastion_hosts"}}},
		{"UserKnownHostsFile lists files", map[string]any{"ansible_ssh_common_args": `-o "UserKnownHostsFile=~/.ssh/site_hosts /etc/ssh/fleet_hosts" -o UserKnownHostsFile=/ignored`},
			Conn{KnownHostsFiles: []string{"~/.ssh/site_hosts", "/etc/ssh/fleet_hosts"}}},
		{"ProxyCommand with port, user and its own jump", map[string]any{"ansible_ssh_common_args": `-o 'ProxyCommand=ssh -q -J j0 -p 2222 -l ops -W %h:%p bastion'`},
			Conn{ProxyJump: []string{"j0", "ops@bastion:2222"}}},
		{"ProxyCommand not a jump", map[string]any{"ansible_ssh_common_args": `-o ProxyCommand="nc -X 5 -x proxy:1080 %h %p"`}, Conn{}},
		{"ProxyCommand remote command", map[string]any{"ansible_ssh_common_args": `-o ProxyCommand="ssh bastion nc %h %p"`}, Conn{}},
		{"ProxyCommand none", map[string]any{"ansible_ssh_common_args": `-o ProxyCommand=none`}, Conn{}},
		{"ProxyJump before ProxyCommand", map[string]any{"ansible_ssh_common_args": `-J first -o ProxyCommand="ssh -W %h:%p second"`},
			Conn{ProxyJump: []string{"first"}}},
		{"ProxyJump none", map[string]any{"ansible_ssh_common_args": "-o ProxyJump=none"}, Conn{}},
		{"become false", map[string]any{"ansible_become": "no"}, Conn{}},
	}
	for _, tc := range cases {
		h := &Host{Name: "h", Vars: tc.vars}
		if got := h.Conn(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Conn() = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestConnStringHidesSecrets(t *testing.T) {
	c := Conn{Addr: "198.18.0.5", Port: 2222, User: "ops", Password: "pw", BecomePassword: "bpw", ProxyJump: []string{"j"}}
	if got, want := c.String(), "ops@198.18.0.5:2222 via j"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestMaskedOutput(t *testing.T) {
	inv, err := Load([]string{"testdata/oracle/dir", "sec1,"})
	if err != nil {
		t.Fatal(err)
	}
	h := inv.hosts["db1"]
	if got := h.HostJSON(); !strings.Contains(got, `"ansible_password": "********"`) || strings.Contains(got, "s3cret") {
		t.Errorf("HostJSON shows a password:\n%s", got)
	}
	hosts, _ := inv.Hosts("all")
	graph, err := inv.Graph("all", hosts, true)
	if err != nil || strings.Contains(graph, "s3cret") || strings.Contains(inv.ListJSON(hosts), "s3cret") {
		t.Errorf("graph or list shows a password: %v", err)
	}
	if h.Vars["ansible_password"] != "s3cret" || h.Conn().Password != "s3cret" {
		t.Error("masking must not change the variables the runner uses")
	}
}

// TestLabInventoryConn reads the inventory remedy's lab writes: hidden hosts
// are reached through the first host.
func TestLabInventoryConn(t *testing.T) {
	inv, err := Load([]string{"testdata/oracle/lab/inventory.ini"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Conn{
		"h1": {Addr: "198.18.0.10", User: "root", KeyFile: "/tmp/remedy-lab/id_ed25519",
			KnownHostsFiles: []string{"/tmp/remedy-lab/known_hosts"}},
		"hidden1": {Addr: "198.18.2.10", User: "root", KeyFile: "/tmp/remedy-lab/id_ed25519", ProxyJump: []string{"root@198.18.0.10"},
			KnownHostsFiles: []string{"/tmp/remedy-lab/known_hosts"}, JumpKnownHostsFiles: []string{"/tmp/remedy-lab/known_hosts"}},
	}
	for name, w := range want {
		// %#v: Conn's String hides fields, and a difference must show.
		if got := inv.hosts[name].Conn(); !reflect.DeepEqual(got, w) {
			t.Errorf("%s: Conn() = %#v, want %#v", name, got, w)
		}
	}
}
