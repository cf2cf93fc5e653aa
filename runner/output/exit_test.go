package output

import (
	"testing"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

func TestExitCode(t *testing.T) {
	task := func(s remote.Status) remote.Result { return remote.Result{Kind: remote.KindTask, Status: s} }
	check := func(s remote.Status) remote.Result { return remote.Result{Kind: remote.KindCheck, Status: s} }
	ignored := remote.Result{Kind: remote.KindTask, Status: remote.StatusFailed, Ignored: true}
	broke := remote.Result{Kind: remote.KindCheck, Status: remote.StatusFailed, Error: true}
	host := func(rs ...remote.Result) recap.HostReport { return recap.HostReport{Host: "h", Results: rs} }
	down := recap.HostReport{Host: "down", Unreachable: true}

	cases := []struct {
		name  string
		audit bool
		hosts []recap.HostReport
		want  int
	}{
		{"nothing ran", false, nil, ExitOK},
		{"all ok", false, []recap.HostReport{host(task(remote.StatusOK), task(remote.StatusSkipped))}, ExitOK},
		{"run changed things", false, []recap.HostReport{host(task(remote.StatusChanged))}, ExitOK},
		{"audit found drift", true, []recap.HostReport{host(task(remote.StatusOK), task(remote.StatusChanged))}, ExitDrift},
		{"audit: a failed check is drift", true, []recap.HostReport{host(check(remote.StatusFailed))}, ExitDrift},
		{"run: a failed check is a failure", false, []recap.HostReport{host(check(remote.StatusFailed))}, ExitFailed},
		{"audit: a failed task is a failure", true, []recap.HostReport{host(task(remote.StatusChanged), task(remote.StatusFailed))}, ExitFailed},
		{"ignored failure", false, []recap.HostReport{host(ignored)}, ExitOK},
		{"ignored failure in an audit", true, []recap.HostReport{host(ignored)}, ExitOK},
		{"task failed", false, []recap.HostReport{host(task(remote.StatusOK)), host(task(remote.StatusFailed))}, ExitFailed},
		{"unreachable host", false, []recap.HostReport{host(task(remote.StatusOK)), down}, ExitUnreachable},
		{"unreachable beats failed", false, []recap.HostReport{host(task(remote.StatusFailed)), down}, ExitUnreachable},
		{"unreachable beats drift", true, []recap.HostReport{down, host(task(remote.StatusChanged))}, ExitUnreachable},
		{"unreachable result", false, []recap.HostReport{host(task(remote.StatusOK), task(remote.StatusUnreachable))}, ExitUnreachable},
		{"unreachable in stats", false, []recap.HostReport{{Host: "h", Stats: recap.Stats{Unreachable: 1}}}, ExitUnreachable},
		{"failed beats drift", true, []recap.HostReport{host(check(remote.StatusFailed)), host(task(remote.StatusFailed))}, ExitFailed},
		{"audit: a check that broke is a failure, not drift", true, []recap.HostReport{host(broke)}, ExitFailed},
		{"audit: a broken check beats drift", true, []recap.HostReport{host(check(remote.StatusFailed), broke)}, ExitFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := recap.Recap{Play: recap.Play{Audit: c.audit, Check: c.audit}, Hosts: c.hosts}
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
