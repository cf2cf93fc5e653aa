// Package inventory reads Ansible-compatible inventories (INI, YAML, a
// directory of them, an "h1,h2," list, group_vars and host_vars), merges
// variables with Ansible's precedence and selects hosts with Ansible's host
// patterns.
package inventory

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
)

// Inventory is every host and group of one or more merged sources.
type Inventory struct {
	groups     map[string]*group
	groupOrder []*group
	hosts      map[string]*Host
	hostOrder  []*Host
	sources    int
	// reading is the inventory file being parsed, "" for a host list.
	reading string
}

// Host is one inventory host.
type Host struct {
	Name string
	// Vars are the host's variables merged with Ansible's precedence:
	// inventory group vars (all, then groups by depth, priority, name),
	// group_vars files (all's, then the groups' source by source), inventory
	// host vars, host_vars files. Nested lists and maps are shared between
	// hosts: copy before changing them.
	Vars map[string]any
	// Groups are the names of every group the host belongs to, directly or
	// through children, sorted, without "all": Ansible's group_names.
	Groups []string

	own      varLayer // set in inventory files
	fileVars varLayer // host_vars files
	varsAt   map[string]origin
	at       origin // where the host was first named
	groups   []*group
	files    []string
}

// Files lists the inventory files that name the host, in the order they
// were read: where SetPort can change its port.
func (h *Host) Files() []string {
	return slices.Clone(h.files)
}

// group is an inventory group; only the package walks the group tree.
type group struct {
	name string
	vars varLayer
	// fileVars holds group_vars per inventory source, in source order.
	fileVars []varLayer
	children []*group
	parents  []*group
	hosts    []*Host
	members  map[*Host]bool
	priority int
	depth    int
}

const (
	groupAll       = "all"
	groupUngrouped = "ungrouped"
)

func newInventory() *Inventory {
	inv := &Inventory{groups: map[string]*group{}, hosts: map[string]*Host{}}
	// Ansible makes ungrouped the first child of all before reading anything.
	_ = inv.addChild(inv.addGroup(groupAll), inv.addGroup(groupUngrouped))
	return inv
}

// Load reads each source (an inventory file, a directory of them, or a
// comma-separated host list such as "h1,h2,") into one inventory, in order,
// then reads group_vars and host_vars beside each source.
func Load(sources []string) (*Inventory, error) {
	inv := newInventory()
	for _, src := range sources {
		if err := inv.loadSource(src); err != nil {
			return nil, err
		}
	}
	inv.reconcile()
	inv.sources = len(sources)
	for _, src := range sources {
		if err := inv.loadVarsDirs(src); err != nil {
			return nil, err
		}
	}
	inv.mergeVars()
	return inv, nil
}

func (inv *Inventory) addGroup(name string) *group {
	if g, ok := inv.groups[name]; ok {
		return g
	}
	g := &group{name: name, members: map[*Host]bool{}, priority: 1}
	inv.groups[name] = g
	inv.groupOrder = append(inv.groupOrder, g)
	return g
}

// addHost adds a host, named at at, to a group; the port only counts when
// the host is new, as in Ansible.
func (inv *Inventory) addHost(name string, g *group, port int, at origin) *Host {
	h, ok := inv.hosts[name]
	if !ok {
		h = &Host{Name: name, at: at}
		if port > 0 {
			h.own.set("ansible_port", port, at)
		}
		inv.hosts[name] = h
		inv.hostOrder = append(inv.hostOrder, h)
	}
	if inv.reading != "" && !slices.Contains(h.files, inv.reading) {
		h.files = append(h.files, inv.reading)
	}
	if g != nil && !g.members[h] {
		g.members[h] = true
		g.hosts = append(g.hosts, h)
		h.groups = append(h.groups, g)
	}
	return h
}

// addChild makes child a child group of parent, refusing cycles.
func (inv *Inventory) addChild(parent, child *group) error {
	if parent == child {
		return fmt.Errorf("group %q cannot be a child of itself", parent.name)
	}
	for _, c := range parent.children {
		if c == child {
			return nil
		}
	}
	if parent.hasAncestor(child) {
		return fmt.Errorf("adding group %q as child of %q creates a cycle", child.name, parent.name)
	}
	parent.children = append(parent.children, child)
	child.parents = append(child.parents, parent)
	return nil
}

// hasAncestor walks g's parents breadth first, each group once: a diamond
// of groups must not cost exponential time.
func (g *group) hasAncestor(a *group) bool {
	seen := map[*group]bool{}
	queue := append([]*group(nil), g.parents...)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == a {
			return true
		}
		if !seen[p] {
			seen[p] = true
			queue = append(queue, p.parents...)
		}
	}
	return false
}

