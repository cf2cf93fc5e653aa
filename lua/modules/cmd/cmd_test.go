package cmd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remedy/lua/luatest"
	_ "remedy/lua/modules/all"
	"remedy/lua/remote"
)

func TestCmd(t *testing.T) {
	h := luatest.NewLocalHost(t)
	for _, tc := range []struct {
		name, body string
		check      bool
		status     remote.Status
		msg        string
	}{
		{"query output", `return cmd.query({"echo", "a b; $(x)"}).stdout`, false, remote.StatusOK, "a b; $(x)\n"},
		{"query fails on non-zero", `cmd.query({"false"})`, false, remote.StatusFailed, "exit status 1"},
		{"ok_rc allows", `return tostring(cmd.query({"sh", "-c", "exit 3"}, {ok_rc = {0, 3}}).rc)`, false, remote.StatusOK, "3"},
		{"query runs in check mode", `return cmd.query({"echo", "hi"}).stdout`, true, remote.StatusOK, "hi\n"},
		{"run is a change", `cmd.run({"touch", v.dir .. "/made"})`, false, remote.StatusChanged, ""},
		{"run creates skips", `cmd.run({"touch", v.dir .. "/made"}, {creates = v.dir .. "/made"})`, false, remote.StatusOK, ""},
		{"run removes skips", `cmd.run({"rm", v.dir .. "/gone"}, {removes = v.dir .. "/gone"})`, false, remote.StatusOK, ""},
		{"run in check mode runs nothing", `cmd.run({"touch", v.dir .. "/check"})`, true, remote.StatusChanged, ""},
		{"string command refused", `cmd.query("echo hi")`, false, remote.StatusFailed, "must be a list of strings"},
		{"unknown option refused", `cmd.run({"true"}, {creats = "/x"})`, false, remote.StatusFailed, "unknown option creats"},
		{"stdin", `return cmd.query({"cat"}, {stdin = "in"}).stdout`, false, remote.StatusOK, "in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := h.DirVars()
			o.Check = tc.check
			r := luatest.Only(t, h, luatest.Task(tc.body), o)
			if r.Status != tc.status || !strings.Contains(r.Msg, tc.msg) {
				t.Fatalf("got %s %q, want %s %q", r.Status, r.Msg, tc.status, tc.msg)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(h.Dir, "check")); err == nil {
		t.Fatal("cmd.run ran in check mode")
	}
}
