package lua_test

import (
	"context"
	"strings"
	"testing"

	"remedy/lua"
	"remedy/lua/luatest"
	"remedy/lua/remote"
)

// A value of the wrong shape stops the run before the facts and the
// prefetch are read, so no read takes it to the host; CheckVars says the
// same before any host is contacted.
func TestVarTypesStopTheRunBeforeTheHost(t *testing.T) {
	src := `return { vars = { domain = "api.ibmaspera.com" }, var_types = { domain = "domain" },
	  prefetch = function(v) return { firewall.domain_reads(v.domain)[1] } end,
	  tasks = { { name = "t", run = function() end } } }`
	p, err := luatest.Load(luatest.WritePlaybook(t, src))
	if err != nil {
		t.Fatal(err)
	}
	extra := map[string]any{"domain": "-f/etc/shadow"}
	want := `domain "-f/etc/shadow" (from -e): not a domain name`
	if err := p.CheckVars("h1", nil, extra); err == nil || !strings.HasSuffix(err.Error(), "site.lua: "+want) {
		t.Errorf("CheckVars: got %v, want %q", err, want)
	}
	if err := p.CheckVars("h1", map[string]any{"domain": "--help"}, nil); err == nil ||
		!strings.HasSuffix(err.Error(), `domain "--help" (from the inventory, host h1): not a domain name`) {
		t.Errorf("CheckVars: got %v", err)
	}
	h := &countingHost{LocalHost: luatest.NewLocalHost(t)}
	err = p.Run(context.Background(), h, lua.RunOptions{Gather: true, ExtraVars: extra}, func(remote.Result) {})
	if err == nil || !strings.HasSuffix(err.Error(), "vars: "+want) || h.execs != 0 {
		t.Fatalf("run: %v after %d commands, want %q before any", err, h.execs, want)
	}
}
