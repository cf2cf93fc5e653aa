package change_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua"
	"remedy/lua/change"
	"remedy/lua/luatest"
	"remedy/lua/remote"
)

// movingHost is a local host that records a move of its connection.
type movingHost struct {
	*luatest.LocalHost
	moved int
}

func (h *movingHost) MovePort(ctx context.Context, port int) error {
	h.moved = port
	return nil
}

// writer is a module registered for this test alone: write() tries every
// kind of change the gate knows, as a module written without a thought
// for check mode would.
func init() {
	lua.Register(lua.Module{Name: "writer", Doc: "Changes the host every way the gate allows.", Funcs: []lua.Func{{
		Name: "write", Params: []lua.Param{{Name: "dir", Type: "string"}}, Call: write,
	}}})
}

func write(e *lua.Env, L *glua.LState) int {
	dir := L.CheckString(1)
	seq := e.Begin()
	changes := []change.Change{
		change.Command{Argv: []string{"touch", filepath.Join(dir, "by-command")}, Say: change.Say{Done: "touched", Would: "would touch"}},
		change.File{Path: filepath.Join(dir, "by-file"), Content: []byte("written\n")},
		change.Step{Describe: "# a step", Run: func() error {
			return os.WriteFile(filepath.Join(dir, "by-step"), nil, 0o644)
		}},
		change.Reconnect{Port: 2222},
	}
	for _, c := range changes {
		undo := func() (string, error) {
			return "undone", os.WriteFile(filepath.Join(dir, "by-undo"), nil, 0o644)
		}
		if _, err := seq.Apply(c, undo); err != nil {
			e.Fail(err)
		}
	}
	undone, err := seq.Rollback()
	if err != nil {
		e.Fail(err)
	}
	L.Push(glua.LString(strings.Join(undone, ",")))
	return 1
}

// A module that changes the host without asking whether the task runs in
// check mode changes nothing there: the gate records the changes, and
// runs neither them nor their undos. The same module does all of it for
// real, so the test would see a gate that let a change through.
func TestCheckModeChangesNothing(t *testing.T) {
	files := []string{"by-command", "by-file", "by-step", "by-undo"}
	for _, check := range []bool{true, false} {
		h := &movingHost{LocalHost: luatest.NewLocalHost(t)}
		o := h.DirVars()
		o.Check, o.Diff = check, true
		r := luatest.Only(t, h, luatest.Task(`return writer.write(v.dir)`), o)
		if r.Status != remote.StatusChanged {
			t.Fatalf("check %v: %+v", check, r)
		}
		planned := strings.Join(r.Planned, "\n")
		if !strings.Contains(planned, "touch "+h.Dir+"/by-command") || !strings.Contains(planned, "# a step") ||
			!strings.Contains(planned, "# move the connection to port 2222") || !strings.Contains(r.Diff, "+written") {
			t.Errorf("check %v: planned:\n%s\ndiff:\n%s", check, planned, r.Diff)
		}
		for _, f := range files {
			_, err := os.Stat(filepath.Join(h.Dir, f))
			if exists := !errors.Is(err, os.ErrNotExist); exists == check {
				t.Errorf("check %v: %s exists: %v", check, f, exists)
			}
		}
		if moved := h.moved == 2222; moved == check {
			t.Errorf("check %v: the connection moved: %v", check, moved)
		}
		if want := map[bool]string{true: "", false: "undone,undone,undone,undone"}[check]; r.Msg != want {
			t.Errorf("check %v: rollback said %q, want %q", check, r.Msg, want)
		}
	}
}
