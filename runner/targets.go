package runner

import (
	"remedy/inventory"
)

// CommandLine is what the operator said on the command line about
// connecting; the inventory wins over each of it, as in Ansible.
type CommandLine struct {
	Settings              // -u, --private-key
	Become         bool   // -b
	BecomeUser     string // --become-user
	BecomePassword string // typed at -K
}

// Hosts resolves how to reach each inventory host: its inventory
// variables, then the command line, then ssh config, then defaults.
func Hosts(hosts []*inventory.Host, cli CommandLine, cfg sshConfig, def Defaults) ([]Host, error) {
	out := make([]Host, 0, len(hosts))
	for _, h := range hosts {
		c := h.Conn()
		t, err := Resolve(h.Name, inventorySettings(h.Name, c), cli.Settings, cfg, def)
		if err != nil {
			return nil, err
		}
		out = append(out, Host{Target: t, Vars: h.Vars, Become: becomeFor(c, cli)})
	}
	return out, nil
}

// inventorySettings leaves unset what the inventory did not say, so ssh
// config can fill it: the inventory reports its defaults (the host's own
// name, port 22) as if they were set.
func inventorySettings(name string, c inventory.Conn) Settings {
	s := Settings{Addr: c.Addr, Port: c.Port, User: c.User, KeyFile: c.KeyFile,
		Password: c.Password, ProxyJump: c.ProxyJump}
	if s.Addr == name {
		s.Addr = ""
	}
	if s.Port == 22 {
		s.Port = 0
	}
	return s
}

// becomeFor applies become from the inventory or the command line; the
// inventory's user and password win, as in Ansible.
func becomeFor(c inventory.Conn, cli CommandLine) *Become {
	if !c.Become && !cli.Become {
		return nil
	}
	b := &Become{User: cli.BecomeUser, Password: cli.BecomePassword}
	if c.BecomeUser != "" {
		b.User = c.BecomeUser
	}
	if c.BecomePassword != "" {
		b.Password = c.BecomePassword
	}
	return b
}
