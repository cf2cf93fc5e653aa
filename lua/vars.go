package lua

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua/valid"
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

// ToGo converts a Lua value made of tables, strings, numbers and booleans
// to Go: a table with keys 1..n becomes []any, any other table
// map[string]any, a whole number int64.
func ToGo(v glua.LValue) (any, error) {
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
		if all := readOnlyContent(v); all != nil {
			return tableToGo(all)
		}
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
			v, err := ToGo(t.RawGetInt(i))
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
		if gv, err = ToGo(v); err != nil {
			err = fmt.Errorf("key %s: %w", k, err)
			return
		}
		m[k.String()] = gv
	})
	return m, err
}

// ToLua converts Go data (from YAML, JSON or ToGo) to a Lua value.
func ToLua(L *glua.LState, v any) glua.LValue {
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
			t.Append(ToLua(L, e))
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
			t.RawSetString(k, ToLua(L, v[k]))
		}
		return t
	default:
		return glua.LString(fmt.Sprint(v))
	}
}

// varType is the shape a playbook's var_types declares for a variable
// whose value becomes a command argument: the value is checked before
// any host is contacted, so a hostile one stops the run as bad input.
// service is what service.* takes as a name.
type varType struct {
	shape    string // a key of varShapes
	optional bool   // "?": nil or "" means not set
}

// varShapes check a variable's value, a scalar from YAML, JSON, -e k=v or
// Lua, by its declared shape.
var varShapes = map[string]func(v any) error{
	"bool":    boolShape,
	"port":    func(v any) error { _, err := valid.Port(scalar(v)); return err },
	"domain":  func(v any) error { return valid.Domain(scalar(v)) },
	"host":    func(v any) error { return valid.Host(scalar(v)) },
	"path":    func(v any) error { return valid.Path(scalar(v)) },
	"service": func(v any) error { return valid.Service(scalar(v)) },
}

// boolShape accepts what an INI inventory or -e spells as a boolean, as
// Ansible reads it.
func boolShape(v any) error {
	if _, ok := v.(bool); ok {
		return nil
	}
	switch strings.ToLower(scalar(v)) {
	case "true", "false", "yes", "no", "on", "off", "1", "0":
		return nil
	}
	return errors.New("not true or false")
}

// scalar is a number, string or boolean as text; "" for anything else,
// which no shape accepts.
func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool, int, int64, uint64:
		return fmt.Sprint(v)
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return ""
}

// parseVarTypes reads a playbook's var_types table: variable name to
// shape, "host" or "host?".
func parseVarTypes(t *glua.LTable) (map[string]varType, error) {
	types := map[string]varType{}
	if t == nil {
		return types, nil
	}
	var err error
	t.ForEach(func(k, v glua.LValue) {
		name, ok := k.(glua.LString)
		s, isStr := v.(glua.LString)
		typ := varType{shape: strings.TrimSuffix(string(s), "?"), optional: strings.HasSuffix(string(s), "?")}
		switch {
		case err != nil:
		case !ok:
			err = fmt.Errorf("var_types: key %s is not a variable name", k)
		case !isStr || varShapes[typ.shape] == nil:
			err = fmt.Errorf("var_types: %s: %s is not a type (want %s, with ? when it may be unset)", name, v, strings.Join(shapeNames(), ", "))
		default:
			types[string(name)] = typ
		}
	})
	return types, err
}

func shapeNames() []string {
	names := make([]string, 0, len(varShapes))
	for n := range varShapes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// varLayer is one source of variables, in precedence order, named for
// errors: the playbook's vars, the inventory, -e.
type varLayer struct {
	source string
	vars   map[string]any
}

// checkVarTypes checks the value each typed variable ends up with once
// the layers are merged, and names the layer it came from.
func checkVarTypes(types map[string]varType, layers []varLayer) error {
	names := make([]string, 0, len(types))
	for n := range types {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		typ := types[name]
		var v any
		source := ""
		for _, l := range layers {
			if x, ok := l.vars[name]; ok {
				v, source = x, l.source
			}
		}
		if typ.optional && (v == nil || v == "") {
			continue
		}
		if v == nil {
			return fmt.Errorf("%s is not set: want a %s", name, typ.shape)
		}
		if err := varShapes[typ.shape](v); err != nil {
			return fmt.Errorf("%s %s (from %s): %w", name, shownValue(v), source, err)
		}
	}
	return nil
}

// shownValue is a value for an error: a string quoted and cut short, as
// a hostile one may be long or hold newlines.
func shownValue(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%.80q", s)
	}
	return fmt.Sprintf("%v", v)
}

// CheckVars checks the playbook's var_types against one host's variables
// as a run would merge them, so that a value that cannot be the argument
// it becomes stops the run before any host is contacted.
func (p *Playbook) CheckVars(host string, inv, extra map[string]any) error {
	err := checkVarTypes(p.varTypes, []varLayer{
		{"the playbook's vars", p.vars}, {"the inventory, host " + host, inv}, {"-e", extra}})
	if err != nil {
		return fmt.Errorf("%s: %w", p.file, err)
	}
	return nil
}

// ownVars converts a playbook's vars table to Go; nil for none.
func ownVars(t *glua.LTable) (map[string]any, error) {
	if t == nil {
		return nil, nil
	}
	g, err := tableToGo(t)
	if err != nil {
		return nil, err
	}
	m, ok := g.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("vars must be a table of names, not a list")
	}
	return m, nil
}
