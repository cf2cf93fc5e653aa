package output

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// testdata/lab-audit.json is what `remedy audit testdata/lab-audit.lua -o
// json` printed on a lab of three hosts (nftables, ufw, no firewall) plus
// an inventory entry at an address nobody answers. Read back into a Recap
// it drives every renderer with real messages, commands and diffs. It was
// captured before documents named what made the run: those fields
// (schema_version to change_id, playbook_sha256) are empty.
const capturedAudit = "testdata/lab-audit.json"

// recapFromJSON reads a document WriteJSON wrote back into the Recap it
// came from.
func recapFromJSON(t *testing.T, path string) recap.Recap {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc jsonRun
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	r := recap.Recap{
		Play: recap.Play{Name: doc.Playbook, Path: doc.Path, Check: doc.Check, Diff: doc.Diff, Audit: doc.Audit,
			Started: doc.Started, Provenance: recap.Provenance{Version: doc.Remedy.Version, Commit: doc.Remedy.Commit,
				Operator: doc.Operator, CommandLine: doc.CommandLine, Inventories: doc.Inventories, Limit: doc.Limit,
				PlaybookSHA256: doc.PlaybookSHA256, ChangeID: doc.ChangeID}},
		NotRun:      doc.NotRun,
		Interrupted: doc.Interrupted,
		Duration:    doc.Finished.Sub(doc.Started),
	}
	for _, jh := range doc.Hosts {
		h := recap.HostReport{Host: jh.Name, Unreachable: jh.Unreachable, Facts: jh.Facts,
			Stats: recap.Stats(jh.Stats), Duration: time.Duration(jh.DurationMS) * time.Millisecond}
		if jh.Error != "" {
			h.Err = errors.New(jh.Error)
		}
		if jh.Interrupted {
			h.Err = interruptedError(jh.Error)
		}
		for _, jr := range jh.Tasks {
			h.Results = append(h.Results, remote.Result{Host: jh.Name, Kind: jr.Kind, Name: jr.Name,
				Status: remote.Status(jr.Status), Msg: jr.Msg, Diff: jr.Diff, Planned: jr.Planned,
				Severity: jr.Severity, Ignored: jr.Ignored, Error: jr.Error, Duration: time.Duration(jr.DurationMS) * time.Millisecond})
		}
		r.Hosts = append(r.Hosts, h)
	}
	return r
}

// interruptedError is an interrupted host's error read back from JSON.
type interruptedError string

func (e interruptedError) Error() string { return string(e) }
func (e interruptedError) Unwrap() error { return context.Canceled }

// TestCapturedJSONRoundTrip: the captured document, read back and written
// again, is byte for byte the same: no field is lost or renamed.
func TestCapturedJSONRoundTrip(t *testing.T) {
	want, err := os.ReadFile(capturedAudit)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := WriteJSON(&got, recapFromJSON(t, capturedAudit)); err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("round trip differs:\n%s", got.String())
	}
}

func TestCapturedAudit(t *testing.T) {
	r := recapFromJSON(t, capturedAudit)
	if code := ExitCode(r); code != ExitUnreachable {
		t.Errorf("ExitCode = %d, want %d", code, ExitUnreachable)
	}
	if hosts := RetryHosts(r); !slices.Equal(hosts, []string{"ghost", "h1", "h2", "h3"}) {
		t.Errorf("RetryHosts = %v", hosts)
	}
	renders := []struct {
		golden string
		write  func(*bytes.Buffer) error
	}{
		{"lab-audit.txt", func(b *bytes.Buffer) error { replay(NewText(b, TextOptions{}), r); return nil }},
		{"lab-audit-report.md", func(b *bytes.Buffer) error { return WriteReport(b, r, ReportMarkdown) }},
		{"lab-audit-report.html", func(b *bytes.Buffer) error { return WriteReport(b, r, ReportHTML) }},
		{"lab-audit.junit.xml", func(b *bytes.Buffer) error { return WriteJUnit(b, r) }},
	}
	for _, c := range renders {
		t.Run(c.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := c.write(&buf); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, c.golden, buf.Bytes())
		})
	}
}
