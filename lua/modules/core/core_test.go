package core_test

import (
	"strings"
	"testing"

	"remedy/lua"
	"remedy/lua/luatest"
	_ "remedy/lua/modules/all"
	"remedy/lua/remote"
)

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
