package core_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"remedy/lua"
	"remedy/lua/luatest"
	_ "remedy/lua/modules/all"
	"remedy/lua/modules/core"
	"remedy/lua/remote"
)

// mapLookup finds a template's variables in Go data, as the Lua tables
// that ToGo converts read: lists count from 1.
func mapLookup(vars map[string]any) core.Lookup {
	return func(path []string) (any, error) {
		var cur any = vars
		for _, part := range path {
			switch c := cur.(type) {
			case map[string]any:
				v, ok := c[part]
				if !ok {
					return nil, &core.Undefined{Msg: fmt.Sprintf("no variable %q", part)}
				}
				cur = v
			case []any:
				i, err := strconv.Atoi(part)
				if err != nil || i < 1 || i > len(c) {
					return nil, &core.Undefined{Msg: fmt.Sprintf("%q is not an index of a list of %d", part, len(c))}
				}
				cur = c[i-1]
			default:
				return nil, &core.Undefined{Msg: fmt.Sprintf("%q is not a table", part)}
			}
		}
		return cur, nil
	}
}

func TestRender(t *testing.T) {
	vars := map[string]any{
		"port": int64(33001), "name": "hsts", "on": true, "ratio": 0.5,
		"svc":   map[string]any{"ports": []any{int64(22), int64(33001)}},
		"empty": "", "zero": int64(0), "off": false, "none": []any{}, "Mixed": "MiXeD",
		"yes": "yes", "On": "On", "one": "1", "TRUE": "TRUE", "y": "y", "two": int64(2), "onef": 1.0,
		"n42": "42", "f427": "42.7", "neg": " -3 ", "hex": "0x1A", "junk": "x12", "big": 1e300,
		"web-1": map[string]any{"ip": "198.18.0.1"},
	}
	for _, tc := range []struct{ tmpl, want, err string }{
		{"Port {{ port }}", "Port 33001", ""},
		{"{{name}}:{{ port }}", "hsts:33001", ""},
		{"{{ svc.ports.2 }}", "33001", ""},
		{"{{ on }} {{ ratio }}", "true 0.5", ""},
		{"no placeholders {", "no placeholders {", ""},
		{`{{ ["web-1"].ip }}`, "", "unexpected"},
		{"{{ missing }}", "", `no variable "missing"`},
		{"{{ svc.ports.3 }}", "", "not an index"},
		{"{{ svc }}", "", "a table, not a value"},
		{"{{ svc.ports }}", "", `a list, not a value (| join(",") makes it one)`},
		{"{{ svc.ports[0] }}", "", "lists count from 1 here, as in Lua: write svc.ports.1"},
		// default: undefined only, unless its second argument is true.
		{"{{ missing | default('x') }}", "x", ""},
		{"{{ missing | d('x') }}", "x", ""},
		{"{{ missing|default }}", "", ""},
		{"{{ missing.deeper.still | default('x') }}", "x", ""},
		{"{{ svc.ports.9 | default(22) }}", "22", ""},
		{"{{ name | default('x') }}", "hsts", ""},
		{"{{ empty | default('x') }}", "", ""},
		{"{{ off | default('x') }}", "false", ""},
		{"{{ empty | default('x', true) }}", "x", ""},
		{"{{ zero | default('x', true) }}", "x", ""},
		{"{{ off | d('x', True) }}", "x", ""},
		{"{{ none | default('x', true) }}", "x", ""},
		{"{{ name | default('x', true) }}", "hsts", ""},
		{"{{ missing | default(name) }}", "hsts", ""},
		{"{{ missing | default(other) }}", "", `default: no variable "other"`},
		{`{{ missing | default("it's") }}`, "it's", ""},
		{`{{ missing | default('a \' b') }}`, "a ' b", ""},
		// join
		{"{{ svc.ports | join(',') }}", "22,33001", ""},
		{"{{ svc.ports | join }}", "2233001", ""},
		{"{{ svc.ports | join(', ') | upper }}", "22, 33001", ""},
		{"{{ none | join(',') }}", "", ""},
		{"{{ name | join(',') }}", "", `join: "hsts" is not a list`},
		{"{{ missing | join(',') }}", "", `no variable "missing"`},
		// lower, upper, chained
		{"{{ Mixed | lower }}", "mixed", ""},
		{"{{ Mixed | upper }}", "MIXED", ""},
		{"{{ missing | default('AbC') | lower }}", "abc", ""},
		{"{{ on | upper }}", "TRUE", ""},
		// int, as Jinja's
		{"{{ n42 | int }}", "42", ""},
		{"{{ f427 | int }}", "42", ""},
		{"{{ neg | int }}", "-3", ""},
		{"{{ ratio | int }}", "0", ""},
		{"{{ hex | int }}", "0", ""},
		{"{{ hex | int(0, 16) }}", "26", ""},
		{"{{ junk | int }}", "0", ""},
		{"{{ junk | int(7) }}", "7", ""},
		{"{{ on | int }}", "1", ""},
		{"{{ svc.ports | int }}", "0", ""},
		{"{{ big | int }}", "", "int: 1e+300 is too large for an integer"},
		{"{{ n42 | int | default(1) }}", "42", ""},
		// bool, as Ansible's
		{"{{ yes | bool }}", "true", ""},
		{"{{ On | bool }}", "true", ""},
		{"{{ one | bool }}", "true", ""},
		{"{{ TRUE | bool }}", "true", ""},
		{"{{ y | bool }}", "false", ""},
		{"{{ empty | bool }}", "false", ""},
		{"{{ two | bool }}", "false", ""},
		{"{{ onef | bool }}", "true", ""},
		{"{{ off | bool }}", "false", ""},
		{"{{ missing | default('no') | bool }}", "false", ""},
		// what it does not know, it names
		{"{{ port | quote }}", "", `no filter "quote" (template knows bool, d, default, int, join, lower, upper)`},
		{"{{ port | default('x') | to_json }}", "", `no filter "to_json"`},
		{"{{ port + 1 }}", "", `unexpected "+ 1"`},
		{"{{ }}", "", "a variable or a value is missing"},
		{"{{ port | }}", "", "a filter name must follow |"},
		{"{{ port | lower('x') }}", "", "lower: takes no arguments"},
		{"{{ port | default('x' }}", "", "want , or )"},
		{"{{ missing | default('x) }}", "", "not closed"},
	} {
		got, err := core.Render(tc.tmpl, mapLookup(vars))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Render(%q): error %v, want %q", tc.tmpl, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Render(%q) = %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
}

// TestTemplateErrorNamesTheLine: a template that cannot render fails the
// task at the line of its template() call, naming the placeholder.
func TestTemplateErrorNamesTheLine(t *testing.T) {
	h := luatest.NewLocalHost(t)
	r := luatest.Only(t, h, luatest.Task(`local a = 1
	return template("x={{ x | to_yaml }}", { x = 1 })`), lua.RunOptions{})
	if r.Status != remote.StatusFailed || !strings.Contains(r.Msg, `:3: template: {{ x | to_yaml }}: no filter "to_yaml"`) {
		t.Fatalf("%+v", r)
	}
	r = luatest.Only(t, h, luatest.Task(`return template("{{ hostvars[inventory_hostname].ip | default('none') }} {{ hostvars['local'].ip }}")`),
		lua.RunOptions{Vars: map[string]any{"ip": "198.18.0.9"}})
	if r.Status != remote.StatusFailed || !strings.Contains(r.Msg, `{{ hostvars[inventory_hostname].ip | default('none') }}: want a quoted string`) {
		t.Fatalf("%+v", r)
	}
	r = luatest.Only(t, h, luatest.Task(`return template("{{ hostvars['local'].ip | default('none') }} {{ v_missing | default(inventory_hostname) | upper }}")`),
		lua.RunOptions{Vars: map[string]any{"ip": "198.18.0.9"}})
	if r.Status != remote.StatusOK || r.Msg != "198.18.0.9 LOCAL" {
		t.Fatalf("%+v", r)
	}
}

func TestJSONAndTemplate(t *testing.T) {
	h := luatest.NewLocalHost(t)
	src := luatest.Task(`local d = json.decode('{"a":[1,2,{"b":null}],"c":"x"}')
	expect(d.a[2] == 2 and d.c == "x" and d.a[3].b == nil, "decode")
	expect(json.encode({b = 1, a = {true, "s"}}) == '{"a":[true,"s"],"b":1}', "encode: %s", json.encode({b = 1, a = {true, "s"}}))
	return template("Port {{ port }} on {{ host }}", { port = v.port, host = host.name })`)
	r := luatest.Only(t, h, src, lua.RunOptions{Vars: map[string]any{"port": 33001}})
	if r.Status != remote.StatusOK || r.Msg != "Port 33001 on local" {
		t.Fatalf("%+v", r)
	}
}
