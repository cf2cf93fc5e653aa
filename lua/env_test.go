package lua_test

import (
	"strings"
	"testing"

	"remedy/lua"
	"remedy/lua/change"
	"remedy/lua/luatest"
	"remedy/lua/remote"
	"remedy/lua/sshd"
)

func TestQueryCachedUntilAnotherCommandRuns(t *testing.T) {
	e := lua.NewTaskEnv(luatest.NewLocalHost(t), false)
	// Each real run appends a line, so the count tells how often it ran.
	count := func() string {
		t.Helper()
		out, err := e.QueryCached("sh", "-c", "echo . >> runs; wc -l < runs")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out.Stdout))
	}
	if got := count(); got != "1" {
		t.Fatalf("first read: ran %s times", got)
	}
	if got := count(); got != "1" {
		t.Fatalf("repeated read ran again: %s runs", got)
	}
	if _, err := e.Query("true"); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != "1" {
		t.Fatalf("another read ran it again: %s runs", got)
	}
	if _, err := e.QueryOwn([]string{"true"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != "2" {
		t.Fatalf("read after a command that may change the host: %s runs, want a fresh run", got)
	}
	e.SetCheck(true)
	if _, err := e.Apply(change.Command{Argv: []string{"touch", "changed"}}); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != "2" {
		t.Fatalf("an Apply in check mode runs nothing, so the read stays: %s runs", got)
	}
}

// Without a prefetch, the first of the modules' usual reads brings the
// others in its session; each answers once, and a repeat reads again.
func TestAUsualReadBringsTheOthers(t *testing.T) {
	h := &luatest.FixtureHost{Answer: func(string) (remote.Output, bool) { return remote.Output{}, true }}
	e := lua.NewTaskEnv(h, false)
	if _, err := e.Query("sshd", "-T"); err != nil {
		t.Fatal(err)
	}
	fw, _ := lua.LookupModule("firewall")
	if _, err := e.QueryCached(fw.Warm[0]...); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Query(sshd.ListenersCommand...); err != nil {
		t.Fatal(err)
	}
	if h.Execs != 1 {
		t.Fatalf("%d sessions for three usual reads, want 1", h.Execs)
	}
	if _, err := e.Query("sshd", "-T"); err != nil {
		t.Fatal(err)
	}
	if h.Execs != 2 {
		t.Errorf("a repeated Query was answered from the prefetch (%d sessions), want a fresh read", h.Execs)
	}
}
