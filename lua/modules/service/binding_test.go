package service_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"remedy/lua/luatest"
	_ "remedy/lua/modules/all"
	"remedy/lua/modules/service"
	"remedy/lua/remote"
)

func TestServiceReloadSignalsPidFile(t *testing.T) {
	h := luatest.NewLocalHost(t)
	pidfile := filepath.Join(h.Dir, "svc.pid")
	marker := filepath.Join(h.Dir, "reloaded")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, err := h.Exec(ctx, `sh -c 'trap "echo hup > reloaded" HUP; echo $$ > svc.pid; while :; do sleep 0.05; done' >/dev/null 2>&1 &`, nil)
	if err != nil || out.ExitCode != 0 {
		t.Fatalf("start: %v %+v", err, out)
	}
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(pidfile); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidfile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				p, _ := os.FindProcess(pid)
				_ = p.Kill()
			}
		}
	})
	src := luatest.Task(`expect(service.enabled { name = "svc", pidfile = v.dir .. "/svc.pid" }, "not running")
	service.reload { name = "svc", pidfile = v.dir .. "/svc.pid" }`)
	o := h.DirVars()
	o.Facts.Init = "none"
	if r := luatest.Only(t, h, src, o); r.Status != remote.StatusChanged {
		t.Fatalf("%+v", r)
	}
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(marker); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the process never got SIGHUP")
}

// A pid file is the host's content: one holding "-1" would make kill
// signal every process it may, "0" its own process group. service.enabled
// and the reload script refuse such a file instead of obeying it; the
// script is run here with signal 0, which only asks.
func TestPidFileMustHoldAProcessID(t *testing.T) {
	h := luatest.NewLocalHost(t)
	pidfile := filepath.Join(h.Dir, "x.pid")
	for _, tc := range []struct {
		content string
		alive   bool
	}{{"-1", false}, {"0", false}, {"", false}, {"1 -1", false}, {"--", false}, {strconv.Itoa(os.Getpid()), true}} {
		if err := os.WriteFile(pidfile, []byte(tc.content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		o := h.DirVars()
		o.Facts.Init = "none"
		r := luatest.Only(t, h, luatest.Task(`return tostring(service.enabled { name = "x", pidfile = v.dir .. "/x.pid" })`), o)
		if r.Msg != strconv.FormatBool(tc.alive) {
			t.Errorf("pid file %q: service.enabled %s %q, want %v", tc.content, r.Status, r.Msg, tc.alive)
		}
		signal := service.SignalCommand(pidfile, "0")
		out, err := exec.Command(signal[0], signal[1:]...).CombinedOutput()
		if sent := err == nil; sent != tc.alive || !tc.alive && !strings.Contains(string(out), "does not hold a process id") {
			t.Errorf("pid file %q: signal script: %v %q, want it sent: %v", tc.content, err, out, tc.alive)
		}
	}
}
