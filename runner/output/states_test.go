package output

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// statesRecap is an audit of four hosts: one whose check broke, one
// interrupted half-way, one with a finding, one that passes.
func statesRecap() recap.Recap {
	play := recap.Play{Name: "states", Check: true, Diff: true, Audit: true, Started: started,
		Hosts: []string{"broke", "cut", "found", "fine"}}
	ok := func(name string) remote.Result {
		return remote.Result{Kind: remote.KindCheck, Name: name, Status: remote.StatusOK, Severity: "medium"}
	}
	return recap.Recap{Play: play, Interrupted: true, NotRun: []string{"later"}, Hosts: []recap.HostReport{
		{Host: "broke", Results: []remote.Result{ok("a"), {Host: "broke", Kind: remote.KindCheck, Name: "b", Status: remote.StatusFailed,
			Error: true, Severity: "high", Msg: "site.lua:9: {code = 1}"}}, Stats: recap.Stats{OK: 1, Failed: 1}},
		{Host: "cut", Results: []remote.Result{ok("a")}, Stats: recap.Stats{OK: 1},
			Err: fmt.Errorf("cut: %w", context.Canceled)},
		{Host: "found", Results: []remote.Result{ok("a"), {Host: "found", Kind: remote.KindCheck, Name: "b", Status: remote.StatusFailed,
			Severity: "high", Msg: "site.lua:9: port 23 open"}}, Stats: recap.Stats{OK: 1, Failed: 1}},
		{Host: "fine", Results: []remote.Result{ok("a"), ok("b")}, Stats: recap.Stats{OK: 2}},
	}}
}

// TestStatesInEveryFormat: a check that broke reads "error" and an
// interrupted host "incomplete" in text, JSON, JUnit, HTML and Markdown;
// neither is ever called compliant.
func TestStatesInEveryFormat(t *testing.T) {
	r := statesRecap()
	want := map[string]string{"broke": "incomplete", "cut": "incomplete", "found": "non-compliant", "fine": "compliant"}

	var text bytes.Buffer
	tx := NewText(&text, TextOptions{})
	tx.Start(r.Play)
	for _, h := range r.Hosts {
		for _, res := range h.Results {
			tx.Result(res)
		}
		tx.HostDone(h)
	}
	tx.End(r)
	for host, verdict := range want {
		if !strings.Contains(text.String(), "AUDIT ["+host+"] "+verdict+" ") {
			t.Errorf("text: no %s verdict for %s:\n%s", verdict, host, text.String())
		}
	}
	for _, s := range []string{"fatal: [broke]: ERROR! => site.lua:9: {code = 1}", "fatal: [found]: FAILED! => site.lua:9: port 23 open",
		"INCOMPLETE (interrupted while running): cut\n", "b            error          site.lua:9: {code = 1}"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text: no %q in\n%s", s, text.String())
		}
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var doc jsonRun
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, h := range doc.Hosts {
		if h.Verdict != want[h.Name] || h.Interrupted != (h.Name == "cut") {
			t.Errorf("json: %s: verdict %q interrupted %v", h.Name, h.Verdict, h.Interrupted)
		}
		last := h.Tasks[len(h.Tasks)-1]
		wantState := map[string]string{"broke": "error", "cut": "pass", "found": "fail", "fine": "pass"}[h.Name]
		if last.State != wantState || last.Error != (h.Name == "broke") {
			t.Errorf("json: %s: last state %q error %v, want %q", h.Name, last.State, last.Error, wantState)
		}
	}

	var ju bytes.Buffer
	if err := WriteJUnit(&ju, r); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`<error message="site.lua:9: {code = 1}" type="error">`,
		`<testcase name="interrupted" classname="cut" time="0.000">`, `type="interrupted"`,
		`<failure message="site.lua:9: port 23 open" type="check (high)">`, `failures="1" errors="3"`,
		`<testcase name="not run" classname="later" time="0.000">`, `message="not run: the run was interrupted before this host started" type="interrupted"`} {
		if !strings.Contains(ju.String(), s) {
			t.Errorf("junit: no %q in\n%s", s, ju.String())
		}
	}

	for _, format := range []ReportFormat{ReportHTML, ReportMarkdown} {
		var rep bytes.Buffer
		if err := WriteReport(&rep, r, format); err != nil {
			t.Fatal(err)
		}
		out := rep.String()
		for _, s := range []string{"1 compliant, 1 non-compliant, 0 unreachable, 2 incomplete", "The run was interrupted while it ran on this host"} {
			if format == ReportHTML {
				s = strings.NewReplacer("1 compliant, 1 non-compliant, 0 unreachable, 2 incomplete", `<b>2</b>incomplete`).Replace(s)
			}
			if !strings.Contains(out, s) {
				t.Errorf("%s: no %q in\n%s", format, s, out)
			}
		}
		for host, verdict := range want {
			var s string
			if format == ReportHTML {
				s = fmt.Sprintf(`%s <span class="badge %s">%s</span></h3>`, host, verdict, verdict)
			} else {
				s = fmt.Sprintf("### %s: %s\n", host, verdict)
			}
			if !strings.Contains(out, s) {
				t.Errorf("%s: no %q in\n%s", format, s, out)
			}
		}
		if !strings.Contains(out, "error") || !strings.Contains(out, "incomplete**: interrupted, or a check or task broke") && format == ReportMarkdown {
			t.Errorf("%s: the summary does not name the incomplete hosts:\n%s", format, out)
		}
	}
	if code := ExitCode(r); code != ExitFailed {
		t.Errorf("ExitCode = %d, want %d: a check that broke is a failure", code, ExitFailed)
	}
}