// setGroupVar sets an inventory variable, written at at, on a group;
// ansible_group_priority is not a variable but the group's priority.
func setGroupVar(g *group, key string, value any, at origin) error {
	if key != "ansible_group_priority" {
		g.vars.set(key, value, at)
		return nil
	}
	p, err := toInt(value)
	if err != nil {
		return fmt.Errorf("group %s: ansible_group_priority: %w", g.name, err)
	}
	g.priority = p
	return nil
}

// toInt converts an inventory value to an int as Python's int() would for
// the types an inventory can hold.
func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case float64:
		return int(x), nil
	case string:
		n, err := strconv.Atoi(x)
		if err != nil {
			return 0, fmt.Errorf("%q is not an integer", x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%s is not an integer", pyRepr(v))
}

// reconcile applies Ansible's rules once all sources are read: every group
// without a parent is a child of all, and a host that is in some group other
// than all and ungrouped leaves ungrouped; a host in no group joins it.
func (inv *Inventory) reconcile() {
	all, ungrouped := inv.groups[groupAll], inv.groups[groupUngrouped]
	for _, g := range inv.groupOrder {
		if g != all && len(g.parents) == 0 {
			// Cannot fail: all has no parents.
			_ = inv.addChild(all, g)
		}
	}
	for _, h := range inv.hostOrder {
		if h.namedGroups() == 0 {
			inv.addHost(h.Name, ungrouped, 0, h.at)
		}
	}
	ungrouped.dropHosts(func(h *Host) bool { return h.namedGroups() > 0 })
	inv.setDepths()
}

// namedGroups counts the groups h is directly in other than all and
// ungrouped.
func (h *Host) namedGroups() int {
	n := 0
	for _, g := range h.groups {
		if g.name != groupAll && g.name != groupUngrouped {
			n++
		}
	}
	return n
}

// dropHosts removes from g the hosts drop says to.
func (g *group) dropHosts(drop func(*Host) bool) {
	kept := g.hosts[:0]
	for _, h := range g.hosts {
		if !drop(h) {
			kept = append(kept, h)
			continue
		}
		delete(g.members, h)
		h.groups = slices.DeleteFunc(h.groups, func(x *group) bool { return x == g })
	}
	g.hosts = kept
}

// setDepths gives each group its longest distance from all, which orders
// group variables.
func (inv *Inventory) setDepths() {
	memo := map[*group]int{}
	var depth func(g *group) int
	depth = func(g *group) int {
		if d, ok := memo[g]; ok {
			return d
		}
		d := 0
		for _, p := range g.parents {
			d = max(d, depth(p)+1)
		}
		memo[g] = d
		return d
	}
	for _, g := range inv.groupOrder {
		g.depth = depth(g)
	}
}

// ancestry returns every group h is in, directly or through children.
func (h *Host) ancestry() []*group {
	seen := map[*group]bool{}
	var out []*group
	var walk func(g *group)
	walk = func(g *group) {
		if seen[g] {
			return
		}
		seen[g] = true
		out = append(out, g)
		for _, p := range g.parents {
			walk(p)
		}
	}
	for _, g := range h.groups {
		walk(g)
	}
	return out
}

// sortGroups orders groups as Ansible merges their variables: by depth, then
// ansible_group_priority, then name.
func sortGroups(groups []*group) {
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if a.depth != b.depth {
			return a.depth < b.depth
		}
		if a.priority != b.priority {
			return a.priority < b.priority
		}
		return a.name < b.name
	})
}

// mergeVars computes each host's Vars and Groups, and where each variable
// was set.
func (inv *Inventory) mergeVars() {
	for _, h := range inv.hostOrder {
		groups := h.ancestry()
		sortGroups(groups)
		var merged varLayer
		for _, l := range inv.varLayers(h, groups) {
			merged.add(l)
		}
		h.Vars, h.varsAt = merged.vars, merged.at
		if h.Vars == nil {
			h.Vars = map[string]any{}
		}
		h.Groups = h.Groups[:0]
		for _, g := range groups {
			if g.name != groupAll {
				h.Groups = append(h.Groups, g.name)
			}
		}
		sort.Strings(h.Groups)
	}
}

// varLayers lists h's variable sources, lowest precedence first; groups
// are h's, in precedence order.
func (inv *Inventory) varLayers(h *Host, groups []*group) []varLayer {
	var layers []varLayer
	for _, g := range groups {
		layers = append(layers, g.vars)
	}
	// group_vars: all's from every source first, then, source by source, the
	// other groups' (Ansible's all_plugins_inventory, then
	// groups_plugins_inventory).
	all := inv.groups[groupAll]
	layers = append(layers, all.fileVars...)
	for src := range inv.sources {
		for _, g := range groups {
			if g != all && src < len(g.fileVars) {
				layers = append(layers, g.fileVars[src])
			}
		}
	}
	return append(layers, h.own, h.fileVars)
}

// combine overlays src on dst key by key: Ansible's default
// hash_behaviour=replace.
func combine(dst, src map[string]any) {
	for k, v := range src {
		dst[k] = v
	}
}
