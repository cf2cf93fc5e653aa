package output

import (
	"context"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"path/filepath"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"

	"remedy/lua/remote"
	"remedy/lua/shell"
	"remedy/runner/recap"
)

// ReportFormat is the format of an audit report file.
type ReportFormat string

// The formats --report writes, chosen by the file's extension.
const (
	ReportHTML     ReportFormat = "html"
	ReportMarkdown ReportFormat = "md"
)

//go:embed templates/report.html.tmpl templates/report.md.tmpl
var reportTemplates embed.FS

var (
	htmlReport = htmltemplate.Must(htmltemplate.New("report.html.tmpl").
			ParseFS(reportTemplates, "templates/report.html.tmpl"))
	mdReport = texttemplate.Must(texttemplate.New("report.md.tmpl").
			Funcs(texttemplate.FuncMap{"cell": mdCell, "inline": mdInline, "code": mdCode, "fence": mdFence, "join": joinLines}).
			ParseFS(reportTemplates, "templates/report.md.tmpl"))
)

// ReportFormatFor picks the report format from a file name: .html or .htm
// for HTML, .md or .markdown for Markdown.
func ReportFormatFor(path string) (ReportFormat, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".html", ".htm":
		return ReportHTML, nil
	case ".md", ".markdown":
		return ReportMarkdown, nil
	}
	return "", fmt.Errorf("%s: report must end in .html or .md", path)
}

// WriteReport writes the audit report a change board reads: a summary of
// the fleet, what would change and on which hosts, then per host a table
// of requirements with their state and evidence, and the exact diffs and
// commands planned. The HTML is one self-contained file: inline CSS, no
// scripts, no external assets. What a host sent is shown by Visible: a
// report is read in browsers and editors, and with cat and less too.
func WriteReport(w io.Writer, r recap.Recap, format ReportFormat) error {
	data := reportDataOf(visibleRecap(r))
	var err error
	switch format {
	case ReportHTML:
		err = htmlReport.Execute(w, data)
	case ReportMarkdown:
		err = mdReport.Execute(w, data)
	default:
		err = fmt.Errorf("unknown format %q", format)
	}
	if err != nil {
		return fmt.Errorf("write %s report: %w", format, err)
	}
	return nil
}

type reportData struct {
	Title       string
	Playbook    string
	Path        string
	Check       bool
	Started     string
	Finished    string
	Duration    string
	Provenance  recap.Provenance
	CommandLine string // quoted as a shell would take it
	Interrupted bool
	NotRun      []string

	Hosts, Compliant, NonCompliant, Unreachable, Incomplete int
	UnreachableHosts                                        []string
	// IncompleteHosts were interrupted, or a check or task on them broke:
	// what they were not audited for is unknown.
	IncompleteHosts []string

	Findings []finding    // requirements not met, grouped across hosts
	Sections []reportHost // non-compliant hosts first, then unreachable, then compliant
}

// finding is one requirement in one state, with the hosts in that state.
type finding struct {
	Requirement string
	Severity    string // a check's; "" for a task
	State       string
	Class       string
	Hosts       []string
}

type reportHost struct {
	Name    string
	Anchor  string
	Verdict string
	Class   string
	Facts   string
	Error   string
	// StoppedAt is the task whose failure ended the host's run: nothing
	// after it ran, so the rows are not the whole playbook.
	StoppedAt string
	// Interrupted: the run was stopped (Ctrl-C, SIGTERM) while this host
	// ran, so its rows are not the whole playbook.
	Interrupted bool
	Rows        []reportRow
	Changes     []reportChange
}

type reportRow struct {
	Requirement string
	Kind        string
	Severity    string
	State       string
	Class       string
	Evidence    string
	// ChangeAnchor links the row to its diff and commands; empty when the
	// result planned or made no change.
	ChangeAnchor string
}

type reportChange struct {
	Requirement string
	Anchor      string
	Diff        []diffLine
	DiffText    string
	Planned     []string
}

// Host verdicts, also the CSS classes that colour them. A host is
// incomplete when its run was interrupted, or when a check or task broke
// and nothing else made it non-compliant: it is never called compliant
// on what part of its audit said.
const (
	verdictCompliant    = "compliant"
	verdictNonCompliant = "non-compliant"
	verdictUnreachable  = "unreachable"
	verdictIncomplete   = "incomplete"
)

const reportTime = "2006-01-02 15:04:05 UTC"

func reportDataOf(r recap.Recap) reportData {
	d := reportData{
		Title:       "Run report",
		Playbook:    r.Play.Name,
		Path:        r.Play.Path,
		Check:       r.Play.Check,
		Started:     r.Play.Started.UTC().Format(reportTime),
		Finished:    r.Play.Started.Add(r.Duration).UTC().Format(reportTime),
		Duration:    r.Duration.Round(100 * time.Millisecond).String(),
		Provenance:  r.Play.Provenance,
		CommandLine: shell.Join(append([]string{"remedy"}, r.Play.Provenance.CommandLine...)...),
		Interrupted: r.Interrupted,
		NotRun:      r.NotRun,
	}
	if r.Play.Check {
		d.Title = "Audit report"
	}
	for _, h := range sortedHosts(r.Hosts) {
		sec := reportHostOf(h, r.Play.Check)
		d.Sections = append(d.Sections, sec)
		d.Hosts++
		switch sec.Verdict {
		case verdictCompliant:
			d.Compliant++
		case verdictNonCompliant:
			d.NonCompliant++
		case verdictIncomplete:
			d.Incomplete++
			d.IncompleteHosts = append(d.IncompleteHosts, h.Host)
		default:
			d.Unreachable++
			d.UnreachableHosts = append(d.UnreachableHosts, h.Host)
		}
	}
	d.Findings = findingsOf(d.Sections)
	sort.SliceStable(d.Sections, func(i, j int) bool {
		return verdictRank[d.Sections[i].Verdict] < verdictRank[d.Sections[j].Verdict]
	})
	return d
}

