package lua_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"remedy/lua"
	"remedy/lua/luatest"
	"remedy/lua/remote"
	"remedy/playbooks"
)

func TestRunMinimal(t *testing.T) {
	h := luatest.NewLocalHost(t)
	got, err := luatest.Run(t, h, `return { name = "m", hosts = "all", tasks = {
		{ name = "one", run = function(v) return "hi " .. v.who end },
	}, vars = { who = "pb" } }`, lua.RunOptions{Vars: map[string]any{"who": "inv"}})
	if err != nil {
		t.Fatal(err)
	}
	if luatest.Statuses(got) != "one=ok" || got[0].Msg != "hi inv" {
		t.Fatalf("got %+v", got)
	}
}

func TestHandlersFireOnceInDefinitionOrder(t *testing.T) {
	h := luatest.NewLocalHost(t)
	got, err := luatest.Run(t, h, `return {
		tasks = {
			{ name = "a", notify = {"second", "first"}, run = function(v) cmd.run({"true"}) end },
			{ name = "b", notify = "first", run = function(v) cmd.run({"true"}) end },
			{ name = "c", notify = "unused", run = function(v) cmd.query({"true"}) end },
		},
		handlers = {
			{ name = "first", run = function() cmd.run({"true"}) end },
			{ name = "second", run = function() end },
			{ name = "unused", run = function() end },
		},
	}`, lua.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := luatest.Statuses(got); s != "a=changed b=changed c=ok first=changed second=ok" {
		t.Fatalf("got %s", s)
	}
}

func TestTagsSelectTasksAndChecks(t *testing.T) {
	h := luatest.NewLocalHost(t)
	src := `return {
		tasks = {
			{ name = "fw", tags = "fw", run = function() end },
			{ name = "ssh", tags = {"ssh"}, run = function() end },
		},
		checks = { { name = "c-ssh", tags = "ssh", run = function() end }, { name = "c-all", run = function() end } },
	}`
	got, err := luatest.Run(t, h, src, lua.RunOptions{Tags: []string{"ssh"}})
	if err != nil {
		t.Fatal(err)
	}
	if s := luatest.Statuses(got); s != "ssh=ok c-ssh=ok" {
		t.Fatalf("--tags ssh: %s", s)
	}
	got, err = luatest.Run(t, h, src, lua.RunOptions{SkipTags: []string{"ssh"}, StartAt: "fw"})
	if err != nil {
		t.Fatal(err)
	}
	if s := luatest.Statuses(got); s != "fw=ok c-all=ok" {
		t.Fatalf("--skip-tags ssh: %s", s)
	}
}

func TestTaskFields(t *testing.T) {
	h := luatest.NewLocalHost(t)
	got, err := luatest.Run(t, h, `return {
		tasks = {
			{ name = "reg", register = "r", run = function(v) cmd.run({"true"}); return "x" end },
			{ name = "seen", when = function(v) return v.r.changed and v.r.result == "x" end, run = function() end },
			{ name = "skipped", when = function(v) return v.r.failed end, run = function() end },
			{ name = "forced", check_mode = false, run = function(v) cmd.run({"touch", v.dir .. "/forced"}) end },
			{ name = "ignored", ignore_errors = true, run = function() fail("boom") end },
			{ name = "fails", run = function() error("stop here") end },
			{ name = "never", run = function() end },
		},
		checks = { { name = "not reached", run = function() end } },
	}`, lua.RunOptions{Check: true, Vars: map[string]any{"dir": h.Dir}})
	if err != nil {
		t.Fatal(err)
	}
	if s := luatest.Statuses(got); s != "reg=changed seen=ok skipped=skipped forced=changed ignored=failed fails=failed" {
		t.Fatalf("got %s", s)
	}
	if !got[4].Ignored || got[5].Ignored || !strings.Contains(got[5].Msg, "site.lua:8: stop here") {
		t.Fatalf("ignore_errors or message wrong: %+v %+v", got[4], got[5])
	}
	if _, err := os.Stat(filepath.Join(h.Dir, "forced")); err != nil {
		t.Fatal("check_mode = false did not run the command")
	}
}

func TestChecksAreFindings(t *testing.T) {
	h := luatest.NewLocalHost(t)
	got, err := luatest.Run(t, h, `return { checks = {
		{ name = "pass", run = function() expect(1 + 1 == 2, "math") return "fine" end },
		{ name = "fail", severity = "high", run = function(v)
			expect(v.root == "no", "PermitRootLogin is %s", v.root)
		end },
		{ name = "cannot write", run = function(v) cmd.run({"touch", v.dir .. "/x"}) end },
	} }`, lua.RunOptions{Vars: map[string]any{"root": "yes", "dir": h.Dir}})
	if err != nil {
		t.Fatal(err)
	}
	if s := luatest.Statuses(got); s != "pass=ok fail=failed cannot write=changed" {
		t.Fatalf("got %s", s)
	}
	if got[0].Msg != "fine" || got[1].Severity != "high" || got[0].Severity != "medium" || got[1].Host != "local" || got[2].Msg != "would run touch "+h.Dir+"/x" || !strings.HasSuffix(got[1].Msg, "site.lua:4: PermitRootLogin is yes") {
		t.Fatalf("findings: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(h.Dir, "x")); err == nil {
		t.Fatal("a check changed the host")
	}
}

func TestVarsPrecedence(t *testing.T) {
	h := luatest.NewLocalHost(t)
	r := luatest.Only(t, h, `return { vars = { a = "pb", b = "pb", c = "pb" }, tasks = { { name = "t", run = function(v)
		return v.a .. v.b .. v.c .. host.vars.a
	end } } }`, lua.RunOptions{Vars: map[string]any{"b": "inv", "c": "inv"}, ExtraVars: map[string]any{"c": "extra"}})
	if r.Msg != "pbinvextrapb" {
		t.Fatalf("got %q", r.Msg)
	}
}

func TestSandbox(t *testing.T) {
	h := luatest.NewLocalHost(t)
	r := luatest.Only(t, h, luatest.Task(`
	for _, name in ipairs({"io", "debug", "dofile", "loadfile", "load", "loadstring", "package", "module", "setfenv"}) do
		expect(_G[name] == nil, "%s is reachable", name)
	end
	expect(os.execute == nil and os.exit == nil and os.remove == nil and os.getenv == nil, "unsafe os function")
	expect(type(os.time()) == "number" and string.dump == nil, "os.time missing or string.dump present")
	return "sandboxed"`), lua.RunOptions{})
	if r.Status != remote.StatusOK {
		t.Fatalf("%+v", r)
	}
}

func TestRequire(t *testing.T) {
	h := luatest.NewLocalHost(t)
	luaPath := t.TempDir()
	if err := os.WriteFile(filepath.Join(luaPath, "site.lua"), []byte(`return { from = "lua-path" }`), 0o644); err != nil {
		t.Fatal(err)
	}
	pb := luatest.WritePlaybook(t, luatest.Task(`local policy = require("policy")
	local site = require("site")
	local own = require("helpers.own")
	expect(require("helpers.own") == own, "modules load once per VM")
	return policy.join(policy.outside({22, 80, 443}, {22})) .. " " .. site.from .. " " .. own.from`))
	if err := os.MkdirAll(filepath.Join(filepath.Dir(pb), "helpers"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(pb), "helpers", "own.lua"), []byte(`return { from = "playbook dir" }`), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := luatest.Load(pb, luaPath)
	if err != nil {
		t.Fatal(err)
	}
	var got []remote.Result
	if err := p.Run(context.Background(), h, lua.RunOptions{}, func(r remote.Result) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	if got[0].Msg != "80, 443 lua-path playbook dir" {
		t.Fatalf("%+v", got[0])
	}
}

func TestLoadErrors(t *testing.T) {
	defer func(d time.Duration) { *lua.LoadTimeout = d }(*lua.LoadTimeout)
	*lua.LoadTimeout = 300 * time.Millisecond
	for _, tc := range []struct{ name, src, want string }{
		{"syntax", "return {\n name = \"x\"\n tasks = {} }", "site.lua:3:"},
		{"not a table", "return 42", "must return a table"},
		{"unknown playbook key", "return { taks = {} }", `unknown key "taks"`},
		{"unknown task key", "return { tasks = {\n{ name = \"t\", tgas = {}, run = function() end } } }", `site.lua:2: task 1: unknown key "tgas"`},
		{"missing run", `return { tasks = { { name = "t" } } }`, `"t" needs a run function`},
		{"missing name", `return { tasks = { { run = function() end } } }`, "needs a name"},
		{"bad notify", `return { tasks = { { name = "t", notify = "nope", run = function() end } } }`, `notifies "nope", but no handler`},
		{"bad severity", `return { checks = { { name = "c", severity = "huge", run = function() end } } }`, `severity "huge"`},
		{"var_types not a table", `return { var_types = "domain" }`, "playbook var_types must be a table, not string"},
		{"unknown var type", `return { var_types = { d = "dns" } }`, `site.lua: var_types: d: dns is not a type`},
		{"runtime error at top level", "local x = nil\nreturn x.y", "site.lua:2:"},
		{"module call at top level", "cmd.query({'true'})\nreturn {}", "only be called inside a task"},
		{"missing require", `require("nope") return {}`, `require "nope": not found in playbooks/lib/nope.lua`},
		{"require escaping the path", `require("../etc/passwd") return {}`, "bad module name"},
		{"endless loop", `while true do end`, "context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := luatest.Load(luatest.WritePlaybook(t, tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTaskTimeoutAndCancel(t *testing.T) {
	h := luatest.NewLocalHost(t)
	got, err := luatest.Run(t, h, `return { tasks = {
		{ name = "slow", timeout = 0.2, ignore_errors = true, run = function() cmd.query({"sleep", "5"}) end },
		{ name = "spin", timeout = 0.2, run = function() while true do end end },
	} }`, lua.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := luatest.Statuses(got); s != "slow=failed spin=failed" || !strings.Contains(got[1].Msg, "timed out after 200ms") {
		t.Fatalf("%s %+v", s, got)
	}
	p, err := luatest.Load(luatest.WritePlaybook(t, luatest.Task(`cmd.query({"sleep", "5"})`)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = p.Run(ctx, h, lua.RunOptions{}, func(remote.Result) {})
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("cancelled run: %v after %s", err, time.Since(start))
	}
}

func TestBuiltinPlaybooksLoad(t *testing.T) {
	for _, name := range playbooks.Names() {
		if _, err := lua.Load(luatest.Builtin(name), luatest.Shipped); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// policy.parse_ss on ss output captured in a namespace with listeners on
// every kind of address.
func TestPolicyParseSS(t *testing.T) {
	out, err := os.ReadFile("testdata/ss/listening.txt")
	if err != nil {
		t.Fatal(err)
	}
	h := luatest.NewLocalHost(t)
	r := luatest.Only(t, h, luatest.Task(`local policy = require("policy")
	local parts = {}
	for _, s in ipairs(policy.parse_ss(v.out)) do
		table.insert(parts, s.proto .. "/" .. s.addr .. "/" .. s.port .. (policy.loopback(s.addr) and "/lo" or ""))
	end
	return table.concat(parts, " ")`),
		lua.RunOptions{Vars: map[string]any{"out": string(out)}})
	want := "udp/0.0.0.0/33001 udp/*/53 tcp/127.0.0.1/5432/lo tcp/0.0.0.0/8080 tcp/*/22 tcp/::1/9000/lo"
	if r.Msg != want {
		t.Fatalf("got %q\nwant %q (%+v)", r.Msg, want, r)
	}
}

// One compiled playbook runs on many hosts at once, each in its own VM.
func TestRunManyHostsShareBytecode(t *testing.T) {
	p, err := luatest.Load(luatest.WritePlaybook(t, luatest.Task(`local policy = require("policy")
	return host.name .. " " .. policy.join({v.n})`)))
	if err != nil {
		t.Fatal(err)
	}
	const hosts = 8
	msgs := make([]string, hosts)
	errs := make(chan error, hosts)
	for i := range hosts {
		go func() {
			h := luatest.NewLocalHost(t)
			h.HostName = "h" + strconv.Itoa(i)
			errs <- p.Run(context.Background(), h, lua.RunOptions{Vars: map[string]any{"n": i}}, func(r remote.Result) { msgs[i] = r.Msg })
		}()
	}
	for range hosts {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range msgs {
		if want := "h" + strconv.Itoa(i) + " " + strconv.Itoa(i); m != want {
			t.Errorf("host %d: %q, want %q", i, m, want)
		}
	}
}

// lostHost is a local host whose connection has gone: every command
// fails the way the runner reports a dropped SSH session.
type lostHost struct{ *luatest.LocalHost }

func (h lostHost) Exec(ctx context.Context, cmd string, stdin []byte) (remote.Output, error) {
	return remote.Output{}, fmt.Errorf("ssh session: %w", remote.ErrUnreachable)
}

func TestUnreachableEndsTheRun(t *testing.T) {
	got, err := luatest.Run(t, lostHost{luatest.NewLocalHost(t)}, `return { tasks = {
		{ name = "a", ignore_errors = true, run = function() cmd.query({"true"}) end },
		{ name = "b", run = function() end },
	} }`, lua.RunOptions{})
	if !errors.Is(err, remote.ErrUnreachable) || luatest.Statuses(got) != "a=unreachable" {
		t.Fatalf("err %v, results %s", err, luatest.Statuses(got))
	}
}

// require finds a playbook's own modules inside its directory only: a
// symbolic link out of it is not followed, one within it is, and a name
// that climbs out is refused. --lua-path directories are read as they are.
func TestRequireStaysInThePlaybookDirectory(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "evil.lua"), []byte(`return "escaped"`), 0o644); err != nil {
		t.Fatal(err)
	}
	luaPath := t.TempDir()
	if err := os.Symlink(filepath.Join(outside, "evil.lua"), filepath.Join(luaPath, "viapath.lua")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, src, want string }{
		{"a link out of the directory", `require("evil") return {}`, "path escapes from parent"},
		{"a linked directory out of it", `require("out.evil") return {}`, "path escapes from parent"},
		{"a name that climbs out", `require("..evil") return {}`, "bad module name"},
		{"a link within the directory", `assert(require("inside") == "inside") return {}`, ""},
		{"a link in a --lua-path directory", `assert(require("viapath") == "escaped") return {}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb := luatest.WritePlaybook(t, tc.src)
			dir := filepath.Dir(pb)
			for name, target := range map[string]string{"evil.lua": filepath.Join(outside, "evil.lua"), "out": outside, "inside.lua": "real/inside.lua"} {
				if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Join(dir, "real"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "real", "inside.lua"), []byte(`return "inside"`), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := luatest.Load(pb, luaPath)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got %v, want it loaded", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
