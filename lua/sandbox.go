package lua

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

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
	// The data stack starts small and grows up to gopher-lua's default
	// size, which it used to take in full (5,120 slots, 80 KiB a host
	// whatever the playbook); the call stack grows as calls nest, up to
	// the default depth. Memory per host in flight is what bounds a
	// fleet on one controller.
	L := glua.NewState(glua.Options{SkipOpenLibs: true, RegistrySize: 1024,
		RegistryMaxSize: glua.RegistrySize, MinimizeStackMemory: true})
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

// protectedCall calls fn with args for one result. An error raised with
// a value that is not a string, error({code = 1}), comes back as that
// value's content after the line it was raised at, as a string error
// would: "table: 0xc000123" says nothing.
func protectedCall(L *glua.LState, fn glua.LValue, args ...glua.LValue) (glua.LValue, error) {
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	if err := L.PCall(len(args), 1, L.NewFunction(errorWithLine)); err != nil {
		return nil, err
	}
	ret := L.Get(-1)
	L.Pop(1)
	return ret, nil
}

// errorWithLine is protectedCall's message handler; it runs where the
// error was raised, so the stack still holds its line.
func errorWithLine(L *glua.LState) int {
	obj := L.Get(1)
	if s, ok := obj.(glua.LString); ok {
		L.Push(s)
		return 1
	}
	L.Push(glua.LString(strings.TrimSpace(luaLine(L) + " " + showValue(L, obj, 0))))
	return 1
}

// luaLine is "file:line:" of the innermost Lua function on the stack,
// past Go functions such as error itself.
func luaLine(L *glua.LState) string {
	for level := 1; ; level++ {
		w := L.Where(level)
		if w == "" {
			return ""
		}
		if !strings.HasPrefix(w, "[G]") {
			return w
		}
	}
}

// showValue renders an error value: a table as its constructor, keys
// sorted, cut at a depth and a length a message can carry.
func showValue(L *glua.LState, v glua.LValue, depth int) string {
	t, ok := v.(*glua.LTable)
	if !ok || L.GetMetaField(v, "__tostring") != glua.LNil {
		if s, isString := v.(glua.LString); isString && depth > 0 {
			return fmt.Sprintf("%q", string(s))
		}
		return L.ToStringMeta(v).String()
	}
	if depth >= 3 {
		return "{...}"
	}
	var parts, keyed []string
	n := t.Len()
	for i := 1; i <= n; i++ {
		parts = append(parts, showValue(L, t.RawGetInt(i), depth+1))
	}
	t.ForEach(func(k, val glua.LValue) {
		if i, isNum := k.(glua.LNumber); isNum && float64(i) >= 1 && float64(i) <= float64(n) && float64(i) == float64(int(i)) {
			return
		}
		key := showValue(L, k, depth+1)
		if s, isString := k.(glua.LString); isString && validName(string(s)) {
			key = string(s)
		} else {
			key = "[" + key + "]"
		}
		keyed = append(keyed, key+" = "+showValue(L, val, depth+1))
	})
	slices.Sort(keyed)
	out := "{" + strings.Join(append(parts, keyed...), ", ") + "}"
	if len(out) > 400 {
		out = out[:400] + "...}"
	}
	return out
}

// validName: s can be a key in a table constructor without brackets.
func validName(s string) bool {
	for i, c := range s {
		if c != '_' && !unicode.IsLetter(c) && (i == 0 || !unicode.IsDigit(c)) || c > unicode.MaxASCII {
			return false
		}
	}
	return s != ""
}

// ErrorMessage is a Lua error's message; gopher-lua already prefixes
// file:line where it knows them.
func ErrorMessage(err error) string {
	if ae, ok := err.(*glua.ApiError); ok {
		return fmt.Sprint(ae.Object)
	}
	return err.Error()
}
