package inventory

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Conn is how to reach a host, read from its connection variables. A
// setting the inventory does not give is zero or empty, never a default:
// the runner must tell an explicit ansible_port=22 (which beats
// ~/.ssh/config, as ssh -o Port=22 does) from no port at all (ssh config,
// then 22).
type Conn struct {
	Addr           string // ansible_host; empty: the inventory name, unless ssh config says
	Port           int    // ansible_port, else -o Port= in ansible_ssh_common_args; 0: unset
	User           string // ansible_user, else -o User=; empty means the runner's default
	KeyFile        string // ansible_ssh_private_key_file
	Password       string // ansible_password (ansible_ssh_pass)
	Become         bool
	BecomeMethod   string // ansible_become_method; empty: the command line's, else sudo
	BecomeUser     string // empty means root
	BecomePassword string // ansible_become_password (ansible_become_pass, ansible_sudo_pass)
	// ProxyJump lists the jump hosts, first hop first, each "[user@]host[:port]",
	// from -J, -o ProxyJump= or -o ProxyCommand="ssh -W %h:%p host" in
	// ansible_ssh_common_args.
	ProxyJump []string
	// KnownHostsFiles are the files of -o UserKnownHostsFile= in
	// ansible_ssh_common_args, as written ("~" not expanded): they may
	// vouch for this host's key, and its bastions', and no other host's.
	KnownHostsFiles []string
	// JumpKnownHostsFiles are the UserKnownHostsFile files a ProxyCommand
	// "ssh -W" names for its own connection to the bastion.
	JumpKnownHostsFiles []string
}

// Conn reads the host's connection variables. As with ssh, an ansible_*
// variable wins over the same setting in ansible_ssh_common_args.
func (h *Host) Conn() Conn {
	c := Conn{
		Addr:           h.firstString("ansible_host", "ansible_ssh_host"),
		User:           h.firstString("ansible_user", "ansible_ssh_user"),
		KeyFile:        h.firstString("ansible_ssh_private_key_file", "ansible_private_key_file"),
		Password:       h.firstString("ansible_password", "ansible_ssh_pass", "ansible_ssh_password"),
		Become:         truthy(h.Vars["ansible_become"]),
		BecomeMethod:   h.firstString("ansible_become_method"),
		BecomeUser:     h.firstString("ansible_become_user"),
		BecomePassword: h.firstString("ansible_become_password", "ansible_become_pass", "ansible_sudo_pass"),
	}
	if p, err := toInt(h.first("ansible_port", "ansible_ssh_port")); err == nil {
		c.Port = p
	}
	args, _ := sshArgs(h.firstString("ansible_ssh_common_args") + " " + h.firstString("ansible_ssh_extra_args"))
	if c.Port == 0 {
		c.Port, _ = strconv.Atoi(args.port)
	}
	if c.User == "" {
		c.User = args.user
	}
	c.ProxyJump = args.jumps
	c.KnownHostsFiles = args.knownHosts
	c.JumpKnownHostsFiles = args.jumpKnownHosts
	return c
}

func (h *Host) first(keys ...string) any {
	for _, k := range keys {
		if v, ok := h.Vars[k]; ok && v != nil {
			return v
		}
	}
	return nil
}

func (h *Host) firstString(keys ...string) string {
	v := h.first(keys...)
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return pyJSONScalar(v)
}

// truthy is Ansible's boolean conversion of a variable.
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int:
		return x == 1
	case float64:
		return x == 1
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "yes", "on", "1", "true", "t", "y", "1.0":
			return true
		}
	}
	return false
}

// sshOptions are the settings remedy honours from ssh command-line args.
type sshOptions struct {
	port, user     string
	jumps          []string
	knownHosts     []string
	jumpKnownHosts []string // of the ssh a ProxyCommand runs
	// proxyCmd is a ProxyCommand that is not a plain "ssh -W" jump, which
	// remedy cannot follow: CheckConn refuses the host rather than let it
	// be dialled directly, around the proxy its owner set.
	proxyCmd string
}

// sshArgs reads -J, -p, -l and -o Port=/User=/ProxyJump=/ProxyCommand=/
// UserKnownHostsFile= from ssh arguments; as in ssh, the first value of an
// option wins. Arguments that do not split (an unclosed quote) give no
// options and the error.
func sshArgs(s string) (sshOptions, error) {
	var o sshOptions
	words, err := shlexSplit(s)
	if err != nil {
		return o, err
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if len(w) < 2 || w[0] != '-' || !strings.Contains("oJpl", w[1:2]) {
			continue
		}
		flag, val := w[:2], w[2:]
		if val == "" && i+1 < len(words) {
			i++
			val = words[i]
		}
		o.apply(flag, val)
	}
	return o, nil
}

