package lua

import (
	"fmt"
	"math"
	"sort"

	glua "github.com/yuin/gopher-lua"
)

// MergeVars layers variables: each later map replaces the earlier ones'
// top-level keys, as Ansible does by default. The order is the
// precedence: playbook vars, then inventory vars, then -e.
func MergeVars(layers ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, l := range layers {
		for k, v := range l {
			out[k] = v
		}
	}
	return out
}

// toGo converts a Lua value made of tables, strings, numbers and booleans
// to Go: a table with keys 1..n becomes []any, any other table
// map[string]any, a whole number int64.
func toGo(v glua.LValue) (any, error) {
	switch v := v.(type) {
	case *glua.LNilType:
		return nil, nil
	case glua.LBool:
		return bool(v), nil
	case glua.LString:
		return string(v), nil
	case glua.LNumber:
		f := float64(v)
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), nil
		}
		return f, nil
	case *glua.LTable:
		return tableToGo(v)
	default:
		return nil, fmt.Errorf("a %s cannot be converted to data", v.Type())
	}
}

func tableToGo(t *glua.LTable) (any, error) {
	n := t.Len()
	count := 0
	t.ForEach(func(_, _ glua.LValue) { count++ })
	if n > 0 && n == count {
		list := make([]any, n)
		for i := 1; i <= n; i++ {
			v, err := toGo(t.RawGetInt(i))
			if err != nil {
				return nil, err
			}
			list[i-1] = v
		}
		return list, nil
	}
	m := map[string]any{}
	var err error
	t.ForEach(func(k, v glua.LValue) {
		if err != nil {
			return
		}
		var gv any
		if gv, err = toGo(v); err != nil {
			err = fmt.Errorf("key %s: %w", k, err)
			return
		}
		m[k.String()] = gv
	})
	return m, err
}

// toLua converts Go data (from YAML, JSON or toGo) to a Lua value.
func toLua(L *glua.LState, v any) glua.LValue {
	switch v := v.(type) {
	case nil:
		return glua.LNil
	case bool:
		return glua.LBool(v)
	case string:
		return glua.LString(v)
	case int:
		return glua.LNumber(v)
	case int64:
		return glua.LNumber(v)
	case uint64:
		return glua.LNumber(v)
	case float64:
		return glua.LNumber(v)
	case []any:
		t := L.CreateTable(len(v), 0)
		for _, e := range v {
			t.Append(toLua(L, e))
		}
		return t
	case []string:
		t := L.CreateTable(len(v), 0)
		for _, e := range v {
			t.Append(glua.LString(e))
		}
		return t
	case map[string]any:
		t := L.CreateTable(0, len(v))
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.RawSetString(k, toLua(L, v[k]))
		}
		return t
	default:
		return glua.LString(fmt.Sprint(v))
	}
}
