package labkit

import (
	"fmt"
	"slices"
	"strings"

	"remedy/lua/shell"
)

// inventory renders the lab as an Ansible INI inventory: one group per
// profile (Ansible group names cannot hold "-"), plus "egress" and "hidden".
// Hidden hosts are reached through the first host with a ProxyCommand that
// carries the lab's key and known_hosts, which ProxyJump would not pass on.
func inventory(l *Lab) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# remedy lab in %s (go run ./tests/lab status --dir %s)\n", l.Dir, shell.Quote(l.Dir))
	sshArgs := strings.Join(l.sshOptions(), " ")
	fmt.Fprintf(&b, "[all:vars]\nansible_user=root\nansible_ssh_private_key_file=%s\nansible_ssh_common_args='%s'\n", l.Key, sshArgs)
	for _, p := range Profiles {
		var lines []string
		for _, h := range l.Hosts {
			if h.Profile != p {
				continue
			}
			line := fmt.Sprintf("%s ansible_host=%s lab_profile=%s lab_egress=%t", h.Name, h.Addr, h.Profile, h.Egress)
			if h.Hidden {
				line += fmt.Sprintf(" ansible_ssh_common_args='%s -o ProxyCommand=\"%s\"'", sshArgs, l.proxyCommand())
			}
			lines = append(lines, line)
		}
		if len(lines) > 0 {
			fmt.Fprintf(&b, "\n[%s]\n%s\n", strings.ReplaceAll(p, "-", "_"), strings.Join(lines, "\n"))
		}
	}
	for _, g := range []struct {
		name string
		in   func(Host) bool
	}{{"egress", func(h Host) bool { return h.Egress }}, {"hidden", func(h Host) bool { return h.Hidden }}} {
		i := slices.IndexFunc(l.Hosts, g.in)
		if i < 0 {
			continue
		}
		fmt.Fprintf(&b, "\n[%s]\n", g.name)
		for _, h := range l.Hosts[i:] {
			if g.in(h) {
				b.WriteString(h.Name + "\n")
			}
		}
	}
	return []byte(b.String())
}

// sshOptions make plain ssh check host keys strictly against the lab's
// known_hosts, whatever the user's own ssh config says.
func (l *Lab) sshOptions() []string {
	return []string{"-F", "/dev/null", "-o", "UserKnownHostsFile=" + l.KnownHosts, "-o", "StrictHostKeyChecking=yes"}
}

// proxyCommand reaches a hidden host through the first host.
func (l *Lab) proxyCommand() string {
	args := append([]string{"ssh"}, l.sshOptions()...)
	args = append(args, "-i", l.Key, "-W", "%h:%p", "root@"+l.Hosts[0].Addr)
	return strings.Join(args, " ")
}

// knownHosts renders one line per host key, hosts in address order.
func knownHosts(keys map[string][]keyPair) []byte {
	addrs := make([]string, 0, len(keys))
	for a := range keys {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	var b strings.Builder
	for _, a := range addrs {
		for _, k := range keys[a] {
			fmt.Fprintf(&b, "%s %s", a, k.public)
		}
	}
	return []byte(b.String())
}
