// Package valid checks the shape of values that become arguments of
// commands run on a managed host: a domain name, a host, a port, a path.
// Quoting (lua/shell) keeps a value one argument; a shape keeps that
// argument from being read as an option (-f/etc/shadow to dig), a server
// (@host), or anything but the one thing it names. Many tools accept no
// "--" to end their options (dig does not), so the shape is what holds.
package valid

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Domain checks that s is a host name as RFC 1123 has it: dot-separated
// labels of letters, digits and inner hyphens, at most 63 bytes each and
// 253 in all. Such a name starts with a letter or digit, so no tool reads
// it as an option.
func Domain(s string) error {
	if s == "" || len(s) > 253 {
		return errors.New("not a domain name")
	}
	for _, label := range strings.Split(s, ".") {
		if !isLabel(label) {
			return errors.New("not a domain name")
		}
	}
	return nil
}

func isLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// Host checks that s is a domain name or an IP address. A zone
// ("fe80::1%eth0") is refused: no remote command needs one.
func Host(s string) error {
	if Domain(s) == nil {
		return nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return nil
	}
	return errors.New("not a host name or IP address")
}

// Port reads s, decimal digits alone, as a TCP or UDP port, 1-65535.
func Port(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || s[0] == '+' {
		return 0, errors.New("not a port (1-65535)")
	}
	return n, nil
}

// Path checks that s is an absolute, clean path without control
// characters: it starts with "/", so no tool reads it as an option, and
// says plainly which file it names.
func Path(s string) error {
	switch {
	case !strings.HasPrefix(s, "/"):
		return errors.New("not an absolute path")
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("a path with a control character")
	case path.Clean(s) != s:
		return fmt.Errorf("not a clean path (%s)", path.Clean(s))
	case len(s) > 4096:
		return errors.New("a path longer than 4096 bytes")
	}
	return nil
}

// serviceName is what unit and init script names look like; a leading
// dash would read as an option.
var serviceName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_@.:-]*$`)

// Service checks that s is a service's name: a systemd unit or an init
// script, starting with a letter, digit or underscore.
func Service(s string) error {
	if !serviceName.MatchString(s) {
		return errors.New("not a service name")
	}
	return nil
}

// Addr checks that s is an IP address without a zone.
func Addr(s string) error {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return nil
	}
	return errors.New("not an IP address")
}

// ifaceName is the shape of the interface names remedy takes: what
// distributions, container runtimes and VPNs name them (eth0, enp3s0,
// br-1a2b, veth1234@if5 is shown but named veth1234, eth0.100, wg0).
var ifaceName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,14}$`)

// Iface checks that s is a network interface name: at most 15 bytes, as
// Linux allows (IFNAMSIZ), of letters, digits, "_", ".", "+" and "-",
// starting with a letter, digit or "_", so no tool reads it as an option.
func Iface(s string) error {
	if !ifaceName.MatchString(s) {
		return errors.New("not an interface name")
	}
	return nil
}
