package output

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// decodedSuites reads JUnit back with its own types, the way a CI server
// would, so the test checks the XML and not the writer's structs.
type decodedSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Errors     int    `xml:"errors,attr"`
		Skipped    int    `xml:"skipped,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Type string `xml:"type,attr"`
			} `xml:"error"`
			Skipped   *struct{} `xml:"skipped"`
			SystemOut string    `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func decodeJUnit(t *testing.T, r recap.Recap) decodedSuites {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc decodedSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("invalid XML: %v\n%s", err, buf.String())
	}
	return doc
}

func TestJUnitAudit(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, auditRecap()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "audit.junit.xml", buf.Bytes())

	doc := decodeJUnit(t, auditRecap())
	if len(doc.Suites) != 3 || doc.Suites[0].Name != "db-server-long-name.example" || doc.Suites[2].Name != "web1" {
		t.Fatalf("suites = %+v", doc.Suites)
	}
	db, down, web1 := doc.Suites[0], doc.Suites[1], doc.Suites[2]
	if db.Tests != 6 || db.Failures != 0 || db.Errors != 0 || db.Skipped != 1 {
		t.Errorf("db suite counts: %+v", db)
	}
	if down.Tests != 1 || down.Errors != 1 || down.Cases[0].Error == nil || down.Cases[0].Error.Type != "unreachable" {
		t.Errorf("down1 suite: %+v", down)
	}
	// Two tasks would change (drift), one check failed, one failure was ignored.
	if web1.Tests != 6 || web1.Failures != 3 || web1.Skipped != 1 {
		t.Errorf("web1 suite counts: tests %d failures %d skipped %d", web1.Tests, web1.Failures, web1.Skipped)
	}
	drift := web1.Cases[1].Failure
	if drift == nil || drift.Type != "drift" || !strings.Contains(drift.Text, "+\t\tudp dport 33001 accept") ||
		!strings.Contains(drift.Text, "$ nft add rule inet filter input udp dport 33001 accept") {
		t.Errorf("drift failure = %+v", drift)
	}
	check := web1.Cases[4]
	if check.Name != "check: root login disabled" || check.Failure == nil || check.Failure.Type != "check (high)" ||
		check.Failure.Message != "PermitRootLogin is yes <script>alert(1)</script> | *bold* `tick`" {
		t.Errorf("check case = %+v", check)
	}
	if ignored := web1.Cases[5]; ignored.Failure != nil || !strings.Contains(ignored.SystemOut, "ignored") {
		t.Errorf("ignored failure case = %+v", ignored)
	}
	if doc.Tests != 13 || doc.Failures != 3 || doc.Errors != 1 {
		t.Errorf("totals: tests %d failures %d errors %d", doc.Tests, doc.Failures, doc.Errors)
	}
	// Every suite names what made the run; a reached host's adds its facts.
	const provenanceProps = 6
	if len(down.Properties) != provenanceProps || down.Properties[3].Name != "change_id" || down.Properties[3].Value != "CHG-1234" {
		t.Errorf("down1 properties = %+v, want what made the run and no facts", down.Properties)
	}
	if len(web1.Properties) <= provenanceProps || web1.Properties[provenanceProps].Value != "debian 12" ||
		!strings.Contains(web1.Properties[4].Value, "db_password=********") {
		t.Errorf("web1 properties = %+v", web1.Properties)
	}
}

func TestJUnitRunChangedIsNotAFailure(t *testing.T) {
	doc := decodeJUnit(t, runRecap())
	web1 := doc.Suites[2]
	if web1.Failures != 1 || web1.Cases[1].Failure != nil || !strings.Contains(web1.Cases[1].SystemOut, "udp dport 33001") {
		t.Errorf("run: web1 failures %d, changed case %+v", web1.Failures, web1.Cases[1])
	}
}

// TestJUnitControlCharacters: command output in a message may hold bytes
// XML 1.0 forbids (terminal escapes); the document must still parse.
func TestJUnitControlCharacters(t *testing.T) {
	r := recap.Recap{Hosts: []recap.HostReport{{Host: "h", Results: []remote.Result{
		{Host: "h", Kind: remote.KindTask, Name: "t\x00", Status: remote.StatusFailed, Msg: "\x1b[31mred\x1b[0m\x07 & <b>"},
	}}}}
	doc := decodeJUnit(t, r)
	f := doc.Suites[0].Cases[0].Failure
	if f == nil || !strings.Contains(f.Message, "red") || !strings.Contains(f.Message, "& <b>") {
		t.Errorf("failure = %+v", f)
	}
}

// TestJUnitUnreachableWithoutResult: a host marked unreachable with no
// result to say so still shows as an error, named after the connection.
func TestJUnitUnreachableWithoutResult(t *testing.T) {
	r := recap.Recap{Hosts: []recap.HostReport{{Host: "h", Unreachable: true, Err: errors.New("h: connection lost")}}}
	doc := decodeJUnit(t, r)
	s := doc.Suites[0]
	if s.Errors != 1 || s.Cases[0].Name != "connect" || s.Cases[0].Error == nil || s.Cases[0].Error.Type != "unreachable" {
		t.Errorf("suite = %+v", s)
	}
}

// FuzzJUnit: any message, name or diff yields a document that parses.
func FuzzJUnit(f *testing.F) {
	f.Add("t", "msg", "--- a\n+++ b\n")
	f.Add("t\x00", "\x1b[31mred\x1b[0m", "]]>")
	f.Add("<x>", "\xff\xfe invalid utf-8 & \"quotes\"", "\r\n\t")
	f.Fuzz(func(t *testing.T, name, msg, diff string) {
		r := recap.Recap{Play: recap.Play{Name: name, Check: true}, Hosts: []recap.HostReport{{Host: name, Results: []remote.Result{
			{Host: name, Kind: remote.KindTask, Name: name, Status: remote.StatusChanged, Msg: msg, Diff: diff, Planned: []string{msg}},
			{Host: name, Kind: remote.KindCheck, Name: name, Status: remote.StatusFailed, Msg: msg, Severity: msg},
		}}}}
		doc := decodeJUnit(t, r)
		if len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 2 || doc.Failures != 2 {
			t.Fatalf("decoded %+v", doc)
		}
	})
}
