package runner

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kevinburke/ssh_config"
)

const testSSHConfig = `
Host web1
  HostName 198.18.5.1
  User deploy
  Port 2222
  IdentityFile ~/.ssh/web_key
  ProxyJump bastion

Host bastion
  HostName 198.18.5.254
  User jump
  IdentityFile ~/.ssh/jump_key

Host alias-*
  HostName %h.example.net

Host *.internal
  ProxyJump admin@gw1:2200,gw2

Host badport
  Port http

Host badname
  HostName 198.18.5.1,*

Host baduser
  User -oProxyCommand=x
`

func TestResolvePrecedence(t *testing.T) {
	cfg, err := ssh_config.Decode(strings.NewReader(testSSHConfig))
	if err != nil {
		t.Fatal(err)
	}
	def := Defaults{User: "me", Home: "/home/me"}
	defaultKeys := []string{"/home/me/.ssh/id_ed25519", "/home/me/.ssh/id_ecdsa", "/home/me/.ssh/id_rsa"}
	tests := []struct {
		name     string
		host     string
		inv, cli Settings
		want     Target
	}{
		{
			name: "defaults only",
			host: "plain",
			want: Target{Name: "plain", Endpoint: Endpoint{Addr: "plain", Port: 22, User: "me", KeyFiles: defaultKeys}},
		},
		{
			name: "ssh config fills everything, bastion resolved through it too",
			host: "web1",
			want: Target{Name: "web1",
				Endpoint: Endpoint{Addr: "198.18.5.1", Port: 2222, User: "deploy", KeyFiles: []string{"/home/me/.ssh/web_key"}, explicitKey: true},
				Jumps:    []Endpoint{{Addr: "198.18.5.254", Port: 22, User: "jump", KeyFiles: []string{"/home/me/.ssh/jump_key"}, explicitKey: true}}},
		},
		{
			name: "command line beats ssh config",
			host: "web1",
			cli:  Settings{User: "cliuser", KeyFile: "/keys/cli"},
			want: Target{Name: "web1",
				Endpoint: Endpoint{Addr: "198.18.5.1", Port: 2222, User: "cliuser", KeyFiles: []string{"/keys/cli"}, explicitKey: true},
				Jumps:    []Endpoint{{Addr: "198.18.5.254", Port: 22, User: "jump", KeyFiles: []string{"/home/me/.ssh/jump_key"}, explicitKey: true}}},
		},
		{
			name: "inventory beats command line and ssh config",
			host: "web1",
			inv:  Settings{Addr: "198.18.9.9", Port: 33001, User: "invuser", KeyFile: "~/inv_key", Password: "pw", ProxyJump: []string{"root@198.18.9.1"}},
			cli:  Settings{User: "cliuser", KeyFile: "/keys/cli"},
			want: Target{Name: "web1",
				Endpoint: Endpoint{Addr: "198.18.9.9", Port: 33001, User: "invuser", KeyFiles: []string{"/home/me/inv_key"}, Password: "pw", explicitKey: true},
				Jumps:    []Endpoint{{Addr: "198.18.9.1", Port: 22, User: "root", KeyFiles: []string{"/home/me/inv_key"}, explicitKey: true}}},
		},
		{
			name: "%h in HostName",
			host: "alias-db",
			want: Target{Name: "alias-db", Endpoint: Endpoint{Addr: "alias-db.example.net", Port: 22, User: "me", KeyFiles: defaultKeys}},
		},
		{
			name: "a chain of bastions with users and ports",
			host: "db.internal",
			cli:  Settings{User: "ops"},
			want: Target{Name: "db.internal",
				Endpoint: Endpoint{Addr: "db.internal", Port: 22, User: "ops", KeyFiles: defaultKeys},
				Jumps: []Endpoint{
					{Addr: "gw1", Port: 2200, User: "admin", KeyFiles: defaultKeys},
					{Addr: "gw2", Port: 22, User: "ops", KeyFiles: defaultKeys},
				}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.host, tt.inv, tt.cli, cfg, def)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Resolve:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	cfg, err := ssh_config.Decode(strings.NewReader(testSSHConfig))
	if err != nil {
		t.Fatal(err)
	}
	def := Defaults{User: "me", Home: "/home/me"}
	if _, err := Resolve("badport", Settings{}, Settings{}, cfg, def); err == nil || !strings.Contains(err.Error(), "http") {
		t.Errorf("a non-numeric ssh config Port: err = %v", err)
	}
	inv := Settings{ProxyJump: []string{"root@gw:notaport"}}
	if _, err := Resolve("h", inv, Settings{}, cfg, def); err == nil || !strings.Contains(err.Error(), "ProxyJump") {
		t.Errorf("a bad ProxyJump port: err = %v", err)
	}
	// ssh config's values reach known_hosts and the login as the
	// inventory's do, and are checked the same way, for hosts and bastions.
	for _, tt := range []struct {
		host string
		inv  Settings
		want string
	}{
		{"badname", Settings{}, `HostName "198.18.5.1,*"`},
		{"baduser", Settings{}, `User "-oProxyCommand=x"`},
		{"h", Settings{ProxyJump: []string{"badname"}}, `HostName "198.18.5.1,*"`},
		{"h", Settings{ProxyJump: []string{"baduser"}}, `User "-oProxyCommand=x"`},
	} {
		if _, err := Resolve(tt.host, tt.inv, Settings{}, cfg, def); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s via %v: err = %v, want it to name ssh config %s", tt.host, tt.inv.ProxyJump, err, tt.want)
		}
	}
}
