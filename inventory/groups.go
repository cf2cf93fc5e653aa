package inventory

import "slices"

// GroupNames lists every group, all and ungrouped included, in the
// order the inventory first named them: the keys of Ansible's groups
// magic variable.
func (inv *Inventory) GroupNames() []string {
	names := make([]string, len(inv.groupOrder))
	for i, g := range inv.groupOrder {
		names[i] = g.name
	}
	return names
}

// GroupHosts names the hosts of a group and of its children, each once,
// in the order Ansible's groups magic variable lists them; false when
// the inventory has no such group.
func (inv *Inventory) GroupHosts(name string) ([]string, bool) {
	g, ok := inv.groups[name]
	if !ok {
		return nil, false
	}
	hosts := g.allHosts()
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name
	}
	return names, true
}

// HostGroups is Ansible's group_names for a host: every group it is in,
// directly or through children, all left out (ungrouped is not), sorted.
func (inv *Inventory) HostGroups(name string) ([]string, bool) {
	h, ok := inv.hosts[name]
	if !ok {
		return nil, false
	}
	return slices.Clone(h.Groups), true
}

// HostVars is a host's merged inventory variables, shared: the caller
// must not change them.
func (inv *Inventory) HostVars(name string) (map[string]any, bool) {
	h, ok := inv.hosts[name]
	if !ok {
		return nil, false
	}
	return h.Vars, true
}
