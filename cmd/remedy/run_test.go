package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// An inventory Ansible would list but remedy must not dial is bad input
// for run and audit, named at its file and line, before any host is
// contacted; `remedy inventory` still shows it.
func TestHostileInventoryIsBadInputForRun(t *testing.T) {
	f := &runFlags{}
	_, err := prepareWith(t, "all:\n  hosts:\n    ok:\n      ansible_host: 198.18.0.5\n    bad:\n      ansible_host: \"198.18.0.6\\n* ssh-ed25519 AAAA\"\n", f)
	inv := f.inventories[0]
	if exitCode(err) != exitBadInput || !strings.Contains(err.Error(), inv+":6: bad: ansible_host") || strings.Contains(err.Error(), "\n") {
		t.Errorf("run: exit %d, %v; want exit %d naming %s:6, the newline escaped", exitCode(err), err, exitBadInput, inv)
	}
	if out, code := runInventory(t, "-i", inv, "--list"); code != exitOK || !strings.Contains(out, `"bad"`) {
		t.Errorf("inventory --list: exit %d\n%s", code, out)
	}
}

// The line under the recap names each host's outcome as the audit table
// and the JSON do: a finding (a failed check in an audit) or a broken
// check is not a failed host, and the counts are of hosts.
func TestOutcomeSummary(t *testing.T) {
	check := func(status remote.Status) remote.Result {
		return remote.Result{Name: "c", Kind: remote.KindCheck, Status: status}
	}
	task := func(status remote.Status) remote.Result {
		return remote.Result{Name: "t", Kind: remote.KindTask, Status: status}
	}
	broke := func(r remote.Result) remote.Result { r.Error = true; return r }
	ignored := func(r remote.Result) remote.Result { r.Ignored = true; return r }
	// host counts its results into the PLAY RECAP's stats as the runner
	// does (those the old line went by).
	host := func(name string, results ...remote.Result) recap.HostReport {
		h := recap.HostReport{Host: name, Results: append([]remote.Result{task(remote.StatusOK)}, results...)}
		for _, r := range h.Results {
			switch {
			case r.Status == remote.StatusFailed && !r.Ignored:
				h.Stats.Failed++
			case r.Status == remote.StatusUnreachable:
				h.Stats.Unreachable++
			case r.Status == remote.StatusChanged:
				h.Stats.Changed++
			}
		}
		return h
	}
	unreachable := recap.HostReport{Host: "gone", Unreachable: true, Err: errors.New("dial: no answer")}
	cutOff := host("cut", task(remote.StatusOK), remote.Result{Name: "t2", Status: remote.StatusUnreachable})
	interrupted := host("stopped")
	interrupted.Err = context.Canceled
	for _, c := range []struct {
		name  string
		audit bool
		hosts []recap.HostReport
		code  int
		want  string
	}{
		{"audit: findings", true, []recap.HostReport{host("a", check(remote.StatusFailed)), host("b", task(remote.StatusChanged)), host("c")},
			exitDrift, "drift found: 2 of 3 hosts with findings"},
		{"audit: a broken check is an error, not a failure", true, []recap.HostReport{host("a", broke(check(remote.StatusFailed))), host("b", check(remote.StatusFailed))},
			exitFailed, "1 of 2 hosts with errors, 1 with findings"},
		{"run: a failed check is a failure", false, []recap.HostReport{host("a", check(remote.StatusFailed)), host("b", task(remote.StatusChanged))},
			exitFailed, "1 of 2 hosts failed"},
		{"a failed task before a broken check", false, []recap.HostReport{host("a", broke(check(remote.StatusFailed)), task(remote.StatusFailed)), host("b", broke(task(remote.StatusFailed)))},
			exitFailed, "1 of 2 hosts failed, 1 with errors"},
		{"unreachable first; an ignored failure is fine", true, []recap.HostReport{unreachable, cutOff, host("f", task(remote.StatusFailed)), host("d", check(remote.StatusFailed)), host("i", ignored(task(remote.StatusFailed)))},
			exitUnreachable, "2 of 5 hosts unreachable, 1 failed, 1 with findings"},
		{"a host cut short", true, []recap.HostReport{host("d", check(remote.StatusFailed)), interrupted},
			exitDrift, "drift found: 1 of 2 hosts with findings, 1 incomplete"},
		{"only an ignored failure", false, []recap.HostReport{host("i", ignored(task(remote.StatusFailed)))},
			exitOK, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := runOutcome(recap.Recap{Play: recap.Play{Audit: c.audit, Check: c.audit}, Hosts: c.hosts})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if exitCode(err) != c.code || got != c.want {
				t.Errorf("exit %d, %q; want exit %d, %q", exitCode(err), got, c.code, c.want)
			}
		})
	}
}
