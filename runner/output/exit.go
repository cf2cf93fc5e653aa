package output

import (
	"remedy/lua/remote"
	"remedy/runner/recap"
)

// Exit codes a run's results decide. 5 (bad input) and 99 (interrupted)
// are the CLI's to choose: they do not follow from results.
const (
	ExitOK          = 0
	ExitFailed      = 2
	ExitDrift       = 3
	ExitUnreachable = 4
)

// ExitCode chooses the exit code for a finished run. The most severe
// outcome wins: unreachable (4) over failed (2) over drift (3) over ok (0).
// An unreachable host comes first because nothing at all is known about
// it, so neither "ok" nor "drift" can be claimed for the fleet; a failure
// to run a task comes before drift because drift found by a run that broke
// half-way is incomplete.
//
// Drift exists only in an audit: a task that would change something, or a
// check that failed. Outside an audit a changed task is the point of the
// run, and a failed check is a failure (2) like any other. A check that
// broke (a Lua error, a command that could not run) found nothing: it is
// a failure (2) in an audit too, never drift.
func ExitCode(r recap.Recap) int {
	code := ExitOK
	for _, h := range r.Hosts {
		code = worse(code, hostExitCode(h, r.Play.Audit))
	}
	return code
}

func hostExitCode(h recap.HostReport, audit bool) int {
	if h.Unreachable || h.Stats.Unreachable > 0 {
		return ExitUnreachable
	}
	code := ExitOK
	for _, res := range h.Results {
		code = worse(code, resultExitCode(res, audit))
	}
	return code
}

func resultExitCode(res remote.Result, audit bool) int {
	switch {
	case res.Status == remote.StatusUnreachable:
		return ExitUnreachable
	case res.Status == remote.StatusFailed && res.Ignored:
		return ExitOK
	case res.Status == remote.StatusFailed && audit && res.Kind == remote.KindCheck && !res.Error:
		return ExitDrift
	case res.Status == remote.StatusFailed:
		return ExitFailed
	case res.Status == remote.StatusChanged && audit:
		return ExitDrift
	}
	return ExitOK
}

// severity orders exit codes; a higher rank wins.
var severity = map[int]int{ExitOK: 0, ExitDrift: 1, ExitFailed: 2, ExitUnreachable: 3}

func worse(a, b int) int {
	if severity[b] > severity[a] {
		return b
	}
	return a
}
