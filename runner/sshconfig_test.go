package runner

import (
	"reflect"
	"slices"
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
	cfg := decodeSSHConfig(t, testSSHConfig)
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
	cfg := decodeSSHConfig(t, testSSHConfig)
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

// decodeSSHConfig reads text as ~/.ssh/config.
func decodeSSHConfig(t *testing.T, text string) *SSHConfig {
	t.Helper()
	cfg, err := ssh_config.Decode(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return &SSHConfig{file: "/home/me/.ssh/config", cfg: cfg}
}

// A ProxyCommand in ssh config is followed as the jump it names when it
// is "ssh -W %h:%p bastion", and refused otherwise, naming the file and
// the host: never skipped, which would dial the host directly.
// UserKnownHostsFile and CertificateFile apply to the hosts their block
// matches.
func TestSSHConfigProxyCommandAndFiles(t *testing.T) {
	cfg := decodeSSHConfig(t, `
Host behind
  HostName 198.18.5.7
  ProxyCommand ssh -o UserKnownHostsFile=~/.ssh/bastion_hosts -W %h:%p jump@198.18.5.254
  UserKnownHostsFile ~/.ssh/site_hosts /etc/ssh/site_hosts
  CertificateFile ~/.ssh/id_ed25519-site-cert.pub

Host socks
  ProxyCommand nc -X 5 -x proxy:1080 %h %p

Host both
  ProxyJump gw
  ProxyCommand ssh -W %h:%p gw

Host direct
  ProxyCommand none
`)
	def := Defaults{User: "me", Home: "/home/me"}
	got, err := Resolve("behind", Settings{}, Settings{}, cfg, def)
	if err != nil {
		t.Fatal(err)
	}
	site := []string{"/home/me/.ssh/site_hosts", "/etc/ssh/site_hosts"}
	if len(got.Jumps) != 1 || got.Jumps[0].Addr != "198.18.5.254" || got.Jumps[0].User != "jump" {
		t.Errorf("jumps %+v, want jump@198.18.5.254", got.Jumps)
	}
	if !reflect.DeepEqual(got.KnownHosts, site) || !reflect.DeepEqual(got.CertFiles, []string{"/home/me/.ssh/id_ed25519-site-cert.pub"}) {
		t.Errorf("known hosts %v, certificates %v", got.KnownHosts, got.CertFiles)
	}
	if want := append(slices.Clone(site), "/home/me/.ssh/bastion_hosts"); len(got.Jumps) == 1 && !reflect.DeepEqual(got.Jumps[0].KnownHosts, want) {
		t.Errorf("the bastion's known hosts %v, want %v", got.Jumps[0].KnownHosts, want)
	}
	if got, err := Resolve("direct", Settings{}, Settings{}, cfg, def); err != nil || len(got.Jumps) != 0 {
		t.Errorf("ProxyCommand none: %+v, %v", got, err)
	}
	for host, want := range map[string]string{
		"socks": `/home/me/.ssh/config: host socks: ProxyCommand "nc -X 5 -x proxy:1080 %h %p" is not supported`,
		"both":  "/home/me/.ssh/config: host both: both ProxyJump and ProxyCommand",
	} {
		if _, err := Resolve(host, Settings{}, Settings{}, cfg, def); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", host, err, want)
		}
	}
	// The inventory's own jump wins over ssh config's, as -o ProxyJump
	// on ssh's command line does.
	if got, err := Resolve("socks", Settings{ProxyJump: []string{"198.18.5.1"}}, Settings{}, cfg, def); err != nil || len(got.Jumps) != 1 {
		t.Errorf("an inventory jump in place of ssh config's ProxyCommand: %+v, %v", got, err)
	}
}
