package lua

import (
	"fmt"
	"slices"

	glua "github.com/yuin/gopher-lua"
)

// Inventory is the whole inventory as Ansible's magic variables show it
// to a playbook: every group and host, not only those the run targets.
// The CLI hands the loaded inventory; the engine reads it only when a
// playbook looks, so a host's VM never copies a 500-host inventory it
// does not use.
type Inventory interface {
	// GroupNames lists every group, all and ungrouped included.
	GroupNames() []string
	// GroupHosts lists the hosts of a group and its children, in
	// Ansible's order; false when there is no such group.
	GroupHosts(group string) ([]string, bool)
	// HostGroups is a host's group_names: its groups, all left out,
	// sorted; false when there is no such host.
	HostGroups(host string) ([]string, bool)
	// HostVars is a host's merged inventory variables; false when there
	// is no such host.
	HostVars(host string) (map[string]any, bool)
}

// The magic variables, named as Ansible names them.
const (
	magicHostname  = "inventory_hostname"
	magicGroupList = "group_names"
	magicGroups    = "groups"
	magicHostvars  = "hostvars"
	magicCheckMode = "ansible_check_mode"
)

// MagicVars are the variables the engine sets on every host, over the
// playbook's, the inventory's and -e's: lint knows them.
var MagicVars = []string{magicHostname, magicGroupList, magicGroups, magicHostvars, magicCheckMode}

// setMagicVars puts Ansible's magic variables in v. They win over every
// other layer, as Ansible's do: a playbook cannot be told it runs on
// another host.
func (e *Env) setMagicVars(o RunOptions) {
	L, name := e.state, e.Name()
	for k, v := range hostMagic(o, name) {
		e.vars.RawSetString(k, ToLua(L, v))
	}
	groups := e.groupsTable(o.Inventory)
	e.vars.RawSetString(magicGroups, groups)
	e.vars.RawSetString(magicHostvars, e.hostvarsTable(o, groups))
}

// hostMagic are the magic variables of one host that are plain values.
func hostMagic(o RunOptions, host string) map[string]any {
	groups := []string{}
	if o.Inventory != nil {
		if g, ok := o.Inventory.HostGroups(host); ok {
			groups = g
		}
	}
	return map[string]any{magicHostname: host, magicGroupList: slices.Clone(groups), magicCheckMode: o.Check}
}

// groupsTable is v.groups: group name to a list of host names, each list
// made when first read. The lists are plain tables, this VM's own copies,
// so that # and ipairs work on them.
func (e *Env) groupsTable(inv Inventory) *glua.LTable {
	if inv == nil {
		return lazyTable(e.state, magicGroups, func(string) (glua.LValue, bool) { return nil, false }, nil)
	}
	return lazyTable(e.state, magicGroups, func(group string) (glua.LValue, bool) {
		hosts, ok := inv.GroupHosts(group)
		if !ok {
			return nil, false
		}
		return ToLua(e.state, hosts), true
	}, inv.GroupNames)
}

// hostvarsTable is v.hostvars: host name to what Ansible's hostvars holds
// for it, its inventory variables under -e and its magic variables, made
// when first read and then read-only. The playbook's own vars are not
// there, as in Ansible, nor other hosts' facts: hosts run at once.
func (e *Env) hostvarsTable(o RunOptions, groups *glua.LTable) *glua.LTable {
	L := e.state
	self := e.Name()
	get := func(host string) (glua.LValue, bool) {
		var inv map[string]any
		switch {
		case o.Inventory != nil:
			vars, ok := o.Inventory.HostVars(host)
			if !ok {
				return nil, false
			}
			inv = vars
		case host == self:
			inv = o.Vars
		default:
			return nil, false
		}
		t := ToLua(L, MergeVars(inv, o.ExtraVars, hostMagic(o, host))).(*glua.LTable)
		t.RawSetString(magicGroups, groups)
		return readOnlyView(L, fmt.Sprintf("%s[%q]", magicHostvars, host), t), true
	}
	names := func() []string { return []string{self} }
	if o.Inventory != nil {
		names = func() []string {
			all, _ := o.Inventory.GroupHosts("all")
			return all
		}
	}
	return lazyTable(L, magicHostvars, get, names)
}

// Metatable fields of the read-only tables: metaAll holds a Go function
// that returns the whole content (ToGo and pairs use it); __metatable
// keeps setmetatable from lifting the protection.
const metaAll = "__remedy_all"

// lazyTable is a read-only table whose value for a key is made by get on
// first read and kept. names lists every key, for pairs and ToGo; nil
// means there are none to list.
func lazyTable(L *glua.LState, name string, get func(key string) (glua.LValue, bool), names func() []string) *glua.LTable {
	cache := L.NewTable()
	lookup := func(key string) glua.LValue {
		if v := cache.RawGetString(key); v != glua.LNil {
			return v
		}
		v, ok := get(key)
		if !ok {
			return glua.LNil
		}
		cache.RawSetString(key, v)
		return v
	}
	all := func() *glua.LTable {
		if names != nil {
			for _, n := range names() {
				lookup(n)
			}
		}
		return cache
	}
	index := L.NewFunction(func(L *glua.LState) int {
		k, ok := L.Get(2).(glua.LString)
		if !ok {
			L.Push(glua.LNil)
			return 1
		}
		L.Push(lookup(string(k)))
		return 1
	})
	return protect(L, name, index, all)
}

// readOnlyView is a read-only table that reads through to t.
func readOnlyView(L *glua.LState, name string, t *glua.LTable) *glua.LTable {
	return protect(L, name, t, func() *glua.LTable { return t })
}

// protect makes an empty table whose reads go to index and whose writes
// are a Lua error naming it. pairs (sandbox.go) and ToGo see all().
func protect(L *glua.LState, name string, index glua.LValue, all func() *glua.LTable) *glua.LTable {
	mt := L.NewTable()
	mt.RawSetString("__index", index)
	mt.RawSetString("__newindex", L.NewFunction(func(L *glua.LState) int {
		L.RaiseError("%s is read-only: it is the inventory's, not the playbook's (set a variable of your own in v instead)", name)
		return 0
	}))
	mt.RawSetString("__pairs", L.NewFunction(func(L *glua.LState) int {
		L.Push(L.NewFunction(tableNext))
		L.Push(all())
		L.Push(glua.LNil)
		return 3
	}))
	ud := L.NewUserData()
	ud.Value = all
	mt.RawSetString(metaAll, ud)
	mt.RawSetString("__metatable", glua.LString("read-only"))
	proxy := L.NewTable()
	proxy.Metatable = mt
	return proxy
}

// readOnlyContent is what a table made by protect holds, nil for any
// other table.
func readOnlyContent(t *glua.LTable) *glua.LTable {
	mt, ok := t.Metatable.(*glua.LTable)
	if !ok {
		return nil
	}
	ud, ok := mt.RawGetString(metaAll).(*glua.LUserData)
	if !ok {
		return nil
	}
	all, ok := ud.Value.(func() *glua.LTable)
	if !ok {
		return nil
	}
	return all()
}

// tableNext is next, for the __pairs of a read-only table: the
// playbook's own next may be anything.
func tableNext(L *glua.LState) int {
	k, v := L.CheckTable(1).Next(L.Get(2))
	if k == glua.LNil {
		L.Push(glua.LNil)
		return 1
	}
	L.Push(k)
	L.Push(v)
	return 2
}
