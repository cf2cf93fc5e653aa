package output

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

func TestReportGolden(t *testing.T) {
	cases := []struct {
		golden string
		recap  recap.Recap
		format ReportFormat
	}{
		{"audit-report.html", auditRecap(), ReportHTML},
		{"audit-report.md", auditRecap(), ReportMarkdown},
		{"run-report.md", runRecap(), ReportMarkdown},
		{"compliant-report.md", compliantRecap(), ReportMarkdown},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteReport(&buf, c.recap, c.format); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, c.golden, buf.Bytes())
		})
	}
}

func compliantRecap() recap.Recap {
	r := auditRecap()
	r.Hosts = r.Hosts[2:]
	return r
}

func TestReportSummary(t *testing.T) {
	d := reportDataOf(auditRecap())
	if d.Hosts != 3 || d.Compliant != 1 || d.NonCompliant != 1 || d.Unreachable != 1 {
		t.Errorf("summary: %d hosts, %d compliant, %d non-compliant, %d unreachable",
			d.Hosts, d.Compliant, d.NonCompliant, d.Unreachable)
	}
	var got []string
	for _, f := range d.Findings {
		got = append(got, f.State+": "+f.Requirement+" on "+strings.Join(f.Hosts, ","))
	}
	// Ranked by severity: the failed check (high) before the tasks that
	// would change, which have none.
	want := []string{
		"fail: root login disabled on web1",
		"would change: S3 FASP UDP port is open on web1",
		"would change: S1 sshd listens on 33001 on web1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if run := reportDataOf(runRecap()); run.Compliant != 1 || run.NonCompliant != 1 {
		t.Errorf("run: changed hosts count as fixed, failed check as non-compliant: %+v", run)
	}
}

// TestReportHTMLSelfContained: the file must open on a change board's
// laptop with nothing else: no scripts, no links to fetch, and a message
// from a host must be text, never markup.
func TestReportHTMLSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReport(&buf, auditRecap(), ReportHTML); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, banned := range []string{"<script", "<link", "src=", "@import", "url(", "http://", "https://"} {
		if strings.Contains(html, banned) {
			t.Errorf("report contains %q", banned)
		}
	}
	if !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the message's markup is not escaped")
	}
	if !strings.Contains(html, `<span class="add">&#43;		udp dport 33001 accept</span>`) {
		t.Error("the planned diff is missing or not classed")
	}
	if !strings.Contains(html, "<span>$ kill -HUP 812</span>") {
		t.Error("a planned command is missing")
	}
}

var mdTableRow = regexp.MustCompile(`^\|.*\|$`)

// TestReportMarkdownTables: every row of a table has as many cells as its
// header, whatever a message holds.
func TestReportMarkdownTables(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReport(&buf, auditRecap(), ReportMarkdown); err != nil {
		t.Fatal(err)
	}
	cells := -1
	for _, line := range strings.Split(buf.String(), "\n") {
		if !mdTableRow.MatchString(line) {
			cells = -1
			continue
		}
		n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(line, -1)) - 1
		if cells < 0 {
			cells = n
		} else if n != cells {
			t.Errorf("row has %d cells, header %d: %s", n, cells, line)
		}
	}
	if !strings.Contains(buf.String(), `PermitRootLogin is yes \<script\>alert(1)\</script\> \| \*bold\* \`+"`tick\\`") {
		t.Errorf("message not escaped for Markdown:\n%s", buf.String())
	}
}

func TestMarkdownFence(t *testing.T) {
	cases := map[string]string{"": "```", "a `b`": "```", "``` x": "````", "a`````b": "``````"}
	for in, want := range cases {
		if got := mdFence(in); got != want {
			t.Errorf("mdFence(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReportFormatFor(t *testing.T) {
	cases := map[string]ReportFormat{"audit.html": ReportHTML, "A.HTM": ReportHTML, "r.md": ReportMarkdown, "r.markdown": ReportMarkdown}
	for path, want := range cases {
		if got, err := ReportFormatFor(path); err != nil || got != want {
			t.Errorf("ReportFormatFor(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	for _, path := range []string{"audit.pdf", "audit", "audit.html.txt"} {
		if _, err := ReportFormatFor(path); err == nil {
			t.Errorf("ReportFormatFor(%q): no error", path)
		}
	}
}

// FuzzMarkdownCell: whatever a host's message holds, its cell stays one
// line and has no pipe that would end the cell early.
func FuzzMarkdownCell(f *testing.F) {
	for _, seed := range []string{"a|b", "line\nnext", `back\|slash`, "`code` *em* <b>", "\\", "\r\n|"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cell := mdCell(s)
		if strings.ContainsAny(cell, "\r\n") {
			t.Fatalf("mdCell(%q) = %q: spans lines", s, cell)
		}
		for i := 0; i < len(cell); i++ {
			switch cell[i] {
			case '\\':
				i++
			case '|', '<', '`':
				if !strings.HasPrefix(cell[i:], "<br>") {
					t.Fatalf("mdCell(%q) = %q: unescaped %q at %d", s, cell, cell[i], i)
				}
				i += len("<br>") - 1
			}
		}
	})
}

func TestStoppedAt(t *testing.T) {
	task := func(name string, s remote.Status) remote.Result {
		return remote.Result{Kind: remote.KindTask, Name: name, Status: s}
	}
	ignored := task("optional", remote.StatusFailed)
	ignored.Ignored = true
	check := remote.Result{Kind: remote.KindCheck, Name: "finding", Status: remote.StatusFailed}
	cases := []struct {
		name    string
		results []remote.Result
		want    string
	}{
		{"no results", nil, ""},
		{"ran to the end", []remote.Result{task("a", remote.StatusOK), task("b", remote.StatusChanged)}, ""},
		{"a task failed", []remote.Result{task("a", remote.StatusOK), task("b", remote.StatusFailed)}, "b"},
		{"an ignored failure goes on", []remote.Result{task("a", remote.StatusOK), ignored}, ""},
		{"a failed check is a finding", []remote.Result{task("a", remote.StatusOK), check}, ""},
	}
	for _, c := range cases {
		if got := stoppedAt(c.results); got != c.want {
			t.Errorf("%s: stoppedAt = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestReportSaysWhereAHostStopped(t *testing.T) {
	r := runRecap()
	db := &r.Hosts[2]
	db.Results = append(db.Results[:2:2], remote.Result{Host: db.Host, Kind: remote.KindTask, Name: "S1 sshd listens on 33001",
		Status: remote.StatusFailed, Msg: "sshd -t: Bad configuration option"})
	for _, format := range []ReportFormat{ReportHTML, ReportMarkdown} {
		var buf bytes.Buffer
		if err := WriteReport(&buf, r, format); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "The run stopped on this host when “S1 sshd listens on 33001” failed") {
			t.Errorf("%s report does not say where %s stopped", format, db.Host)
		}
	}
}
