package lua

import (
	"encoding/json"

	glua "github.com/yuin/gopher-lua"
)

func init() {
	Register(Module{
		Name: "",
		Doc:  "Global functions every playbook can call.",
		Funcs: []Func{
			{
				Name:    "expect",
				Params:  []Param{{"cond", "any", "the condition that must hold"}, {"fmt?", "string", "message format (string.format) when cond is false or nil"}, {"...", "any", "format arguments"}},
				Returns: []Param{{"cond", "any", "cond, when it holds"}},
				Doc:     "Fails the task or check, at this line, when cond is false or nil. In a check, the message becomes the finding.",
				Call:    expectCall,
			},
			{
				Name:   "fail",
				Params: []Param{{"msg", "string", "why"}},
				Doc:    "Fails the task or check with msg, at this line.",
				Call:   failCall,
			},
			{
				Name:   "log",
				Params: []Param{{"...", "any", "values, joined with tabs like print"}},
				Doc:    "Writes a line to the run's log, prefixed with the host name. print does the same.",
				Call:   logCall,
			},
			{
				Name:    "template",
				Params:  []Param{{"str", "string", "text with {{ name }} or {{ a.b }} placeholders"}, {"vars?", "table", "values; the task's v when omitted"}},
				Returns: []Param{{"text", "string", "str with every placeholder replaced"}},
				Doc:     "Renders a template. A placeholder with no value is an error, never an empty string.",
				Call:    templateCall,
			},
		},
	})
	Register(Module{
		Name: "json",
		Doc:  "JSON encoding and decoding. Lists are tables with keys 1..n; JSON null decodes to nil.",
		Funcs: []Func{
			{
				Name:    "encode",
				Params:  []Param{{"value", "any", "tables, strings, numbers and booleans"}},
				Returns: []Param{{"json", "string", "compact JSON with sorted object keys"}},
				Doc:     "Encodes value as JSON.",
				Call:    jsonEncode,
			},
			{
				Name:    "decode",
				Params:  []Param{{"json", "string", "a JSON document"}},
				Returns: []Param{{"value", "any", "the decoded value"}},
				Doc:     "Decodes a JSON document.",
				Call:    jsonDecode,
			},
		},
	})
}

func expectCall(e *Env, L *glua.LState) int {
	cond := L.Get(1)
	if glua.LVAsBool(cond) {
		L.Push(cond)
		return 1
	}
	msg := "expectation failed"
	if L.GetTop() >= 2 {
		msg = luaFormat(L, 2)
	}
	L.RaiseError("%s", msg)
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
		L.RaiseError("expect: bad message format: %s", errorMessage(err))
	}
	s := L.Get(-1).String()
	L.Pop(1)
	return s
}

func failCall(e *Env, L *glua.LState) int {
	L.RaiseError("%s", L.CheckString(1))
	return 0
}

func logCall(e *Env, L *glua.LState) int {
	e.Logf(0, "%s", joinArgs(L))
	return 0
}

func templateCall(e *Env, L *glua.LState) int {
	str := L.CheckString(1)
	vars := e.vars
	if L.GetTop() >= 2 {
		vars = L.CheckTable(2)
	}
	g, err := tableToGo(vars)
	if err != nil {
		L.RaiseError("template: vars: %v", err)
	}
	m, _ := g.(map[string]any)
	out, err := Render(str, m)
	if err != nil {
		L.RaiseError("%v", err)
	}
	L.Push(glua.LString(out))
	return 1
}

func jsonEncode(e *Env, L *glua.LState) int {
	v, err := toGo(L.Get(1))
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

func jsonDecode(e *Env, L *glua.LState) int {
	var v any
	if err := json.Unmarshal([]byte(L.CheckString(1)), &v); err != nil {
		L.RaiseError("json.decode: %v", err)
	}
	L.Push(toLua(L, v))
	return 1
}
