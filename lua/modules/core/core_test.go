package core_test

import (
	"strings"
	"testing"

	"remedy/lua"
	"remedy/lua/luatest"
	_ "remedy/lua/modules/all"
	"remedy/lua/modules/core"
	"remedy/lua/remote"
)

func TestRender(t *testing.T) {
	vars := map[string]any{
		"port": int64(33001), "name": "hsts", "on": true, "ratio": 0.5,
		"svc": map[string]any{"ports": []any{int64(22), int64(33001)}},
	}
	for _, tc := range []struct{ tmpl, want, err string }{
		{"Port {{ port }}", "Port 33001", ""},
		{"{{name}}:{{ port }}", "hsts:33001", ""},
		{"{{ svc.ports.2 }}", "33001", ""},
		{"{{ on }} {{ ratio }}", "true 0.5", ""},
		{"no placeholders {", "no placeholders {", ""},
		{"{{ missing }}", "", `no variable "missing"`},
		{"{{ svc.ports.3 }}", "", "not an index"},
		{"{{ svc }}", "", "is a table"},
		{"{{ port | quote }}", "", "is not a variable name"},
	} {
		got, err := core.Render(tc.tmpl, vars)
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
