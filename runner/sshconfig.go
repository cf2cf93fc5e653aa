package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"

	"remedy/inventory"
)

// Endpoint is one SSH server to dial: a managed host or a bastion.
type Endpoint struct {
	Addr     string
	Port     int
	User     string
	KeyFiles []string
	Password string // from the inventory (ansible_password); -k is in Credentials
	// KnownHosts are the known_hosts files, besides the operator's, that
	// may vouch for this endpoint's key: those the inventory names for the
	// host it serves (UserKnownHostsFile), and no other host's.
	KnownHosts []string

	explicitKey bool // KeyFiles were named by someone, not OpenSSH's defaults
}

func (e Endpoint) hostPort() string {
	return joinHostPort(e.Addr, e.Port)
}

// Target is how to reach one inventory host: through Jumps, in order, to
// the host itself.
type Target struct {
	Name string
	Endpoint
	Jumps []Endpoint
}

// Settings are connection settings from one source; empty fields are
// unset and fall through to the next source.
type Settings struct {
	Addr      string
	Port      int
	User      string
	KeyFile   string
	Password  string
	ProxyJump []string // "[user@]host[:port]" hops, first dialled first
	// KnownHosts are UserKnownHostsFile files for the host and its
	// bastions; JumpKnownHosts those of a ProxyCommand's own ssh, for the
	// bastions only.
	KnownHosts, JumpKnownHosts []string
}

// sshConfig is the part of ~/.ssh/config remedy reads.
type sshConfig interface {
	Get(alias, key string) (string, error)
	GetAll(alias, key string) ([]string, error)
}

// LoadSSHConfig reads an OpenSSH client config; a missing file is an
// empty config.
func LoadSSHConfig(path string) (*ssh_config.Config, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return &ssh_config.Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	defer f.Close()
	cfg, err := ssh_config.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("ssh config %s: %w", path, err)
	}
	return cfg, nil
}

// Defaults are the last resort: the local user, port 22 and OpenSSH's
// default key files.
type Defaults struct {
	User string
	Home string
}

// Resolve decides how to reach host name. Each setting comes from the
// first source that has it: the inventory, then the command line (-u,
// --private-key), then ssh config (looked up by inventory name, like
// `ssh name` would), then defaults. The command line sits above ssh
// config because ansible passes it to ssh as -o options, which win there.
func Resolve(name string, inv, cli Settings, cfg sshConfig, def Defaults) (Target, error) {
	c, err := configFor(cfg, name, def.Home)
	if err != nil {
		return Target{}, err
	}
	t := Target{Name: name}
	t.Addr = firstString(inv.Addr, c.Addr, name)
	t.User = firstString(inv.User, cli.User, c.User, def.User)
	t.Password = inv.Password
	port, err := firstPort(name, inv.Port, c.port)
	if err != nil {
		return Target{}, err
	}
	t.Port = port
	t.KeyFiles, t.explicitKey = keyFiles(def.Home, c.KeyFiles, inv.KeyFile, cli.KeyFile)
	t.KnownHosts = expandAll(inv.KnownHosts, def.Home)
	jumps := inv.ProxyJump
	if len(jumps) == 0 {
		jumps = c.Jumps
	}
	for _, j := range jumps {
		hop, err := resolveJump(j, cli, cfg, def, t)
		if err != nil {
			return Target{}, fmt.Errorf("%s: ProxyJump %q: %w", name, j, err)
		}
		hop.KnownHosts = append(slices.Clone(t.KnownHosts), expandAll(inv.JumpKnownHosts, def.Home)...)
		t.Jumps = append(t.Jumps, hop)
	}
	return t, nil
}

// hostConfig is what ssh config says about one alias.
type hostConfig struct {
	Addr, User, port string
	KeyFiles         []string
	Jumps            []string
}

// configFor reads ssh config for alias. Its HostName and User are checked
// as the inventory's are: they reach known_hosts and the login.
func configFor(cfg sshConfig, alias, home string) (hostConfig, error) {
	get := func(key string) string {
		v, _ := cfg.Get(alias, key)
		return v
	}
	c := hostConfig{
		Addr: strings.ReplaceAll(get("HostName"), "%h", alias),
		User: get("User"),
		port: get("Port"),
	}
	if c.Addr != "" {
		if err := inventory.CheckAddress(c.Addr); err != nil {
			return hostConfig{}, fmt.Errorf("%s: ssh config HostName %q: %w", alias, c.Addr, err)
		}
	}
	if c.User != "" {
		if err := inventory.CheckUser(c.User); err != nil {
			return hostConfig{}, fmt.Errorf("%s: ssh config User %q: %w", alias, c.User, err)
		}
	}
	files, _ := cfg.GetAll(alias, "IdentityFile")
	for _, f := range files {
		c.KeyFiles = append(c.KeyFiles, expandHome(f, home))
	}
	if pj := get("ProxyJump"); pj != "" && !strings.EqualFold(pj, "none") {
		c.Jumps = strings.Split(pj, ",")
	}
	return c, nil
}

// resolveJump reads "[user@]host[:port]", then fills the gaps from ssh
// config for that host, the command line and defaults. A bastion without
// its own key files uses the target's.
func resolveJump(spec string, cli Settings, cfg sshConfig, def Defaults, target Target) (Endpoint, error) {
	hop, err := inventory.ParseHop(strings.TrimSpace(spec))
	if err != nil {
		return Endpoint{}, err
	}
	c, err := configFor(cfg, hop.Host, def.Home)
	if err != nil {
		return Endpoint{}, err
	}
	e := Endpoint{Addr: firstString(c.Addr, hop.Host), User: firstString(hop.User, c.User, cli.User, def.User)}
	port, err := firstPort(hop.Host, hop.Port, c.port)
	if err != nil {
		return Endpoint{}, err
	}
	e.Port = port
	e.KeyFiles, e.explicitKey = target.KeyFiles, target.explicitKey
	if len(c.KeyFiles) > 0 {
		e.KeyFiles, e.explicitKey = c.KeyFiles, true
	}
	return e, nil
}

// keyFiles picks the key files: the inventory's, else --private-key,
// else ssh config's IdentityFile lines, else OpenSSH's default names.
func keyFiles(home string, fromConfig []string, inv, cli string) ([]string, bool) {
	switch {
	case inv != "":
		return []string{expandHome(inv, home)}, true
	case cli != "":
		return []string{expandHome(cli, home)}, true
	case len(fromConfig) > 0:
		return fromConfig, true
	}
	var def []string
	for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		def = append(def, filepath.Join(home, ".ssh", n))
	}
	return def, false
}

func firstPort(host string, inv int, fromConfig string) (int, error) {
	if inv != 0 {
		return inv, nil
	}
	if fromConfig == "" {
		return 22, nil
	}
	p, err := strconv.Atoi(fromConfig)
	if err != nil || p <= 0 || p > 65535 {
		return 0, fmt.Errorf("%s: ssh config Port %q is not a port", host, fromConfig)
	}
	return p, nil
}

func firstString(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func expandAll(paths []string, home string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, expandHome(p, home))
	}
	return out
}

func expandHome(path, home string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		return filepath.Join(home, rest)
	}
	return path
}
