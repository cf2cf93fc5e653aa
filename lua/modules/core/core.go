// Package core holds the globals every playbook can call (expect, fail,
// log, template) and the json module.
package core

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua"
	"remedy/lua/template"
)

func init() {
	lua.Register(lua.Module{
		Name: "",
		Doc:  "Global functions every playbook can call.",
		Funcs: []lua.Func{
			{
				Name:    "expect",
				Params:  []lua.Param{{Name: "cond", Type: "any", Doc: "the condition that must hold"}, {Name: "fmt?", Type: "string", Doc: "message format (string.format) when cond is false or nil"}, {Name: "...", Type: "any", Doc: "format arguments"}},
				Returns: []lua.Param{{Name: "cond", Type: "any", Doc: "cond, when it holds"}},
				Doc:     "Fails the task or check, at this line, when cond is false or nil. In a check, the message becomes the finding.",
				Call:    expectCall,
			},
			{
				Name:   "fail",
				Params: []lua.Param{{Name: "msg", Type: "string", Doc: "why"}},
				Doc:    "Fails the task or check with msg, at this line.",
				Call:   failCall,
			},
			{
				Name:   "log",
				Params: []lua.Param{{Name: "...", Type: "any", Doc: "values, joined with tabs like print"}},
				Doc:    "Writes a line to the run's log, prefixed with the host name. print does the same.",
				Call:   logCall,
			},
			{
				Name:    "template",
				Params:  []lua.Param{{Name: "str", Type: "string", Doc: `text with {{ name }}, {{ a.b }} or {{ a["b"] }} placeholders, each with any of the filters default (d), join, lower, upper, int and bool: {{ port | default(22) }}`}, {Name: "vars?", Type: "table", Doc: "values; the task's v when omitted"}},
				Returns: []lua.Param{{Name: "text", Type: "string", Doc: "str with every placeholder replaced"}},
				Doc:     "Renders a template, with Ansible's meaning for the filters it knows. A placeholder with no value is an error unless default gives one, never an empty string; a filter it does not know is an error that names it. Lists count from 1, as in Lua ({{ groups.web.1 }}).",
				Call:    templateCall,
			},
		},
	})
	lua.Register(lua.Module{
		Name: "json",
		Doc:  "JSON encoding and decoding. Lists are tables with keys 1..n; JSON null decodes to nil.",
		Funcs: []lua.Func{
			{
				Name:    "encode",
				Params:  []lua.Param{{Name: "value", Type: "any", Doc: "tables, strings, numbers and booleans"}},
				Returns: []lua.Param{{Name: "json", Type: "string", Doc: "compact JSON with sorted object keys"}},
				Doc:     "Encodes value as JSON.",
				Call:    jsonEncode,
			},
			{
				Name:    "decode",
				Params:  []lua.Param{{Name: "json", Type: "string", Doc: "a JSON document"}},
				Returns: []lua.Param{{Name: "value", Type: "any", Doc: "the decoded value"}},
				Doc:     "Decodes a JSON document.",
				Call:    jsonDecode,
			},
		},
	})
}

func expectCall(e *lua.Env, L *glua.LState) int {
	cond := L.Get(1)
	if glua.LVAsBool(cond) {
		L.Push(cond)
		return 1
	}
	msg := "expectation failed"
	if L.GetTop() >= 2 {
		msg = luaFormat(L, 2)
	}
	e.Finding(msg)
	return 0
}

// luaFormat calls string.format on the arguments from index first on, so
// expect's message reads like the rest of the playbook's Lua.
func luaFormat(L *glua.LState, first int) string {
	format := L.GetField(L.GetGlobal("string"), "format")
	args := make([]glua.LValue, 0, L.GetTop()-first+1)
	for i := first; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	if err := L.CallByParam(glua.P{Fn: format, NRet: 1, Protect: true}, args...); err != nil {
		L.RaiseError("expect: bad message format: %s", lua.ErrorMessage(err))
	}
	s := L.Get(-1).String()
	L.Pop(1)
	return s
}

func failCall(e *lua.Env, L *glua.LState) int {
	e.Finding(L.CheckString(1))
	return 0
}

func logCall(e *lua.Env, L *glua.LState) int {
	e.Logf(0, "%s", lua.JoinArgs(L))
	return 0
}

func templateCall(e *lua.Env, L *glua.LState) int {
	str := L.CheckString(1)
	vars := e.Vars()
	if L.GetTop() >= 2 {
		vars = L.CheckTable(2)
	}
	out, err := template.Render(str, luaLookup(L, vars))
	if err != nil {
		L.RaiseError("%v", err)
	}
	L.Push(glua.LString(out))
	return 1
}

// luaLookup finds a template's variables in a Lua table, reading only
// the path asked for: v.hostvars fills itself as it is read, and
// converting all of v would convert every host's variables.
func luaLookup(L *glua.LState, vars *glua.LTable) template.Lookup {
	return func(path []string) (any, error) {
		var cur glua.LValue = vars
		for i, part := range path {
			t, ok := cur.(*glua.LTable)
			if !ok {
				return nil, &template.Undefined{Msg: fmt.Sprintf("%s is not a table", strings.Join(path[:i], "."))}
			}
			next := L.GetField(t, part)
			if n, err := strconv.Atoi(part); err == nil && next == glua.LNil {
				next = L.GetTable(t, glua.LNumber(n))
			}
			if next == glua.LNil {
				if i == 0 {
					return nil, &template.Undefined{Msg: fmt.Sprintf("no variable %q", part)}
				}
				return nil, &template.Undefined{Msg: fmt.Sprintf("%s has no %q", strings.Join(path[:i], "."), part)}
			}
			cur = next
		}
		return lua.ToGo(cur)
	}
}

func jsonEncode(e *lua.Env, L *glua.LState) int {
	v, err := lua.ToGo(L.Get(1))
	if err != nil {
		L.RaiseError("json.encode: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		L.RaiseError("json.encode: %v", err)
	}
	L.Push(glua.LString(b))
	return 1
}

func jsonDecode(e *lua.Env, L *glua.LState) int {
	var v any
	if err := json.Unmarshal([]byte(L.CheckString(1)), &v); err != nil {
		L.RaiseError("json.decode: %v", err)
	}
	L.Push(lua.ToLua(L, v))
	return 1
}
