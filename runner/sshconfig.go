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
	// may vouch for this endpoint's key: those the inventory or ssh config
	// names for the host it serves (UserKnownHostsFile), and no other
	// host's.
	KnownHosts []string
	// CertFiles are ssh config's CertificateFile lines: certificates for
	// the key files' keys, offered with them. A key file's own
	// KEY-cert.pub is found beside it, as OpenSSH does.
	CertFiles []string

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

// sshConfig is the part of ~/.ssh/config remedy reads, and its file.
type sshConfig interface {
	Get(alias, key string) (string, error)
	GetAll(alias, key string) ([]string, error)
	File() string
}

// SSHConfig is an OpenSSH client config and the file it was read from.
type SSHConfig struct {
	file string
	cfg  *ssh_config.Config
}

// Get is the first value of key for alias.
func (c *SSHConfig) Get(alias, key string) (string, error) { return c.cfg.Get(alias, key) }

// GetAll is every value of key for alias.
func (c *SSHConfig) GetAll(alias, key string) ([]string, error) { return c.cfg.GetAll(alias, key) }

// File is where the config was read from, for messages.
func (c *SSHConfig) File() string { return c.file }

// LoadSSHConfig reads an OpenSSH client config; a missing file is an
// empty config.
func LoadSSHConfig(path string) (*SSHConfig, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return &SSHConfig{file: path, cfg: &ssh_config.Config{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	defer f.Close()
	cfg, err := ssh_config.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("ssh config %s: %w", path, err)
	}
	return &SSHConfig{file: path, cfg: cfg}, nil
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
	t.CertFiles = c.CertFiles
	t.KnownHosts = append(expandAll(inv.KnownHosts, def.Home), c.KnownHosts...)
	jumps, jumpKnownHosts := inv.ProxyJump, inv.JumpKnownHosts
	if len(jumps) == 0 {
		if c.proxyErr != nil {
			return Target{}, c.proxyErr
		}
		jumps, jumpKnownHosts = c.Jumps, c.JumpKnownHosts
	}
	for _, j := range jumps {
		hop, err := resolveJump(j, cli, cfg, def, t)
		if err != nil {
			return Target{}, fmt.Errorf("%s: ProxyJump %q: %w", name, j, err)
		}
		hop.KnownHosts = append(append(slices.Clone(t.KnownHosts), hop.KnownHosts...), expandAll(jumpKnownHosts, def.Home)...)
		t.Jumps = append(t.Jumps, hop)
	}
	return t, nil
}

// hostConfig is what ssh config says about one alias.
type hostConfig struct {
	Addr, User, port string
	KeyFiles         []string
	CertFiles        []string
	KnownHosts       []string // UserKnownHostsFile: they vouch for this alias alone
	Jumps            []string
	JumpKnownHosts   []string // of a ProxyCommand's own ssh, for the bastions
	// proxyErr refuses the proxy ssh config sets, when a jump from the
	// inventory does not take its place.
	proxyErr error
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
	c.KeyFiles = expandAll(files, home)
	files, _ = cfg.GetAll(alias, "CertificateFile")
	c.CertFiles = expandAll(files, home)
	if known := get("UserKnownHostsFile"); known != "" {
		c.KnownHosts = expandAll(strings.Fields(known), home)
	}
	c.proxyErr = c.proxy(cfg.File(), alias, get("ProxyJump"), get("ProxyCommand"))
	return c, nil
}

// proxy reads ProxyJump, or a ProxyCommand of the "ssh -W %h:%p host"
// form as the same jumps, as remedy reads it in ansible_ssh_common_args.
// Any other ProxyCommand is refused: remedy runs no command on the
// controller, and dialling the host directly would go around the proxy
// its owner set. Both at once are refused too, as which one OpenSSH uses
// depends on their order in the file, which remedy does not see. A jump
// the inventory sets takes the place of either, as -o ProxyJump on ssh's
// command line does.
func (c *hostConfig) proxy(file, alias, jump, command string) error {
	jump, command = noneAsEmpty(jump), noneAsEmpty(command)
	switch {
	case jump != "" && command != "":
		return fmt.Errorf("%s: host %s: both ProxyJump and ProxyCommand are set; keep one", file, alias)
	case jump != "":
		c.Jumps = strings.Split(jump, ",")
	case command != "":
		if c.Jumps, c.JumpKnownHosts = inventory.ProxyCommandHops(command); c.Jumps == nil {
			return fmt.Errorf("%s: host %s: ProxyCommand %q is not supported: remedy runs no command on the controller, "+
				"and follows only \"ssh -W %%h:%%p [user@]bastion\"; use ProxyJump", file, alias, command)
		}
	}
	return nil
}

func noneAsEmpty(s string) string {
	if strings.EqualFold(s, "none") {
		return ""
	}
	return s
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
	if len(c.Jumps) > 0 || c.proxyErr != nil {
		// OpenSSH would reach the bastion through its own proxy; remedy
		// dials each hop of one chain, and must not go around that proxy.
		return Endpoint{}, fmt.Errorf("%s: host %s has a ProxyJump or ProxyCommand of its own, which remedy does not follow for a bastion; "+
			"list every hop in one ProxyJump instead", cfg.File(), hop.Host)
	}
	e := Endpoint{Addr: firstString(c.Addr, hop.Host), User: firstString(hop.User, c.User, cli.User, def.User),
		CertFiles: c.CertFiles, KnownHosts: c.KnownHosts}
	port, err := firstPort(hop.Host, hop.Port, c.port)
	if err != nil {
		return Endpoint{}, err
	}
	e.Port = port
	e.KeyFiles, e.explicitKey = target.KeyFiles, target.explicitKey
	if len(c.KeyFiles) > 0 {
		e.KeyFiles, e.explicitKey = c.KeyFiles, true
	} else if len(e.CertFiles) == 0 {
		e.CertFiles = target.CertFiles
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
