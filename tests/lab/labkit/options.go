package labkit

import (
	"fmt"
	"strings"

	"remedy/tests/labstate"
)

// Profiles lists every firewall profile, in the order an empty
// Options.Profiles assigns them.
var Profiles = []string{"nftables", "iptables-legacy", "iptables-nft", "firewalld", "ufw", "none"}

// Limits on a lab's size, set by its address plan (see plan.go): the
// hosts' /23 holds them from +10 to +509, below its broadcast address at
// +511. A host costs the machine a namespace, an sshd and its firewall's
// processes (firewalld's Python daemon, its D-Bus and polkitd are the
// most, about 55 MiB), so 500 hosts of every profile take about 5 GiB.
// Those three take an inotify instance each, as three users, of the
// kernel's 128 per user (fs.inotify.max_user_instances): 128 firewalld
// hosts at most, 84 of 500.
const (
	MaxHosts  = 500
	MaxHidden = 200
)

const egressSuffix = "+egress"

// normalize checks o and fills its defaults; it touches nothing.
func (o Options) normalize() (Options, error) {
	dir, err := labstate.CheckDir("lab", o.Dir)
	if err != nil {
		return o, err
	}
	o.Dir = dir
	if o.Hosts < 1 || o.Hosts > MaxHosts {
		return o, fmt.Errorf("hosts must be between 1 and %d, not %d", MaxHosts, o.Hosts)
	}
	if o.Hidden < 0 || o.Hidden > MaxHidden {
		return o, fmt.Errorf("hidden hosts must be between 0 and %d, not %d", MaxHidden, o.Hidden)
	}
	if len(o.Profiles) == 0 {
		o.Profiles = Profiles
	}
	for _, p := range o.Profiles {
		if _, _, err := parseProfile(p); err != nil {
			return o, err
		}
	}
	return o, nil
}

// parseProfile splits "nftables+egress" into its firewall and whether it is
// egress-restricted.
func parseProfile(p string) (name string, egress bool, err error) {
	name, egress = strings.CutSuffix(strings.TrimSpace(p), egressSuffix)
	for _, known := range Profiles {
		if name == known {
			return name, egress, nil
		}
	}
	return "", false, fmt.Errorf("unknown profile %q (known: %s, each optionally with %s)",
		p, strings.Join(Profiles, ", "), egressSuffix)
}

// profileFor returns the profile of the i-th host (hidden hosts continue
// the round-robin after the visible ones).
func (o Options) profileFor(i int) (name string, egress bool) {
	name, egress, _ = parseProfile(o.Profiles[i%len(o.Profiles)])
	return name, egress || o.EgressRestricted
}
