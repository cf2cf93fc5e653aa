package lua_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"remedy/lua"
	"remedy/lua/firewall"
	"remedy/lua/luatest"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

// countingHost counts the sessions a run opens on a real local host:
// commands, and file reads (over SFTP, or a command of their own).
type countingHost struct {
	*luatest.LocalHost
	execs, reads int
	// breakBatch answers a batch as a host whose shell surprised us would.
	breakBatch bool
	// limitBatch answers a batch as the runner does one whose output
	// passed --max-output.
	limitBatch bool
}

func (h *countingHost) Exec(ctx context.Context, cmd string, stdin []byte) (remote.Output, error) {
	h.execs++
	if h.breakBatch && strings.Contains(cmd, "exec 3>&1") {
		return remote.Output{ExitCode: 2, Stderr: []byte("sh: 1: Syntax error: Bad fd number")}, nil
	}
	if h.limitBatch && strings.Contains(cmd, "exec 3>&1") {
		return remote.Output{ExitCode: -1}, fmt.Errorf("more than 8MiB of output: %w", remote.ErrOutputLimit)
	}
	return h.LocalHost.Exec(ctx, cmd, stdin)
}

func (h *countingHost) ReadFile(ctx context.Context, p string) ([]byte, error) {
	h.reads++
	return h.LocalHost.ReadFile(ctx, p)
}

// gatherRun runs src on h as the CLI does: facts gathered by Run.
func gatherRun(t *testing.T, h remote.Host, src string) ([]remote.Result, remote.Facts, error) {
	t.Helper()
	var facts remote.Facts
	got, err := luatest.Run(t, h, src, lua.RunOptions{Gather: true, Gathered: func(f remote.Facts) { facts = f }})
	return got, facts, err
}

// counter is a read that says how often it has run in the host's dir.
const counter = `{ "sh", "-c", "echo . >> runs; wc -l < runs" }`

