package inventory

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
)

// CheckConn checks every value remedy would dial, log in with or write
// into known_hosts for h: its name, ansible_host, ansible_port,
// ansible_user, the key file, and the port, user, jump hosts, known_hosts
// files and ProxyCommand in ansible_ssh_common_args and
// ansible_ssh_extra_args. The error names the file and line that set the
// bad value. Ansible lets odd values through to an ssh binary, which
// checks them; remedy dials and records host keys itself, so run and audit
// check before any host is contacted, while listing an inventory does not.
func (h *Host) CheckConn() error {
	if err := checkWord(h.Name); err != nil {
		return h.at.errorf("host name %q: %v", h.Name, err)
	}
	if h.firstKey("ansible_host", "ansible_ssh_host") == "" {
		if err := CheckAddress(h.Name); err != nil {
			return h.at.errorf("%s: the host name is its address (no ansible_host): %v", h.Name, err)
		}
	}
	checks := []struct {
		keys  []string
		check func(string) error
	}{
		{[]string{"ansible_host", "ansible_ssh_host"}, CheckAddress},
		{[]string{"ansible_user", "ansible_ssh_user"}, CheckUser},
		{[]string{"ansible_ssh_private_key_file", "ansible_private_key_file"}, checkPath},
		{[]string{"ansible_port", "ansible_ssh_port"}, checkPortNumber},
		{[]string{"ansible_ssh_common_args"}, checkSSHArgs},
		{[]string{"ansible_ssh_extra_args"}, checkSSHArgs},
		{[]string{"ansible_become_method"}, CheckBecomeMethod},
	}
	for _, c := range checks {
		key := h.firstKey(c.keys...)
		if key == "" {
			continue
		}
		if err := checkValue(h.Vars[key], c.check); err != nil {
			return h.varsAt[key].errorf("%s: %s %q: %v", h.Name, key, valueText(h.Vars[key]), err)
		}
	}
	return nil
}

// firstKey is the first of keys h has a value for, as Conn reads them; ""
// when none.
func (h *Host) firstKey(keys ...string) string {
	for _, k := range keys {
		if v, ok := h.Vars[k]; ok && v != nil {
			return k
		}
	}
	return ""
}

// valueText is v as an error message shows it, through %q, so no control
// character reaches the terminal.
func valueText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

// checkValue checks a scalar as the string Conn reads; a list or mapping
// would reach the runner as "null".
func checkValue(v any, check func(string) error) error {
	switch v.(type) {
	case map[string]any, []any:
		return errors.New("is not a single value")
	}
	s, ok := v.(string)
	if !ok {
		s = pyJSONScalar(v)
	}
	if s == "" {
		return nil
	}
	return check(s)
}

// checkWord refuses what no host name, address, user or path remedy
// dials may hold: control and format characters (a newline would start a
// new known_hosts line, an escape sequence would rewrite the terminal),
// white space, and a leading '-', which a command would read as an option.
func checkWord(s string) error {
	if s == "" {
		return errors.New("is empty")
	}
	if err := checkChars(s); err != nil {
		return err
	}
	for _, r := range s {
		if unicode.IsSpace(r) {
			return fmt.Errorf("holds white space (%U)", r)
		}
	}
	if s[0] == '-' {
		return errors.New("starts with '-', which a command would read as an option")
	}
	return nil
}

func checkChars(s string) error {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar {
			return fmt.Errorf("holds a control or format character (%U)", r)
		}
	}
	return nil
}

// CheckAddress checks a host address remedy dials and records in
// known_hosts: an IP address, or a host name of ASCII letters, digits,
// '.', '-' and '_'. Anything else could be a known_hosts pattern ('*',
// '?', '!', ',') or a second field, and is no name DNS can resolve.
func CheckAddress(s string) error {
	if err := checkWord(s); err != nil {
		return err
	}
	ipOnly := false
	for _, r := range s {
		switch {
		case r == ':' || r == '%':
			ipOnly = true
		case r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' || r == '_'):
		default:
			return fmt.Errorf("holds %q, which no host name or IP address has", r)
		}
	}
	if _, err := netip.ParseAddr(s); ipOnly && err != nil {
		return fmt.Errorf("is not an IP address (%v), and ':' and '%%' go only in IPv6 addresses", err)
	}
	return nil
}

