package sshd

import (
	"slices"
	"strings"
)

// Config is the effective server configuration printed by `sshd -T`: each
// lower-case keyword with its values in the order sshd printed them, one
// value per output line.
type Config map[string][]string

// multiValued names the keywords sshd -T prints once per value (OpenSSH 9.2),
// so a caller sees them as lists even when they hold a single value.
var multiValued = map[string]bool{
	"port": true, "listenaddress": true, "hostkey": true, "hostcertificate": true,
	"acceptenv": true, "setenv": true, "subsystem": true,
	"allowusers": true, "denyusers": true, "allowgroups": true, "denygroups": true,
}

// MultiValued reports whether key is a list-valued keyword: one sshd -T
// prints as several lines, or one that did appear on several lines here.
func (c Config) MultiValued(key string) bool {
	return multiValued[key] || len(c[key]) > 1
}

// Get returns the first value of key, or "" when sshd printed none.
func (c Config) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// ListenPorts returns the sorted ports of the sockets sshd opens: the
// listenaddress values, which sshd -T prints with their ports resolved
// ("0.0.0.0:22", "[::]:22", "198.18.0.1:2222 rdomain r1").
func (c Config) ListenPorts() []int {
	var ports []int
	for _, v := range c["listenaddress"] {
		la, err := parseListenAddress(strings.Fields(v))
		if err == nil && la.port != 0 && !slices.Contains(ports, la.port) {
			ports = append(ports, la.port)
		}
	}
	slices.Sort(ports)
	return ports
}

// ParseEffective reads the output of `sshd -T`: "keyword value..." lines.
// Keywords are already lower case there; they are lowered again so the
// result does not depend on that.
func ParseEffective(out string) Config {
	c := Config{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, value, _ := strings.Cut(line, " ")
		key = strings.ToLower(key)
		c[key] = append(c[key], strings.TrimSpace(value))
	}
	return c
}