func TestPrefetchRidesWithTheFacts(t *testing.T) {
	h := &countingHost{LocalHost: luatest.NewLocalHost(t)}
	motd, missing := filepath.Join(h.Dir, "motd"), filepath.Join(h.Dir, "missing")
	if err := os.WriteFile(motd, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, facts, err := gatherRun(t, h, `return {
  prefetch = function(v) return { "sshd", `+counter+`, file.read_command("`+motd+`"), file.read_command("`+missing+`") } end,
  tasks = {
    { name = "read", run = function(v)
        -- The files first: a playbook's own second query may change the host.
        local files = file.read("`+motd+`") .. tostring(file.read("`+missing+`"))
        local first = cmd.query(`+counter+`).stdout
        local second = cmd.query(`+counter+`).stdout
        return first:gsub("%s", "") .. second:gsub("%s", "") .. " " .. files .. host.facts.user
      end },
  } }`)
	if err != nil {
		t.Fatal(err)
	}
	if luatest.Statuses(got) != "Gathering Facts=ok read=ok" {
		t.Fatalf("got %s: %+v", luatest.Statuses(got), got)
	}
	// The first query is the prefetched run; the second reads again.
	if want := "12 hello\nnil" + facts.User; got[1].Msg != want || facts.User == "" {
		t.Errorf("got %q, want %q", got[1].Msg, want)
	}
	if h.execs != 2 || h.reads != 0 {
		t.Errorf("%d sessions and %d file reads, want 2 and none: the facts with the prefetch (the file and the missing one too), then the second query", h.execs, h.reads)
	}
}

// A file read in a batch answers ReadFileCached, that the file is missing
// too, until the host changes; the next read asks the host.
func TestReadFileCachedRemembersAMissingFile(t *testing.T) {
	h := &countingHost{LocalHost: luatest.NewLocalHost(t)}
	missing := filepath.Join(h.Dir, "missing")
	e := lua.NewTaskEnv(h, true)
	b := shell.NewBatch([]string{shell.Join(shell.ReadFileArgv(missing)...)})
	out, err := h.Exec(context.Background(), b.Command(), nil)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := b.Split(out.Stdout)
	if err != nil || outs[0].ExitCode != 66 {
		t.Fatalf("the batched read of a missing file: %+v, %v; want exit 66", outs, err)
	}
	e.Prefetched(b.Lines[0], outs[0])
	for i := range 3 {
		if _, err := e.ReadFileCached(missing); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
			t.Fatalf("read %d: %v, want a missing file named", i, err)
		}
	}
	if h.reads != 0 {
		t.Errorf("%d reads of the host for a file the batch found missing", h.reads)
	}
	if err := os.WriteFile(missing, []byte("now\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Forget()
	if b, err := e.ReadFileCached(missing); err != nil || string(b) != "now\n" || h.reads != 1 {
		t.Errorf("after a change: %q, %v, %d reads; want the file read again", b, err, h.reads)
	}
}

func TestPrefetchIsForgottenAfterAChange(t *testing.T) {
	h := &countingHost{LocalHost: luatest.NewLocalHost(t)}
	got, _, err := gatherRun(t, h, `return {
  prefetch = function(v) return { `+counter+` } end,
  tasks = {
    { name = "change", run = function(v) cmd.run { "true" } end },
    { name = "read", run = function(v) return (cmd.query(`+counter+`).stdout:gsub("%s", "")) end },
  } }`)
	if err != nil {
		t.Fatal(err)
	}
	if got[2].Msg != "2" {
		t.Errorf("a read after a change answered %q from before it, want a fresh run (2)", got[2].Msg)
	}
}

func TestGatherWithoutPrefetchIsOneSession(t *testing.T) {
	h := &countingHost{LocalHost: luatest.NewLocalHost(t)}
	got, facts, err := gatherRun(t, h, `return { tasks = { { name = "t", run = function(v) return host.facts.os_id end } } }`)
	if err != nil {
		t.Fatal(err)
	}
	if h.execs != 1 || got[1].Msg != facts.OSID || facts.User == "" {
		t.Errorf("%d sessions, task saw os_id %q, facts %+v", h.execs, got[1].Msg, facts)
	}
	if d := got[0].Duration; d <= 0 || d > time.Minute {
		t.Errorf("gathering took %s without a start time given", d)
	}
}

func TestGatherFallsBackWhenTheBatchFails(t *testing.T) {
	h := &countingHost{LocalHost: luatest.NewLocalHost(t), breakBatch: true}
	got, facts, err := gatherRun(t, h, `return {
  prefetch = function(v) return { `+counter+` } end,
  tasks = { { name = "read", run = function(v) return (cmd.query(`+counter+`).stdout:gsub("%s", "")) end } } }`)
	if err != nil {
		t.Fatal(err)
	}
	if facts.User == "" || luatest.Statuses(got) != "Gathering Facts=ok read=ok" || got[1].Msg != "1" {
		t.Errorf("facts %+v, results %+v", facts, got)
	}
}

// Reads that together pass the output limit are not a failure: the facts
// come alone, and each read runs alone when a task asks for it, so only
// a read too large by itself fails, under its own name.
func TestGatherReadsAloneWhenTheBatchPassesTheLimit(t *testing.T) {
	h := &countingHost{LocalHost: luatest.NewLocalHost(t), limitBatch: true}
	got, facts, err := gatherRun(t, h, `return {
  prefetch = function(v) return { `+counter+` } end,
  tasks = { { name = "read", run = function(v) return (cmd.query(`+counter+`).stdout:gsub("%s", "")) end } } }`)
	if err != nil {
		t.Fatal(err)
	}
	if facts.User == "" || luatest.Statuses(got) != "Gathering Facts=ok read=ok" || got[1].Msg != "1" || h.execs != 3 {
		t.Errorf("%d sessions, facts %+v, results %+v", h.execs, facts, got)
	}
}

func TestWarmingReadsAloneWhenTheBatchPassesTheLimit(t *testing.T) {
	h := &countingHost{LocalHost: luatest.NewLocalHost(t), limitBatch: true}
	e := lua.NewTaskEnv(h, false)
	line := lua.WarmLines()[0]
	if _, err := e.QueryLine(line); err != nil || h.execs != 2 {
		t.Errorf("%d sessions, %v: want the batch, then %s alone", h.execs, err, line)
	}
}

func TestPrefetchErrorsNameTheLine(t *testing.T) {
	tests := []struct{ prefetch, want string }{
		{`function(v) return { "no-such-module" } end`, `site.lua:2: prefetch: entry 1: no module "no-such-module"`},
		{`function(v) return { "sshd", {} } end`, `site.lua:2: prefetch: entry 2: an empty command`},
		{`function(v) return { { "ls", {} } } end`, `site.lua:2: prefetch: entry 1: argument 2 is a table, want a string`},
		{`function(v) return "sshd" end`, `site.lua:2: prefetch must return a list, not string`},
		{`function(v) error("boom") end`, `boom`},
	}
	for _, tt := range tests {
		t.Run(tt.prefetch, func(t *testing.T) {
			h := &countingHost{LocalHost: luatest.NewLocalHost(t)}
			got, _, err := gatherRun(t, h, "return {\n  prefetch = "+tt.prefetch+",\n  tasks = { { name = \"t\", run = function(v) end } } }")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if len(got) != 0 || h.execs != 0 {
				t.Errorf("the host was contacted (%d sessions) or results came: %+v", h.execs, got)
			}
		})
	}
}

func TestPrefetchMustBeAFunction(t *testing.T) {
	_, err := luatest.Load(luatest.WritePlaybook(t, `return { prefetch = { "sshd" }, tasks = {} }`))
	if err == nil || !strings.Contains(err.Error(), "prefetch must be a function of v, not table") {
		t.Fatalf("got %v", err)
	}
}

// A firewall read the facts caught mid-change (a ufw rule came between
// nft's listing and iptables-nft-save's) is read again while they are
// gathered, and the read again is logged as every remote command is, at
// level 1 (-v): the benchmark's floor of remedy's reads is built from
// that log.
func TestGatherLogsTheFirewallReadAgain(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("firewall", "testdata", "ufw", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	again := shell.Join(firewall.ReadAgainArgv...)
	h := &luatest.FixtureHost{}
	h.Answer = func(cmd string) (remote.Output, bool) {
		switch cmd {
		case lua.FactsCommand():
			return remote.Output{Stdout: luatest.Parts("id", "uid=0\nuser=root\n", "nft", read("lab-ufw.json"),
				"v4-nft", read("remedy-fasp.save"), "v6-nft", read("remedy-fasp.save6"), "ufw", "ENABLED=yes\n")}, true
		case again:
			return remote.Output{Stdout: luatest.Parts("nft", read("lab-ufw.json"),
				"v4-nft", read("lab-ufw.save"), "v6-nft", read("lab-ufw.save6"))}, true
		}
		return remote.Output{}, false
	}
	var logged []string
	var facts remote.Facts
	_, err := luatest.Run(t, h, `return { tasks = { { name = "t", run = function(v) end } } }`, lua.RunOptions{
		Gather: true, Gathered: func(f remote.Facts) { facts = f },
		Log: func(level int, format string, args ...any) {
			if level == 1 {
				logged = append(logged, fmt.Sprintf(format, args...))
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"fixture: " + lua.FactsCommand(), "fixture: " + again}; !slices.Equal(logged, want) {
		t.Errorf("logged %d commands, want the facts, then the firewall's read again:\n%s", len(logged), strings.Join(logged, "\n"))
	}
	if facts.Firewall != "ufw" || !strings.Contains(facts.FirewallWhy, "iptables-nft's") || len(h.Ran) > 0 {
		t.Errorf("firewall %s (%s), unanswered commands %q; want ufw over iptables-nft's tables as read again", facts.Firewall, facts.FirewallWhy, h.Ran)
	}
}
