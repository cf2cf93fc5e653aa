package lua

import (
	"fmt"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// unsafeBase are base functions a playbook must not have: loading code
// from files or strings, changing other functions' environments, and
// gopher-lua's debugging aid. require is replaced by our own.
var unsafeBase = []string{"dofile", "loadfile", "load", "loadstring", "getfenv", "setfenv", "_printregs", "module", "require", "newproxy"}

// safeOS are the only os functions kept: they read clocks.
var safeOS = []string{"time", "date", "clock", "difftime"}

// newVM returns a Lua state with only the safe standard libraries, our
// require, and every registered module bound to e.
func (p *Playbook) newVM(e *Env) *glua.LState {
	L := glua.NewState(glua.Options{SkipOpenLibs: true})
	for _, lib := range []struct {
		name string
		open glua.LGFunction
	}{
		{glua.BaseLibName, glua.OpenBase},
		{glua.TabLibName, glua.OpenTable},
		{glua.StringLibName, glua.OpenString},
		{glua.MathLibName, glua.OpenMath},
		{glua.CoroutineLibName, glua.OpenCoroutine},
		{glua.OsLibName, glua.OpenOs},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(glua.LString(lib.name))
		L.Call(1, 0)
	}
	for _, name := range unsafeBase {
		L.SetGlobal(name, glua.LNil)
	}
	restrictOS(L)
	pairsWithMeta(L)
	L.SetField(L.GetGlobal("string"), "dump", glua.LNil)
	e.state = L
	e.vars = L.NewTable()
	L.SetGlobal("require", L.NewFunction(p.require))
	L.SetGlobal("print", L.NewFunction(func(L *glua.LState) int {
		e.Logf(0, "%s", JoinArgs(L))
		return 0
	}))
	install(L, e)
	return L
}

func restrictOS(L *glua.LState) {
	full := L.GetGlobal("os").(*glua.LTable)
	safe := L.NewTable()
	for _, name := range safeOS {
		safe.RawSetString(name, full.RawGetString(name))
	}
	L.SetGlobal("os", safe)
}

// pairsWithMeta makes pairs honour a __pairs metamethod, as Lua 5.2
// does, so that pairs(v.hostvars) lists every host although the table
// is filled as it is read.
func pairsWithMeta(L *glua.LState) {
	base := L.GetGlobal("pairs")
	L.SetGlobal("pairs", L.NewFunction(func(L *glua.LState) int {
		fn := L.GetMetaField(L.Get(1), "__pairs")
		if fn == glua.LNil {
			fn = base
		}
		L.Push(fn)
		L.Push(L.Get(1))
		L.Call(1, 3)
		return 3
	}))
}

// JoinArgs renders every argument with tostring, tab-separated like print.
func JoinArgs(L *glua.LState) string {
	parts := make([]string, L.GetTop())
	for i := range parts {
		parts[i] = L.ToStringMeta(L.Get(i + 1)).String()
	}
	return strings.Join(parts, "\t")
}

// require loads a Lua module once per VM from the first of: the
// libraries shipped with remedy, the --lua-path and REMEDY_LUA_PATH
// directories, the playbook's directory. Compiled code is shared by every host's VM.
func (p *Playbook) require(L *glua.LState) int {
	name := L.CheckString(1)
	loaded := p.loadedTable(L)
	if v := loaded.RawGetString(name); v != glua.LNil {
		L.Push(v)
		return 1
	}
	proto, err := p.libs.compile(name)
	if err != nil {
		L.RaiseError("require %q: %v", name, err)
	}
	L.Push(L.NewFunctionFromProto(proto))
	L.Push(glua.LString(name))
	L.Call(1, 1)
	v := L.Get(-1)
	if v == glua.LNil {
		v = glua.LTrue
	}
	loaded.RawSetString(name, v)
	L.Push(v)
	return 1
}

const loadedKey = "remedy.loaded"

func (p *Playbook) loadedTable(L *glua.LState) *glua.LTable {
	reg := L.Get(glua.RegistryIndex).(*glua.LTable)
	if t, ok := reg.RawGetString(loadedKey).(*glua.LTable); ok {
		return t
	}
	t := L.NewTable()
	reg.RawSetString(loadedKey, t)
	return t
}

// ErrorMessage is a Lua error's message; gopher-lua already prefixes
// file:line where it knows them.
func ErrorMessage(err error) string {
	if ae, ok := err.(*glua.ApiError); ok {
		return fmt.Sprint(ae.Object)
	}
	return err.Error()
}
