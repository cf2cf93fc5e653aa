package runner

import (
	"fmt"

	"remedy/inventory"
)

// CommandLine is what the operator said on the command line about
// connecting; the inventory wins over each of it, as in Ansible.
type CommandLine struct {
	Settings              // -u, --private-key
	Become         bool   // -b
	BecomeMethod   string // --become-method
	BecomeUser     string // --become-user
	BecomePassword string // typed at -K
}

// Hosts resolves how to reach each inventory host: its inventory
// variables, then the command line, then ssh config, then defaults. Every
// address, user, port and file name is checked first (an inventory value
// names its file and line), so a bad one stops the run before any host is
// contacted.
func Hosts(hosts []*inventory.Host, cli CommandLine, cfg sshConfig, def Defaults) ([]Host, error) {
	if cli.User != "" {
		if err := inventory.CheckUser(cli.User); err != nil {
			return nil, fmt.Errorf("-u %q: %w", cli.User, err)
		}
	}
	out := make([]Host, 0, len(hosts))
	for _, h := range hosts {
		if err := h.CheckConn(); err != nil {
			return nil, err
		}
		c := h.Conn()
		t, err := Resolve(h.Name, inventorySettings(c), cli.Settings, cfg, def)
		if err != nil {
			return nil, err
		}
		out = append(out, Host{Target: t, Vars: h.Vars, Become: becomeFor(c, cli)})
	}
	return out, nil
}

// inventorySettings are the settings the inventory gives; what it leaves
// unset (empty, port 0) ssh config and the defaults fill.
func inventorySettings(c inventory.Conn) Settings {
	return Settings{Addr: c.Addr, Port: c.Port, User: c.User, KeyFile: c.KeyFile,
		Password: c.Password, ProxyJump: c.ProxyJump,
		KnownHosts: c.KnownHostsFiles, JumpKnownHosts: c.JumpKnownHostsFiles}
}

// becomeFor applies become from the inventory or the command line; the
// inventory's method, user and password win, as in Ansible.
func becomeFor(c inventory.Conn, cli CommandLine) *Become {
	if !c.Become && !cli.Become {
		return nil
	}
	b := &Become{Method: cli.BecomeMethod, User: cli.BecomeUser, Password: cli.BecomePassword}
	if c.BecomeMethod != "" {
		b.Method = c.BecomeMethod
	}
	if c.BecomeUser != "" {
		b.User = c.BecomeUser
	}
	if c.BecomePassword != "" {
		b.Password = c.BecomePassword
	}
	return b
}