// verdictRank puts the hosts a change board must read first at the top of
// the per-host sections: those that would change, then those nobody could
// look at, then the compliant ones.
var verdictRank = map[string]int{verdictNonCompliant: 0, verdictIncomplete: 1, verdictUnreachable: 2, verdictCompliant: 3}

func reportHostOf(h recap.HostReport, check bool) reportHost {
	sec := reportHost{
		Name:    h.Host,
		Anchor:  "host-" + h.Host,
		Verdict: verdictCompliant,
		Facts:   factsLine(h.Facts),
		Error:   errText(h.Err),
	}
	broke := false
	for _, res := range h.Results {
		row := reportRowOf(res, check)
		if row.Class == stateFail || row.Class == stateDrift {
			sec.Verdict = verdictNonCompliant
		}
		broke = broke || row.Class == stateError
		if res.Diff != "" || len(res.Planned) > 0 {
			row.ChangeAnchor = fmt.Sprintf("%s-change-%d", sec.Anchor, len(sec.Changes)+1)
			sec.Changes = append(sec.Changes, reportChange{
				Requirement: res.Name,
				Anchor:      row.ChangeAnchor,
				Diff:        diffLines(res.Diff),
				DiffText:    strings.TrimSuffix(res.Diff, "\n"),
				Planned:     res.Planned,
			})
		}
		sec.Rows = append(sec.Rows, row)
	}
	sec.StoppedAt = stoppedAt(h.Results)
	sec.Interrupted = errors.Is(h.Err, context.Canceled)
	switch {
	case h.Unreachable || h.Stats.Unreachable > 0:
		sec.Verdict = verdictUnreachable
	case sec.Interrupted || broke && sec.Verdict == verdictCompliant:
		sec.Verdict = verdictIncomplete
	}
	sec.Class = sec.Verdict
	return sec
}

// stoppedAt names the task whose failure ended the host's run, or ""
// when the host ran to the end. A failed task or handler ends it; a failed
// check does not, it is a finding.
func stoppedAt(results []remote.Result) string {
	if len(results) == 0 {
		return ""
	}
	last := results[len(results)-1]
	if last.Status != remote.StatusFailed || last.Ignored || last.Kind == remote.KindCheck {
		return ""
	}
	return last.Name
}

// Row states' CSS classes: pass, fail (a finding), drift (would change),
// changed (changed by a run), skip, broken (the check or task broke:
// its state reads "error").
const (
	statePass    = "pass"
	stateFail    = "fail"
	stateDrift   = "drift"
	stateChanged = "changed"
	stateSkip    = "skip"
	stateError   = "broken" // the state reads "error"; .error styles messages
)

func reportRowOf(res remote.Result, check bool) reportRow {
	row := reportRow{
		Requirement: res.Name,
		Kind:        string(res.Kind),
		Severity:    res.Severity,
		Evidence:    res.Msg,
		State:       "pass",
		Class:       statePass,
	}
	switch res.Status {
	case remote.StatusFailed:
		row.State, row.Class = "fail", stateFail
		if res.Error {
			row.State, row.Class = "error", stateError
		}
		if res.Ignored {
			row.State, row.Class = "fail (ignored)", stateSkip
		}
	case remote.StatusUnreachable:
		row.State, row.Class = "unreachable", verdictUnreachable
	case remote.StatusChanged:
		row.State, row.Class = "changed", stateChanged
		if check {
			row.State, row.Class = "would change", stateDrift
		}
	case remote.StatusSkipped:
		row.State, row.Class = "skipped", stateSkip
	}
	return row
}

// findingsOf groups the rows that fail or would change by requirement and
// state, so the summary reads "X would change on web1, web2" rather than
// a line per host, ranked by severity, and within one in the order they
// first appear.
func findingsOf(sections []reportHost) []finding {
	var out []finding
	index := map[[2]string]int{}
	for _, sec := range sections {
		for _, row := range sec.Rows {
			if row.Class != stateFail && row.Class != stateDrift && row.Class != stateChanged && row.Class != stateError {
				continue
			}
			key := [2]string{row.Requirement, row.State}
			i, seen := index[key]
			if !seen {
				i = len(out)
				index[key] = i
				out = append(out, finding{Requirement: row.Requirement, Severity: row.Severity, State: row.State, Class: row.Class})
			}
			out[i].Hosts = append(out[i].Hosts, sec.Name)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return severityRank(out[i].Severity) < severityRank(out[j].Severity) })
	return out
}

// severities in the order a change board reads findings: a check's
// declared severity first, the most severe at the top; tasks that would
// change (no severity) after every check.
var severities = []string{"critical", "high", "medium", "low", "info"}

func severityRank(s string) int {
	for i, v := range severities {
		if v == s {
			return i
		}
	}
	return len(severities)
}

// factsLine summarises a host's facts in one line for the report.
func factsLine(f *remote.Facts) string {
	if f == nil {
		return ""
	}
	parts := []string{
		strings.TrimSpace(f.OSID + " " + f.OSVersion),
		"firewall: " + f.Firewall,
		f.SSHDVersion,
		"init: " + f.Init,
		"SELinux: " + f.SELinux,
	}
	if f.SSHSocket {
		parts = append(parts, "ssh.socket")
	}
	return joinNonEmpty(" · ", parts...)
}