// CheckUser checks a login name.
func CheckUser(s string) error {
	return checkWord(s)
}

// checkPath checks a file name: spaces are allowed, control characters
// and a leading '-' are not.
func checkPath(s string) error {
	if err := checkChars(s); err != nil {
		return err
	}
	if strings.HasPrefix(s, "-") {
		return errors.New("starts with '-'; write ./" + s + " for a file of that name")
	}
	return nil
}

func checkPortNumber(s string) error {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return errors.New("is not a port (1-65535)")
	}
	return nil
}

// CheckBecomeMethod accepts the become methods remedy has, sudo and su:
// another one (doas, pbrun, machinectl) is refused rather than replaced by
// sudo.
func CheckBecomeMethod(s string) error {
	if s != "sudo" && s != "su" {
		return errors.New("is not a become method remedy has (sudo or su)")
	}
	return nil
}

// checkSSHArgs checks the options of ssh arguments that remedy follows;
// as for ssh, only the first value of each counts.
func checkSSHArgs(s string) error {
	o, err := sshArgs(s)
	if err != nil {
		return err
	}
	if o.proxyCmd != "" {
		return fmt.Errorf("ProxyCommand %q is not supported (only \"ssh -W %%h:%%p host\"); use -o ProxyJump= instead", o.proxyCmd)
	}
	if o.port != "" {
		if err := checkPortNumber(o.port); err != nil {
			return fmt.Errorf("port %q: %v", o.port, err)
		}
	}
	if o.user != "" {
		if err := CheckUser(o.user); err != nil {
			return fmt.Errorf("user %q: %v", o.user, err)
		}
	}
	for _, hop := range o.jumps {
		if _, err := ParseHop(hop); err != nil {
			return fmt.Errorf("jump host %q: %v", hop, err)
		}
	}
	for _, f := range append(o.knownHosts, o.jumpKnownHosts...) {
		if err := checkPath(f); err != nil {
			return fmt.Errorf("UserKnownHostsFile %q: %v", f, err)
		}
	}
	return nil
}

// Hop is one jump host, as ProxyJump writes it: [user@]host[:port].
type Hop struct {
	User string // empty: not given
	Host string
	Port int // 0: not given
}

// ParseHop reads and checks "[user@]host[:port]"; an IPv6 address with a
// port goes in brackets. As in OpenSSH, the user ends at the last '@'.
func ParseHop(spec string) (Hop, error) {
	var h Hop
	hostport := spec
	if at := strings.LastIndex(spec, "@"); at >= 0 {
		h.User, hostport = spec[:at], spec[at+1:]
		if err := CheckUser(h.User); err != nil {
			return Hop{}, fmt.Errorf("user %q: %v", h.User, err)
		}
	}
	host, port := hostport, ""
	if rest, ok := strings.CutPrefix(hostport, "["); ok {
		var found bool
		if host, rest, found = strings.Cut(rest, "]"); !found {
			return Hop{}, errors.New("'[' without ']'")
		}
		if port, found = strings.CutPrefix(rest, ":"); !found && rest != "" {
			return Hop{}, fmt.Errorf("%q after ']'", rest)
		}
	} else if strings.Count(hostport, ":") == 1 {
		host, port, _ = strings.Cut(hostport, ":")
	}
	if err := CheckAddress(host); err != nil {
		return Hop{}, fmt.Errorf("host %q: %v", host, err)
	}
	h.Host = host
	if port != "" {
		if err := checkPortNumber(port); err != nil {
			return Hop{}, fmt.Errorf("port %q: %v", port, err)
		}
		h.Port, _ = strconv.Atoi(port)
	}
	return h, nil
}
