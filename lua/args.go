package lua

import (
	"fmt"
	"strconv"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua/valid"
)

// opts reads a module function's table argument, rejecting keys the
// function does not know so a typo fails loudly instead of being ignored.
type opts struct {
	L  *glua.LState
	fn string
	t  *glua.LTable
}

// tableArg returns the table at index n (an empty one when absent and
// optional), checked against the allowed keys.
func tableArg(L *glua.LState, n int, fn string, optional bool, allowed ...string) opts {
	v := L.Get(n)
	if v == glua.LNil && optional {
		return opts{L: L, fn: fn, t: L.NewTable()}
	}
	t, ok := v.(*glua.LTable)
	if !ok {
		argError(L, fn, "argument %d must be a table, not %s", n, v.Type())
	}
	known := keySet(allowed...)
	t.ForEach(func(k, _ glua.LValue) {
		if s, ok := k.(glua.LString); !ok || !known[string(s)] {
			argError(L, fn, "unknown option %s (allowed: %v)", k, allowed)
		}
	})
	return opts{L: L, fn: fn, t: t}
}

func (o opts) str(key string, required bool) string {
	switch v := o.t.RawGetString(key).(type) {
	case glua.LString:
		return string(v)
	case glua.LNumber:
		return v.String()
	case *glua.LNilType:
		if required {
			argError(o.L, o.fn, "%s is required", key)
		}
		return ""
	default:
		argError(o.L, o.fn, "%s must be a string, not %s", key, v.Type())
		return ""
	}
}

func (o opts) boolean(key string, def bool) bool {
	switch v := o.t.RawGetString(key).(type) {
	case glua.LBool:
		return bool(v)
	case *glua.LNilType:
		return def
	default:
		argError(o.L, o.fn, "%s must be true or false, not %s", key, v.Type())
		return def
	}
}

func (o opts) number(key string, def float64) float64 {
	switch v := o.t.RawGetString(key).(type) {
	case glua.LNumber:
		return float64(v)
	case glua.LString:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			argError(o.L, o.fn, "%s must be a number, not %q", key, string(v))
		}
		return f
	case *glua.LNilType:
		return def
	default:
		argError(o.L, o.fn, "%s must be a number, not %s", key, v.Type())
		return def
	}
}

// port reads a port option, 1-65535; def when it is absent (0: the
// option is required).
func (o opts) port(key string, def int) int {
	if o.t.RawGetString(key) == glua.LNil && def != 0 {
		return def
	}
	s := o.str(key, true)
	n, err := valid.Port(s)
	if err != nil {
		argError(o.L, o.fn, "%s %.80q: %v", key, s, err)
	}
	return n
}

// shaped reads a string option that becomes a command argument: check
// (a lua/valid function) must accept it, or it is "" and not required.
func (o opts) shaped(key string, required bool, check func(string) error) string {
	s := o.str(key, required)
	if s == "" && !required {
		return ""
	}
	if err := check(s); err != nil {
		argError(o.L, o.fn, "%s %.80q: %v", key, s, err)
	}
	return s
}

// shapedArg reads the string argument at index n, which becomes a
// command argument: check (a lua/valid function) must accept it.
func shapedArg(L *glua.LState, n int, fn string, check func(string) error) string {
	s := L.CheckString(n)
	if err := check(s); err != nil {
		argError(L, fn, "%.80q: %v", s, err)
	}
	return s
}

// strings reads a list of strings (numbers are accepted and formatted).
func (o opts) strings(key string) []string {
	v := o.t.RawGetString(key)
	if v == glua.LNil {
		return nil
	}
	return listArg(o.L, v, o.fn+": "+key)
}

// listArg converts a Lua list of strings or numbers to Go.
func listArg(L *glua.LState, v glua.LValue, what string) []string {
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

// argError raises a Lua error about a function's argument.
func argError(L *glua.LState, fn string, format string, args ...any) {
	L.RaiseError("%s: %s", fn, fmt.Sprintf(format, args...))
}
