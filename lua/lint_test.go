package lua_test

import (
	"strings"
	"testing"

	"remedy/lua"
	"remedy/lua/luatest"
	"remedy/playbooks"
)

func TestLint(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // one substring per issue, in order
	}{
		{"clean", `local policy = require("policy")
return { vars = { port = 22 }, tasks = {
	{ name = "a", register = "out", run = function(v) return cmd.query({"echo", v.port}) end },
	{ name = "b", when = function(v) return v.out.changed end, run = function(v) v.later = 1 end },
	{ name = "c", run = function(v) log(v.later, policy.join({})) end },
} }`, nil},
		{"syntax error", "return {\n  tasks = { \n", []string{"site.lua: error: at end of file"}},
		{"unknown module function", `return { tasks = { { name = "a", run = function(v)
	file.wirte { path = "/x", content = "" }
end } } }`, []string{`site.lua:2: error: file has no "wirte" (it has: line, read, read_command, stat, write)`}},
		{"unknown global", `return { checks = { { name = "a", run = function(v)
	expct(true, "x")
end } } }`, []string{`site.lua:2: error: unknown global "expct"`}},
		{"local shadows a module", `local file = { wirte = 1 }
return { tasks = { { name = "a", run = function(v) return file.wirte end } } }`, nil},
		{"unknown task key", `return { tasks = { { name = "a", tags = "x", notfiy = "h", run = function(v) end } } }`, []string{`site.lua:1: error: task 1: unknown key "notfiy"`}},
		{"syntax error with a line", "return {\n name = \"x\"\n tasks = {} }", []string{`site.lua:3: error: near "tasks": syntax error`}},
		{"unknown and missing options", `return { tasks = { { name = "a", run = function(v)
	file.write { path = "/x", contnet = "" }
end } } }`, []string{`site.lua:2: error: file.write has no option "contnet"`, `site.lua:2: error: file.write needs content`}},
		{"options of a table built elsewhere are not checked", `local o = { path = "/x" }
return { tasks = { { name = "a", run = function(v) file.write(o) end } } }`, nil},
		{"require inside a task", `return { tasks = { { name = "a", run = function(v)
	local p = require("polcy")
end } } }`, []string{`site.lua:2: error: require "polcy": not found in playbooks/lib/polcy.lua`}},
		{"missing require at top level is reported once", `local p = require("polcy")
return {}`, []string{`site.lua:1: error: require "polcy": not found`}},
		{"unknown var is a warning", `return { vars = { port = 22 }, tasks = { { name = "a", run = function(v)
	return v.prot
end } } }`, []string{`site.lua:2: warning: v.prot is not in the playbook's vars`}},
		{"what the sandbox leaves out, with what to use instead", `local f = io.open("/etc/passwd")
local code = loadstring("return 1")
return { tasks = { { name = "a", run = function(v)
	os.execute("reboot"); io.write("x"); dofile("x.lua"); load("x")
	loadfile("y"); os.exit(1); os.getenv("HOME"); os.remove("/x"); debug.traceback()
	local s = string.dump(print); local t = os.time(); setfenv(1, {})
	local d = os.date("%Y"); return os.clock() + os.difftime(t, t)
end } } }`, []string{
			`site.lua:1: error: io.open: io is not in remedy's sandbox: read and write the host's files with file.read and file.write`,
			`site.lua:2: error: loadstring is not in remedy's sandbox: it loads no code`,
			`site.lua:4: error: os.execute is not in remedy's sandbox: run commands on the host with cmd.run or cmd.query`,
			`site.lua:4: error: io.write: io is not in remedy's sandbox`,
			`site.lua:4: error: dofile is not in remedy's sandbox`,
			`site.lua:4: error: load is not in remedy's sandbox`,
			`site.lua:5: error: loadfile is not in remedy's sandbox`,
			`site.lua:5: error: os.exit is not in remedy's sandbox: fail the task or check with fail() instead`,
			`site.lua:5: error: os.getenv is not in remedy's sandbox`,
			`site.lua:5: error: os.remove is not in remedy's sandbox`,
			`site.lua:5: error: debug.traceback: debug is not in remedy's sandbox`,
			`site.lua:6: error: string.dump is not in remedy's sandbox`,
			`site.lua:6: error: setfenv is not in remedy's sandbox`,
		}},
		{"a local named like a missing library is the playbook's own", `local io = { open = function() end }
local os = { execute = function() end }
return { tasks = { { name = "a", run = function(v) io.open(); os.execute() end } } }`, nil},
		{"a literal template's filters", `local t = template
return { tasks = { { name = "a", run = function(v)
	local ok = template("{{ port | default(22) | int }} {{ names | join(',') | upper }}")
	local bad = template("x {{ port | to_yaml }}")
	local malformed = template("{{ port + 1 }}", { port = 1 })
	return t("{{ x | anything }}") .. template(v.dynamic)
end } } }`, []string{
			`site.lua:4: error: template: {{ port | to_yaml }}: no filter "to_yaml" (template knows bool, d, default, int, join, lower, upper)`,
			`site.lua:5: error: template: {{ port + 1 }}: unexpected "+ 1"`,
			`site.lua:6: warning: v.dynamic`,
		}},
		{"vars param renamed", `return { tasks = { { name = "a", run = function(vars)
	return vars.x
end } } }`, []string{`site.lua:2: warning: v.x`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := lua.ReadFile(luatest.WritePlaybook(t, tc.src))
			if err != nil {
				t.Fatal(err)
			}
			issues := lua.Lint(src, luatest.Shipped)
			if len(issues) != len(tc.want) {
				t.Fatalf("got %v, want %d issues", issues, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(issues[i].String(), w) {
					t.Errorf("issue %d: %q does not contain %q", i, issues[i], w)
				}
			}
		})
	}
}

func TestLintBuiltinPlaybooks(t *testing.T) {
	for _, name := range playbooks.Names() {
		for _, i := range lua.Lint(luatest.Builtin(name), luatest.Shipped) {
			if !i.Warning {
				t.Errorf("%s: %s", name, i)
			}
		}
	}
}
