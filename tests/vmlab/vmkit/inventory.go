package vmkit

import (
	"fmt"
	"slices"
	"strings"

	"remedy/lua/shell"
)

// inventory renders the lab as an Ansible INI inventory: one group per
// profile (Ansible group names cannot hold "-"), plus "egress".
func inventory(l *Lab) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# remedy VM lab in %s (go run ./tests/vmlab status --dir %s)\n", l.Dir, shell.Quote(l.Dir))
	fmt.Fprintf(&b, "[all:vars]\nansible_user=root\nansible_ssh_private_key_file=%s\nansible_ssh_common_args='%s'\n",
		l.Key, strings.Join(l.sshOptions(), " "))
	for _, p := range Profiles {
		var lines []string
		for _, v := range l.VMs {
			if v.Profile == p {
				lines = append(lines, fmt.Sprintf("%s ansible_host=%s vm_profile=%s vm_egress=%t", v.Name, v.Addr, v.Profile, v.Egress))
			}
		}
		if len(lines) > 0 {
			fmt.Fprintf(&b, "\n[%s]\n%s\n", strings.ReplaceAll(p, "-", "_"), strings.Join(lines, "\n"))
		}
	}
	if i := slices.IndexFunc(l.VMs, func(v VM) bool { return v.Egress }); i >= 0 {
		b.WriteString("\n[egress]\n")
		for _, v := range l.VMs[i:] {
			if v.Egress {
				b.WriteString(v.Name + "\n")
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

// knownHosts renders one line per host key of each VM, in the lab's order.
func knownHosts(vms []vmState) []byte {
	var b strings.Builder
	for _, v := range vms {
		for _, k := range v.HostKeys {
			f := strings.Fields(k)
			fmt.Fprintf(&b, "%s %s %s\n", v.Addr, f[0], f[1])
		}
	}
	return []byte(b.String())
}
