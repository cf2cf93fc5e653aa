package output

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"remedy/lua/remote"
	"remedy/lua/shell"
	"remedy/runner/recap"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string           `xml:"name,attr"`
	Hostname   string           `xml:"hostname,attr"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Errors     int              `xml:"errors,attr"`
	Skipped    int              `xml:"skipped,attr"`
	Time       string           `xml:"time,attr"`
	Timestamp  string           `xml:"timestamp,attr"`
	Properties *junitProperties `xml:"properties,omitempty"`
	Cases      []junitCase      `xml:"testcase"`
	SystemErr  string           `xml:"system-err,omitempty"`
}

type junitProperties struct {
	Property []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the run as JUnit XML: a testsuite per host, a testcase
// per task, check and handler. Failed tasks and checks are failures, and so
// is drift in check mode (a task that would change something); an
// unreachable host is an error.
//
// Controls a host sent are shown by Visible: XML cannot carry most of
// them, and a CI page shows what it gets.
func WriteJUnit(w io.Writer, r recap.Recap) error {
	r = visibleRecap(r)
	doc := junitSuites{Name: r.Play.Name}
	var total time.Duration
	for _, h := range sortedHosts(r.Hosts) {
		s := junitSuiteOf(h, r.Play)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		total += h.Duration
		doc.Suites = append(doc.Suites, s)
	}
	for _, host := range r.NotRun {
		doc.Suites = append(doc.Suites, notRunSuite(host, r))
		doc.Tests++
		if r.Interrupted {
			doc.Errors++
		} else {
			doc.Skipped++
		}
	}
	doc.Time = seconds(total)
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := fmt.Fprintf(w, "%s%s\n", xml.Header, out); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

func junitSuiteOf(h recap.HostReport, play recap.Play) junitSuite {
	s := junitSuite{
		Name:       h.Host,
		Hostname:   h.Host,
		Time:       seconds(h.Duration),
		Timestamp:  play.Started.UTC().Format("2006-01-02T15:04:05"),
		Properties: suiteProperties(play, h.Facts),
	}
	reportedUnreachable := false
	for _, res := range h.Results {
		c := junitCaseOf(h.Host, res, play.Check)
		reportedUnreachable = reportedUnreachable || res.Status == remote.StatusUnreachable
		s.add(c)
	}
	if h.Unreachable && !reportedUnreachable {
		s.add(junitCase{Name: "connect", Classname: h.Host, Time: seconds(0),
			Error: &junitProblem{Message: errText(h.Err), Type: "unreachable"}})
	}
	if errors.Is(h.Err, context.Canceled) {
		// A CI page must not show an interrupted host green.
		s.add(junitCase{Name: "interrupted", Classname: h.Host, Time: seconds(0),
			Error: &junitProblem{Message: "the run was interrupted while it ran on this host: results are incomplete", Type: "interrupted"}})
	}
	if h.Err != nil {
		s.SystemErr = h.Err.Error()
	}
	return s
}

// notRunSuite is a host the run never started: an error when the run
// was interrupted (what it would have found is unknown), skipped when
// --max-fail-percent stopped the run.
func notRunSuite(host string, r recap.Recap) junitSuite {
	c := junitCase{Name: "not run", Classname: host, Time: seconds(0)}
	if r.Interrupted {
		c.Error = &junitProblem{Message: "not run: the run was interrupted before this host started", Type: "interrupted"}
	} else {
		c.Skipped = &junitProblem{Message: "not run: --max-fail-percent stopped the run before this host started"}
	}
	s := junitSuite{Name: host, Hostname: host, Time: seconds(0), Timestamp: r.Play.Started.UTC().Format("2006-01-02T15:04:05"),
		Properties: suiteProperties(r.Play, nil)}
	s.add(c)
	return s
}

func (s *junitSuite) add(c junitCase) {
	s.Tests++
	switch {
	case c.Failure != nil:
		s.Failures++
	case c.Error != nil:
		s.Errors++
	case c.Skipped != nil:
		s.Skipped++
	}
	s.Cases = append(s.Cases, c)
}

func junitCaseOf(host string, res remote.Result, check bool) junitCase {
	c := junitCase{Name: caseName(res), Classname: host, Time: seconds(res.Duration)}
	details := resultDetails(res)
	switch {
	case res.Status == remote.StatusUnreachable:
		c.Error = &junitProblem{Message: res.Msg, Type: "unreachable", Text: details}
	case res.Status == remote.StatusFailed && res.Ignored:
		c.SystemOut = joinNonEmpty("\n", "failed, ignored: "+res.Msg, details)
	case res.Status == remote.StatusFailed && res.Error:
		c.Error = &junitProblem{Message: res.Msg, Type: "error", Text: details}
	case res.Status == remote.StatusFailed:
		c.Failure = &junitProblem{Message: res.Msg, Type: failureType(res), Text: details}
	case res.Status == remote.StatusChanged && check:
		c.Failure = &junitProblem{Message: joinNonEmpty(": ", "would change", res.Msg), Type: "drift", Text: details}
	case res.Status == remote.StatusSkipped:
		c.Skipped = &junitProblem{Message: res.Msg}
	default:
		c.SystemOut = joinNonEmpty("\n", res.Msg, details)
	}
	return c
}

// caseName prefixes checks and handlers so a CI page tells them from tasks
// of the same name.
func caseName(res remote.Result) string {
	if res.Kind == remote.KindTask || res.Kind == "" {
		return res.Name
	}
	return string(res.Kind) + ": " + res.Name
}

func failureType(res remote.Result) string {
	if res.Kind == remote.KindCheck && res.Severity != "" {
		return "check (" + res.Severity + ")"
	}
	return string(res.Kind)
}

// resultDetails is the diff and the commands a result planned or ran, the
// evidence a reviewer needs under a failure.
func resultDetails(res remote.Result) string {
	var parts []string
	if res.Diff != "" {
		parts = append(parts, res.Diff)
	}
	for _, cmd := range res.Planned {
		parts = append(parts, "$ "+cmd)
	}
	return strings.Join(parts, "\n")
}

// suiteProperties are what made the run, as reports name it, then the
// host's facts when it was reached.
func suiteProperties(play recap.Play, f *remote.Facts) *junitProperties {
	p := play.Provenance
	props := []junitProperty{
		{"remedy.version", p.Version},
		{"remedy.commit", p.Commit},
		{"operator", p.Operator},
		{"change_id", p.ChangeID},
		{"command_line", shell.Join(append([]string{"remedy"}, p.CommandLine...)...)},
		{"playbook_sha256", p.PlaybookSHA256},
	}
	if f != nil {
		props = append(props,
			junitProperty{"os", strings.TrimSpace(f.OSID + " " + f.OSVersion)},
			junitProperty{"init", f.Init},
			junitProperty{"sshd", f.SSHDVersion},
			junitProperty{"firewall", f.Firewall},
			junitProperty{"selinux", f.SELinux},
			junitProperty{"user", f.User})
	}
	return &junitProperties{Property: props}
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// joinNonEmpty joins the parts that are not empty with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}
