package lua

import (
	"fmt"
	"strconv"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua/valid"
)

// Opts reads a module function's table argument, rejecting keys the
// function does not know so a typo fails loudly instead of being ignored.
// Its methods raise a Lua error naming the function and the key when a
// value has the wrong type or shape.
type Opts struct {
	L  *glua.LState
	Fn string // the function, as a playbook calls it: "file.write"
	t  *glua.LTable
}

// TableArg returns the table at index n (an empty one when absent and
// optional), checked against the allowed keys.
func TableArg(L *glua.LState, n int, fn string, optional bool, allowed ...string) Opts {
	v := L.Get(n)
	if v == glua.LNil && optional {
		return Opts{L: L, Fn: fn, t: L.NewTable()}
	}
	t, ok := v.(*glua.LTable)
	if !ok {
		ArgError(L, fn, "argument %d must be a table, not %s", n, v.Type())
	}
	known := keySet(allowed...)
	t.ForEach(func(k, _ glua.LValue) {
		if s, ok := k.(glua.LString); !ok || !known[string(s)] {
			ArgError(L, fn, "unknown option %s (allowed: %v)", k, allowed)
		}
	})
	return Opts{L: L, Fn: fn, t: t}
}

// Get is the raw value of key, nil when absent.
func (o Opts) Get(key string) glua.LValue { return o.t.RawGetString(key) }

// Fail raises an error about the function's argument.
func (o Opts) Fail(format string, args ...any) { ArgError(o.L, o.Fn, format, args...) }

// Str reads a string (a number is formatted); "" when absent and not
// required.
func (o Opts) Str(key string, required bool) string {
	switch v := o.Get(key).(type) {
	case glua.LString:
		return string(v)
	case glua.LNumber:
		return v.String()
	case *glua.LNilType:
		if required {
			o.Fail("%s is required", key)
		}
		return ""
	default:
		o.Fail("%s must be a string, not %s", key, v.Type())
		return ""
	}
}

// Bool reads a boolean; def when absent.
func (o Opts) Bool(key string, def bool) bool {
	switch v := o.Get(key).(type) {
	case glua.LBool:
		return bool(v)
	case *glua.LNilType:
		return def
	default:
		o.Fail("%s must be true or false, not %s", key, v.Type())
		return def
	}
}

// Number reads a number (or a string holding one); def when absent.
func (o Opts) Number(key string, def float64) float64 {
	switch v := o.Get(key).(type) {
	case glua.LNumber:
		return float64(v)
	case glua.LString:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			o.Fail("%s must be a number, not %q", key, string(v))
		}
		return f
	case *glua.LNilType:
		return def
	default:
		o.Fail("%s must be a number, not %s", key, v.Type())
		return def
	}
}

// Port reads a port option, 1-65535; def when it is absent (0: the
// option is required).
func (o Opts) Port(key string, def int) int {
	if o.Get(key) == glua.LNil && def != 0 {
		return def
	}
	s := o.Str(key, true)
	n, err := valid.Port(s)
	if err != nil {
		o.Fail("%s %.80q: %v", key, s, err)
	}
	return n
}

// Shaped reads a string option that becomes a command argument: check
// (a lua/valid function) must accept it, or it is "" and not required.
func (o Opts) Shaped(key string, required bool, check func(string) error) string {
	s := o.Str(key, required)
	if s == "" && !required {
		return ""
	}
	if err := check(s); err != nil {
		o.Fail("%s %.80q: %v", key, s, err)
	}
	return s
}

// Strings reads a list of strings (numbers are accepted and formatted).
func (o Opts) Strings(key string) []string {
	v := o.Get(key)
	if v == glua.LNil {
		return nil
	}
	return ListArg(o.L, v, o.Fn+": "+key)
}

// ShapedArg reads the string argument at index n, which becomes a
// command argument: check (a lua/valid function) must accept it.
func ShapedArg(L *glua.LState, n int, fn string, check func(string) error) string {
	s := L.CheckString(n)
	if err := check(s); err != nil {
		ArgError(L, fn, "%.80q: %v", s, err)
	}
	return s
}

// ListArg converts a Lua list of strings or numbers to Go.
func ListArg(L *glua.LState, v glua.LValue, what string) []string {
	t, ok := v.(*glua.LTable)
	if !ok {
		L.RaiseError("%s must be a list of strings, not %s", what, v.Type())
	}
	out := make([]string, 0, t.Len())
	for i := 1; i <= t.Len(); i++ {
		switch s := t.RawGetInt(i).(type) {
		case glua.LString:
			out = append(out, string(s))
		case glua.LNumber:
			out = append(out, s.String())
		default:
			L.RaiseError("%s: item %d must be a string, not %s", what, i, s.Type())
		}
	}
	return out
}

// ArgError raises a Lua error about a function's argument.
func ArgError(L *glua.LState, fn string, format string, args ...any) {
	L.RaiseError("%s: %s", fn, fmt.Sprintf(format, args...))
}
