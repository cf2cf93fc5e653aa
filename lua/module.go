package lua

import (
	"fmt"
	"sort"
	"sync"

	glua "github.com/yuin/gopher-lua"
)

// Module is a table of functions playbooks call, such as file or sshd.
// One definition drives everything: the VM installs it, `remedy doc`
// prints it, `remedy lint` checks calls against it and the LuaLS
// definition file (lua/types/remedy.lua) is generated from it.
//
// A module is a package of its own under lua/modules that registers
// itself from an init function (lua/modules/doc.go says how to add one):
//
//	func init() {
//		lua.Register(lua.Module{
//			Name: "sshd",
//			Doc:  "Reads and changes the OpenSSH server's configuration.",
//			Funcs: []lua.Func{{
//				Name:    "config",
//				Returns: []lua.Param{{Name: "cfg", Type: "table<string, string>", Doc: "effective settings"}},
//				Doc:     "Returns the effective configuration (sshd -T).",
//				Call:    config,
//			}},
//		})
//	}
//
//	// config is the binding: it converts the arguments, calls the
//	// module's Go API with e (a change.Session: reads, and Apply, the
//	// one gate for changes), and converts the result or raises the error.
//	func config(e *lua.Env, L *glua.LState) int {
//		cfg, err := Config(e)
//		if err != nil {
//			e.Fail(err)
//		}
//		L.Push(lua.ToLua(L, cfg))
//		return 1
//	}
//
// Call follows gopher-lua's convention: arguments are on L's stack, push
// the results and return how many. Raise errors with e.Fail, L.RaiseError
// or the argument readers (lua.TableArg) so the message carries the
// playbook's file:line; the Go API below a binding returns errors.
type Module struct {
	Name   string // the Lua global; "" puts Funcs in the global scope (expect, log)
	Doc    string
	Funcs  []Func
	Fields []Field // values rather than functions, such as host.name
	Types  []Class // result shapes named in Params and Returns, for docs and LuaLS
	// Warm lists reads (argv) the module's functions take and most
	// playbooks need, such as the firewall ruleset. They are the same on
	// every host, so a playbook's prefetch can take them with the facts;
	// without one they ride along with the first cached read. Either way
	// one round trip takes them all, and they answer until the host changes.
	Warm [][]string
}

// Func is one function of a module.
type Func struct {
	Name    string
	Params  []Param // a Name ending in "?" is optional; "..." is variadic
	Returns []Param
	Doc     string
	Call    func(e *Env, L *glua.LState) int
}

// Param is a parameter, return value or field. Type uses LuaLS syntax:
// "string", "string[]", "{path: string, mode?: string}", "remedy.CmdResult".
type Param struct {
	Name string
	Type string
	Doc  string
}

// Field is a value a module table holds, computed when a host's VM starts
// and again once its facts are gathered.
type Field struct {
	Param
	Value func(e *Env, L *glua.LState) glua.LValue
}

// Class names a table shape that functions return.
type Class struct {
	Name   string // e.g. "remedy.CmdResult"
	Doc    string
	Fields []Param
}

var registry = struct {
	sync.Mutex
	modules map[string]Module
}{modules: map[string]Module{}}

// Register adds a module. It panics on a duplicate name or function, as
// both are programming errors found the first time the binary starts.
func Register(m Module) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.modules[m.Name]; dup {
		panic(fmt.Sprintf("lua: module %q registered twice", m.Name))
	}
	seen := map[string]bool{}
	for _, f := range m.Funcs {
		if seen[f.Name] || f.Call == nil {
			panic(fmt.Sprintf("lua: module %q: function %q is duplicated or has no Call", m.Name, f.Name))
		}
		seen[f.Name] = true
	}
	registry.modules[m.Name] = m
}

// Modules returns the registered modules sorted by name, globals first.
func Modules() []Module {
	registry.Lock()
	defer registry.Unlock()
	ms := make([]Module, 0, len(registry.modules))
	for _, m := range registry.modules {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	return ms
}

// LookupModule returns the module registered under name.
func LookupModule(name string) (Module, bool) {
	registry.Lock()
	defer registry.Unlock()
	m, ok := registry.modules[name]
	return m, ok
}

// QualifiedName is how a playbook calls f: "file.write", or "expect" for
// a global.
func (m Module) QualifiedName(f Func) string {
	if m.Name == "" {
		return f.Name
	}
	return m.Name + "." + f.Name
}

// install puts every registered module into L, bound to e.
func install(L *glua.LState, e *Env) {
	for _, m := range Modules() {
		target := L.G.Global
		if m.Name != "" {
			target = L.NewTable()
			L.SetGlobal(m.Name, target)
		}
		for _, f := range m.Funcs {
			target.RawSetString(f.Name, L.NewFunction(e.bind(f)))
		}
	}
	installFields(L, e)
}

// installFields computes every module's fields, when the VM starts and
// again once the host's facts are gathered (host.facts shows them).
func installFields(L *glua.LState, e *Env) {
	for _, m := range Modules() {
		target := L.G.Global
		if m.Name != "" {
			t, ok := L.GetGlobal(m.Name).(*glua.LTable)
			if !ok {
				continue // the playbook's top level put something else there
			}
			target = t
		}
		for _, fd := range m.Fields {
			target.RawSetString(fd.Name, fd.Value(e, L))
		}
	}
}
