package lua_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"remedy/lua"
	"remedy/lua/luatest"
	"remedy/lua/remote"
)

// fakeInventory is an inventory as the CLI hands it, counting which
// hosts' variables were read.
type fakeInventory struct {
	groups map[string][]string // all included
	order  []string
	vars   map[string]map[string]any
	read   map[string]int
}

func (f *fakeInventory) GroupNames() []string { return f.order }
func (f *fakeInventory) GroupHosts(g string) ([]string, bool) {
	h, ok := f.groups[g]
	return h, ok
}
func (f *fakeInventory) HostGroups(host string) ([]string, bool) {
	if _, ok := f.vars[host]; !ok {
		return nil, false
	}
	var out []string
	for g, hosts := range f.groups {
		if g != "all" && slices.Contains(hosts, host) {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return out, true
}
func (f *fakeInventory) HostVars(host string) (map[string]any, bool) {
	v, ok := f.vars[host]
	f.read[host]++
	return v, ok
}

// newFakeInventory has web1 and web2 in web (a child of prod), db1 in
// db, and n more hosts in bulk.
func newFakeInventory(n int) *fakeInventory {
	f := &fakeInventory{
		groups: map[string][]string{"web": {"web1", "web2"}, "prod": {"web1", "web2"}, "db": {"db1"}, "ungrouped": {}},
		order:  []string{"all", "ungrouped", "web", "db", "prod"},
		vars: map[string]map[string]any{
			"web1": {"role": "front", "ansible_host": "198.18.0.11"},
			"web2": {"role": "front", "ansible_host": "198.18.0.12", "ports": []any{int64(80), int64(443)}},
			"db1":  {"role": "db"},
		},
		read: map[string]int{},
	}
	f.groups["all"] = []string{"web1", "web2", "db1"}
	for i := range n {
		name := fmt.Sprintf("bulk%03d", i)
		f.vars[name] = map[string]any{"i": int64(i)}
		f.groups["all"] = append(f.groups["all"], name)
	}
	return f
}

func TestMagicVars(t *testing.T) {
	cases := []struct {
		name, expr, want string
		check            bool
	}{
		{"inventory_hostname", `v.inventory_hostname`, "web1", false},
		{"host.vars is v", `host.vars.inventory_hostname`, "web1", false},
		{"group_names", `table.concat(v.group_names, ",")`, "prod,web", false},
		{"groups of a group", `table.concat(v.groups.web, ",")`, "web1,web2", false},
		{"groups all counts every host", `#v.groups.all`, "3", false},
		{"groups of no group", `tostring(v.groups.nosuch)`, "nil", false},
		{"empty group", `#v.groups.ungrouped`, "0", false},
		{"pairs over groups", `(function() local n = {} for k in pairs(v.groups) do n[#n+1] = k end table.sort(n) return table.concat(n, ",") end)()`, "all,db,prod,ungrouped,web", false},
		{"hostvars of another host", `v.hostvars.web2.ansible_host`, "198.18.0.12", false},
		{"hostvars index by variable", `v.hostvars[v.groups.db[1]].role`, "db", false},
		{"hostvars nested list", `v.hostvars.web2.ports[2]`, "443", false},
		{"hostvars carry -e", `v.hostvars.db1.site`, "lab", false},
		{"hostvars carry magic", `v.hostvars.db1.inventory_hostname .. " " .. table.concat(v.hostvars.db1.group_names, ",")`, "db1 db", false},
		{"hostvars carry groups", `#v.hostvars.db1.groups.web`, "2", false},
		{"hostvars leave out the playbook's vars", `tostring(v.hostvars.web1.pbvar)`, "nil", false},
		{"hostvars of no host", `tostring(v.hostvars.nosuch)`, "nil", false},
		{"pairs over hostvars", `(function() local n = 0 for k, hv in pairs(v.hostvars) do n = n + 1 end return n end)()`, "3", false},
		{"pairs over one host", `(function() local n = {} for k in pairs(v.hostvars.web1) do if k == "role" or k == "ansible_host" then n[#n+1] = k end end table.sort(n) return table.concat(n, ",") end)()`, "ansible_host,role", false},
		{"json of hostvars", `json.encode(v.hostvars.db1.group_names)`, `["db"]`, false},
		{"template reads hostvars", `template("{{ hostvars.web2.ansible_host }}:{{ inventory_hostname }}")`, "198.18.0.12:web1", false},
		{"magic wins over -e", `v.inventory_hostname`, "web1", false},
		{"ansible_check_mode off", `tostring(v.ansible_check_mode)`, "false", false},
		{"ansible_check_mode on", `tostring(v.ansible_check_mode)`, "true", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := luatest.NewLocalHost(t)
			h.HostName = "web1"
			inv := newFakeInventory(0)
			src := `return { vars = { pbvar = 1 }, tasks = { { name = "t", run = function(v) return tostring(` + tc.expr + `) end } } }`
			r := luatest.Only(t, h, src, lua.RunOptions{Check: tc.check, Inventory: inv, Vars: inv.vars["web1"],
				ExtraVars: map[string]any{"site": "lab", "inventory_hostname": "forged"}})
			if r.Status != remote.StatusOK || r.Msg != tc.want {
				t.Fatalf("%s: got %s %q, want %q", tc.expr, r.Status, r.Msg, tc.want)
			}
		})
	}
}

func TestMagicVarsAreReadOnly(t *testing.T) {
	cases := []struct{ stmt, want string }{
		{`v.hostvars.web2 = {}`, `hostvars is read-only`},
		{`v.hostvars.web2.role = "x"`, `hostvars["web2"] is read-only`},
		{`v.groups.web = {}`, `groups is read-only`},
		{`setmetatable(v.hostvars, nil)`, `protected metatable`},
	}
	for _, tc := range cases {
		t.Run(tc.stmt, func(t *testing.T) {
			h := luatest.NewLocalHost(t)
			h.HostName = "web1"
			inv := newFakeInventory(0)
			r := luatest.Only(t, h, luatest.Task(tc.stmt), lua.RunOptions{Inventory: inv})
			if r.Status != remote.StatusFailed || !strings.Contains(r.Msg, tc.want) || !strings.Contains(r.Msg, ":2:") {
				t.Fatalf("got %s %q, want a failure at line 2 with %q", r.Status, r.Msg, tc.want)
			}
		})
	}
}

// TestHostvarsAreLazy: a playbook on a 500-host inventory that reads one
// other host's variables converts that host's and no other's.
func TestHostvarsAreLazy(t *testing.T) {
	h := luatest.NewLocalHost(t)
	h.HostName = "web1"
	inv := newFakeInventory(500)
	r := luatest.Only(t, h, luatest.Task(`return v.hostvars.web2.role .. v.hostvars.web2.ansible_host .. #v.groups.all`),
		lua.RunOptions{Inventory: inv, Vars: inv.vars["web1"]})
	if r.Msg != "front198.18.0.12503" {
		t.Fatalf("got %+v", r)
	}
	if len(inv.read) != 1 || inv.read["web2"] != 1 {
		t.Fatalf("read the variables of %v, want web2's once", inv.read)
	}
}

// TestMagicVarsWithoutInventory: a run without an inventory (the tests,
// a playbook run on a lone host) still knows its own host.
func TestMagicVarsWithoutInventory(t *testing.T) {
	h := luatest.NewLocalHost(t)
	r := luatest.Only(t, h, luatest.Task(`return v.inventory_hostname .. #v.group_names .. v.hostvars[v.inventory_hostname].x .. tostring(v.groups.all)`),
		lua.RunOptions{Vars: map[string]any{"x": "1"}})
	if r.Msg != "local01nil" {
		t.Fatalf("got %+v", r)
	}
}

// BenchmarkMagicVars500 is one host's run on a 500-host inventory that
// reads one other host's variables (lazy), against one that walks
// every host's (what copying hostvars into each VM would cost).
func BenchmarkMagicVars500(b *testing.B) {
	for _, bc := range []struct{ name, body string }{
		{"one host", `return v.hostvars.web2.role`},
		{"every host", `local n = 0 for _, hv in pairs(v.hostvars) do n = n + #hv.group_names end return n`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := luatest.NewLocalHost(b)
			h.HostName = "web1"
			inv := newFakeInventory(500)
			p, err := luatest.Load(luatest.WritePlaybook(b, luatest.Task(bc.body)))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Run(context.Background(), h, lua.RunOptions{Inventory: inv, Vars: inv.vars["web1"]}, func(remote.Result) {}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
