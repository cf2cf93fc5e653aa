package output

import (
	"testing"

	"remedy/lua"
	"remedy/runner"
)

func TestExitCode(t *testing.T) {
	task := func(s lua.Status) lua.Result { return lua.Result{Kind: lua.KindTask, Status: s} }
	check := func(s lua.Status) lua.Result { return lua.Result{Kind: lua.KindCheck, Status: s} }
	ignored := lua.Result{Kind: lua.KindTask, Status: lua.StatusFailed, Ignored: true}
	host := func(rs ...lua.Result) runner.HostReport { return runner.HostReport{Host: "h", Results: rs} }
	down := runner.HostReport{Host: "down", Unreachable: true}

	cases := []struct {
		name  string
		audit bool
		hosts []runner.HostReport
		want  int
	}{
		{"nothing ran", false, nil, ExitOK},
		{"all ok", false, []runner.HostReport{host(task(lua.StatusOK), task(lua.StatusSkipped))}, ExitOK},
		{"run changed things", false, []runner.HostReport{host(task(lua.StatusChanged))}, ExitOK},
		{"audit found drift", true, []runner.HostReport{host(task(lua.StatusOK), task(lua.StatusChanged))}, ExitDrift},
		{"audit: a failed check is drift", true, []runner.HostReport{host(check(lua.StatusFailed))}, ExitDrift},
		{"run: a failed check is a failure", false, []runner.HostReport{host(check(lua.StatusFailed))}, ExitFailed},
		{"audit: a failed task is a failure", true, []runner.HostReport{host(task(lua.StatusChanged), task(lua.StatusFailed))}, ExitFailed},
		{"ignored failure", false, []runner.HostReport{host(ignored)}, ExitOK},
		{"ignored failure in an audit", true, []runner.HostReport{host(ignored)}, ExitOK},
		{"task failed", false, []runner.HostReport{host(task(lua.StatusOK)), host(task(lua.StatusFailed))}, ExitFailed},
		{"unreachable host", false, []runner.HostReport{host(task(lua.StatusOK)), down}, ExitUnreachable},
		{"unreachable beats failed", false, []runner.HostReport{host(task(lua.StatusFailed)), down}, ExitUnreachable},
		{"unreachable beats drift", true, []runner.HostReport{down, host(task(lua.StatusChanged))}, ExitUnreachable},
		{"unreachable result", false, []runner.HostReport{host(task(lua.StatusOK), task(lua.StatusUnreachable))}, ExitUnreachable},
		{"unreachable in stats", false, []runner.HostReport{{Host: "h", Stats: runner.Stats{Unreachable: 1}}}, ExitUnreachable},
		{"failed beats drift", true, []runner.HostReport{host(check(lua.StatusFailed)), host(task(lua.StatusFailed))}, ExitFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runner.Recap{Play: runner.Play{Audit: c.audit, Check: c.audit}, Hosts: c.hosts}
			if got := ExitCode(r); got != c.want {
				t.Errorf("ExitCode = %d, want %d", got, c.want)
			}
		})
	}
}

func TestExitCodeFixtures(t *testing.T) {
	if got := ExitCode(auditRecap()); got != ExitUnreachable {
		t.Errorf("audit fixture: ExitCode = %d, want %d", got, ExitUnreachable)
	}
}
