package vmkit

import (
	"fmt"
	"slices"
	"strings"
)

// A profile is a kind of lab VM: the Debian it runs and what its kernel is
// told at boot. Its image is built by recipe/profiles/NAME.sh.
type profile struct {
	suite      string
	kernelArgs []string
	// egress says whether the profile has an egress-restricted variant: a
	// firewall that can drop output.
	egress bool
}

var profiles = map[string]profile{
	"nftables":   {suite: "bookworm", egress: true},
	"iptables":   {suite: "bookworm", egress: true},
	"firewalld":  {suite: "bookworm", egress: true},
	"ufw":        {suite: "bookworm", egress: true},
	"selinux":    {suite: "bookworm", egress: true, kernelArgs: []string{"security=selinux", "selinux=1"}},
	"ssh-socket": {suite: "trixie"},
}

// Profiles lists every profile, in the order an empty Options.Profiles
// boots them.
var Profiles = []string{"nftables", "iptables", "firewalld", "ufw", "selinux", "ssh-socket"}

const egressSuffix = "+egress"

// Images lists every image a VM lab can boot: each profile, then the
// egress-restricted variant of each that has one. `vmlab build` builds
// them all unless told otherwise, so that the VM tier of make test finds
// every image it boots ready.
func Images() []string {
	images := slices.Clone(Profiles)
	for _, p := range Profiles {
		if profiles[p].egress {
			images = append(images, p+egressSuffix)
		}
	}
	return images
}

// parseProfile splits "nftables+egress" into its profile and whether it is
// egress-restricted.
func parseProfile(s string) (name string, egress bool, err error) {
	name, egress = strings.CutSuffix(strings.TrimSpace(s), egressSuffix)
	p, ok := profiles[name]
	if !ok {
		return "", false, fmt.Errorf("unknown VM profile %q (known: %s, the firewalls' optionally with %s)",
			s, strings.Join(Profiles, ", "), egressSuffix)
	}
	if egress && !p.egress {
		return "", false, fmt.Errorf("VM profile %q: %s has no firewall to restrict egress with", s, name)
	}
	return name, egress, nil
}

// imageName names the image a profile boots from: one per profile and
// variant.
func imageName(profile string, egress bool) string {
	if egress {
		return profile + egressSuffix
	}
	return profile
}
