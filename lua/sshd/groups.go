package sshd

import (
	"fmt"
	"slices"
	"strconv"
)

// group is a set of sockets whose ports come from the same lines: every
// address without its own port (ports from Port lines), or one address
// pinned by ListenAddress addr:port lines.
type group struct {
	pinned   bool
	addr     listenAddr // pinned groups: host and rdomain; port unused
	lines    []portLine // the Port lines, or this address's ListenAddress lines
	explicit []int      // the ports those lines name, in order, once each
}

// ports returns the ports the group listens on.
func (g *group) ports() []int {
	if !g.pinned && len(g.explicit) == 0 {
		return []int{22}
	}
	return g.explicit
}

// directive returns the config line that makes the group listen on port.
func (g *group) directive(port int) string {
	if !g.pinned {
		return "Port " + strconv.Itoa(port)
	}
	s := "ListenAddress " + hostPort(g.addr.host, port)
	if g.addr.rdomain != "" {
		s += " rdomain " + g.addr.rdomain
	}
	return s
}

// collectGroups sorts Port and ListenAddress lines into groups, the unpinned
// one first. Lines inside a Match block are skipped: sshd refuses them, and
// the binding refuses a config sshd -t rejects.
func collectGroups(t *tree) ([]*group, error) {
	unpinned := &group{}
	var pinned []*group
	listens, unpinnedAddrs := 0, 0
	for _, d := range t.directives {
		if d.inMatch {
			continue
		}
		switch d.key {
		case "port":
			if len(d.args) != 1 {
				return nil, fmt.Errorf("%s: Port takes one port", d.where())
			}
			p, err := parsePort(d.args[0])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.where(), err)
			}
			unpinned.add(d, p)
		case "listenaddress":
			la, err := parseListenAddress(d.args)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.where(), err)
			}
			listens++
			if la.port == 0 {
				unpinnedAddrs++
				continue
			}
			pinnedGroup(&pinned, la).add(d, la.port)
		}
	}
	if listens > 0 && unpinnedAddrs == 0 {
		return pinned, nil
	}
	return append([]*group{unpinned}, pinned...), nil
}

func pinnedGroup(groups *[]*group, la listenAddr) *group {
	for _, g := range *groups {
		if g.addr.host == la.host && g.addr.rdomain == la.rdomain {
			return g
		}
	}
	g := &group{pinned: true, addr: listenAddr{host: la.host, rdomain: la.rdomain}}
	*groups = append(*groups, g)
	return g
}

// portLine is a config line and the port it names.
type portLine struct {
	directive
	port int
}

func (g *group) add(d directive, port int) {
	g.lines = append(g.lines, portLine{d, port})
	if !slices.Contains(g.explicit, port) {
		g.explicit = append(g.explicit, port)
	}
}

// targetPorts returns each group's ports after phase 1 and after phase 2;
// nil for a group already where it should be.
func targetPorts(groups []*group, req MoveRequest) [2][][]int {
	var t [2][][]int
	for _, g := range groups {
		now := g.ports()
		both := appendMissing(slices.Clone(now), req.To)
		final := []int{req.To}
		if req.Keep {
			final = both
		}
		if sameSet(now, final) {
			both, final = nil, nil
		}
		t[0] = append(t[0], both)
		t[1] = append(t[1], final)
	}
	return t
}

// unionPorts returns the sorted ports the groups listen on with the given
// targets; a nil target (or nil targets) means the group's current ports.
func unionPorts(groups []*group, targets [][]int) []int {
	var all []int
	for i, g := range groups {
		ports := g.ports()
		if targets != nil && targets[i] != nil {
			ports = targets[i]
		}
		for _, p := range ports {
			all = appendMissing(all, p)
		}
	}
	slices.Sort(all)
	return all
}

func appendMissing(s []int, v int) []int {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func sameSet(a, b []int) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}
