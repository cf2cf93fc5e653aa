package template_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"remedy/lua/template"
)

// mapLookup finds a template's variables in Go data, as the Lua tables
// that ToGo converts read: lists count from 1.
func mapLookup(vars map[string]any) template.Lookup {
	return func(path []string) (any, error) {
		var cur any = vars
		for _, part := range path {
			switch c := cur.(type) {
			case map[string]any:
				v, ok := c[part]
				if !ok {
					return nil, &template.Undefined{Msg: fmt.Sprintf("no variable %q", part)}
				}
				cur = v
			case []any:
				i, err := strconv.Atoi(part)
				if err != nil || i < 1 || i > len(c) {
					return nil, &template.Undefined{Msg: fmt.Sprintf("%q is not an index of a list of %d", part, len(c))}
				}
				cur = c[i-1]
			default:
				return nil, &template.Undefined{Msg: fmt.Sprintf("%q is not a table", part)}
			}
		}
		return cur, nil
	}
}

// renderVars are the variables renderCases render with.
var renderVars = map[string]any{
	"port": int64(33001), "name": "hsts", "on": true, "ratio": 0.5,
	"svc":   map[string]any{"ports": []any{int64(22), int64(33001)}},
	"empty": "", "zero": int64(0), "off": false, "nothing": []any{}, "Mixed": "MiXeD",
	"yes": "yes", "On": "On", "one": "1", "TRUE": "TRUE", "y": "y", "two": int64(2), "onef": 1.0,
	"n42": "42", "f427": "42.7", "neg": " -3 ", "hex": "0x1A", "junk": "x12", "big": 1e300,
	"hosts": map[string]any{"web-1": map[string]any{"ip": "198.18.0.1"}},
}

// renderCases: a template, what it renders, or the error it makes.
var renderCases = []struct{ tmpl, want, err string }{
	{"Port {{ port }}", "Port 33001", ""},
	{"{{name}}:{{ port }}", "hsts:33001", ""},
	{"{{ svc.ports.2 }}", "33001", ""},
	{"{{ on }} {{ ratio }}", "true 0.5", ""},
	{"no placeholders {", "no placeholders {", ""},
	{`{{ ["web-1"].ip }}`, "", "unexpected"},
	{`{{ hosts["web-1"].ip }}`, "198.18.0.1", ""},
	{`{{ hosts['web-1'] .ip | upper }}`, "198.18.0.1", ""},
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
	{"{{ nothing | default('x', true) }}", "x", ""},
	{"{{ name | default('x', true) }}", "hsts", ""},
	{"{{ missing | default(name) }}", "hsts", ""},
	{"{{ missing | default(other) }}", "", `default: no variable "other"`},
	{`{{ missing | default("it's") }}`, "it's", ""},
	{`{{ missing | default('a \' b') }}`, "a ' b", ""},
	// join
	{"{{ svc.ports | join(',') }}", "22,33001", ""},
	{"{{ svc.ports | join }}", "2233001", ""},
	{"{{ svc.ports | join(', ') | upper }}", "22, 33001", ""},
	{"{{ nothing | join(',') }}", "", ""},
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
}

func TestRender(t *testing.T) {
	for _, tc := range renderCases {
		got, err := template.Render(tc.tmpl, mapLookup(renderVars))
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
