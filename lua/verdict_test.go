package lua_test

import (
	"regexp"
	"testing"

	"remedy/lua"
	"remedy/lua/luatest"
	"remedy/lua/remote"
)

// TestCheckErrorIsNotAFinding: a check that fails through expect or fail
// found something; one that breaks (a Lua error, error(), a command that
// could not run, a when that errs) is an error, never a finding.
func TestCheckErrorIsNotAFinding(t *testing.T) {
	cases := []struct {
		name, body string
		err        bool
		msg        string // a regexp
	}{
		{"expect", `expect(false, "port %d open", 23)`, false, `site\.lua:3: port 23 open$`},
		{"fail", `fail("no banner")`, false, `site\.lua:3: no banner$`},
		{"expect without message", `expect(nil)`, false, `site\.lua:3: expectation failed$`},
		{"index nil", `local x = nil; return x.y`, true, `site\.lua:3: attempt to index a non-table object\(nil\)`},
		{"error string", `error("broken")`, true, `site\.lua:3: broken$`},
		{"error table", `error({code = 1, why = "x", list = {1, 2}})`, true, `site\.lua:3: \{code = 1, list = \{1, 2\}, why = "x"\}$`},
		{"error table with tostring", `error(setmetatable({}, {__tostring = function() return "custom" end}))`, true, `site\.lua:3: custom$`},
		{"error number", `error(42)`, true, `site\.lua:3: 42$`},
		{"command that fails", `cmd.query({"false"})`, true, `exit`},
		{"caught finding, then a bug", `pcall(expect, false, "x"); local y = nil; return y.z`, true, `attempt to index`},
		{"caught bug, then a finding", `pcall(error, "bug"); fail("found")`, false, `site\.lua:3: found$`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := luatest.NewLocalHost(t)
			src := "return { checks = { { name = \"c\", run = function(v)\n\n" + tc.body + "\nend } } }"
			r := luatest.Only(t, h, src, lua.RunOptions{})
			if r.Status != remote.StatusFailed || r.Error != tc.err || !regexp.MustCompile(tc.msg).MatchString(r.Msg) {
				t.Fatalf("got status %s error %v %q, want failed error %v matching %s", r.Status, r.Error, r.Msg, tc.err, tc.msg)
			}
		})
	}
}

// TestTaskErrorIsAnError: the same split holds for tasks, and a when
// that breaks is an error even when expect raised it.
func TestTaskErrorIsAnError(t *testing.T) {
	h := luatest.NewLocalHost(t)
	got, err := luatest.Run(t, h, `return { tasks = {
		{ name = "found", ignore_errors = true, run = function() fail("x") end },
		{ name = "when", ignore_errors = true, when = function() expect(false, "in when") end, run = function() end },
		{ name = "bug", run = function() local t = {} ; return t.a.b end },
	} }`, lua.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Error || !got[1].Error || !got[2].Error || !got[1].Ignored {
		t.Fatalf("got %+v", got)
	}
}

// TestErrorTableAtLoad: error({...}) at a playbook's top level shows the
// table and the line too.
func TestErrorTableAtLoad(t *testing.T) {
	_, err := luatest.Load(luatest.WritePlaybook(t, "local x = 1\nerror({code = 1})\nreturn {}"))
	if err == nil || !regexp.MustCompile(`site\.lua:2: \{code = 1\}$`).MatchString(err.Error()) {
		t.Fatalf("got %v", err)
	}
}