func (o *sshOptions) apply(flag, val string) {
	switch flag {
	case "-J":
		o.setJumps(val)
	case "-p":
		o.port = firstNonEmpty(o.port, val)
	case "-l":
		o.user = firstNonEmpty(o.user, val)
	case "-o":
		key, v, ok := strings.Cut(val, "=")
		if !ok {
			key, v, _ = strings.Cut(strings.TrimSpace(val), " ")
		}
		switch strings.ToLower(strings.TrimSpace(key)) {
		case "port":
			o.port = firstNonEmpty(o.port, strings.TrimSpace(v))
		case "user":
			o.user = firstNonEmpty(o.user, strings.TrimSpace(v))
		case "proxyjump":
			o.setJumps(strings.TrimSpace(v))
		case "userknownhostsfile":
			if o.knownHosts == nil {
				o.knownHosts = strings.Fields(v)
			}
		case "proxycommand":
			if o.jumps == nil && o.proxyCmd == "" {
				cmd := strings.TrimSpace(v)
				if o.jumps, o.jumpKnownHosts = ProxyCommandHops(cmd); o.jumps == nil && !strings.EqualFold(cmd, "none") {
					o.proxyCmd = cmd
				}
			}
		}
	}
}

func (o *sshOptions) setJumps(val string) {
	if o.jumps != nil || val == "" || strings.EqualFold(val, "none") {
		return
	}
	for _, hop := range strings.Split(val, ",") {
		if hop = strings.TrimSpace(strings.TrimPrefix(hop, "ssh://")); hop != "" {
			o.jumps = append(o.jumps, hop)
		}
	}
}

// sshFlagsWithArg are the ssh options that take an argument.
const sshFlagsWithArg = "BbcDEeFIiJLlmOoPpQRSWw"

// ProxyCommandHops reads the ProxyJump equivalent of a ProxyCommand of the
// form "ssh [options] -W %h:%p [user@]host", the usual bastion idiom before
// ProxyJump (and what remedy's lab writes), and the known_hosts files that
// ssh checks the bastion against; any other command gives no hops.
func ProxyCommandHops(command string) (hops, knownHosts []string) {
	words, err := shlexSplit(command)
	if err != nil || len(words) == 0 || path.Base(words[0]) != "ssh" {
		return nil, nil
	}
	var inner sshOptions
	forward, dest := "", ""
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case dest != "":
			// A remote command after the host: not a plain jump.
			return nil, nil
		case len(w) >= 2 && w[0] == '-' && strings.IndexByte(sshFlagsWithArg, w[1]) >= 0:
			flag, val := w[:2], w[2:]
			if val == "" && i+1 < len(words) {
				i++
				val = words[i]
			}
			if flag == "-W" {
				forward = val
			}
			inner.apply(flag, val)
		case strings.HasPrefix(w, "-"):
		default:
			dest = w
		}
	}
	if dest == "" || (forward != "%h:%p" && forward != "[%h]:%p") {
		return nil, nil
	}
	return append(inner.jumps, jumpHop(dest, inner.user, inner.port)), inner.knownHosts
}

// jumpHop writes a hop as ProxyJump has it: [user@]host[:port].
func jumpHop(dest, user, port string) string {
	dest = strings.TrimPrefix(dest, "ssh://")
	if at := strings.LastIndex(dest, "@"); at >= 0 {
		user, dest = dest[:at], dest[at+1:]
	}
	if port != "" {
		if strings.Contains(dest, ":") {
			dest = "[" + dest + "]"
		}
		dest += ":" + port
	}
	if user != "" {
		dest = user + "@" + dest
	}
	return dest
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// String describes the connection without its secrets, leaving out what
// the inventory does not set.
func (c Conn) String() string {
	s := c.Addr
	if c.Port != 0 {
		s += fmt.Sprintf(":%d", c.Port)
	}
	if c.User != "" {
		s = c.User + "@" + s
	}
	if len(c.ProxyJump) > 0 {
		s += " via " + strings.Join(c.ProxyJump, ",")
	}
	return s
}
