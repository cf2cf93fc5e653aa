package output

import (
	"bytes"
	"strings"
	"testing"
)

// --summary-only prints the PLAY banner, the failures with their
// messages and the recap: no line of a host's ok, changed or skipped
// results, no diffs, no audit table.
func TestTextSummaryOnly(t *testing.T) {
	var buf bytes.Buffer
	replay(NewText(&buf, TextOptions{Verbosity: 1, SummaryOnly: true}), auditRecap())
	got := buf.String()
	checkGolden(t, "audit-summary.txt", buf.Bytes())
	for _, absent := range []string{"ok: [", "changed: [", "skipping: [", "+++ ", "would run", "AUDIT [", "...ignoring", "legacy cleanup"} {
		if strings.Contains(got, absent) {
			t.Errorf("summary holds %q:\n%s", absent, got)
		}
	}
	for _, present := range []string{
		"FAILURES ***",
		"CHECK [root login disabled] ***",
		"fatal: [web1]: FAILED! => PermitRootLogin is yes",
		"fatal: [down1]: UNREACHABLE! => down1: dial 198.18.0.9:22",
		"PLAY RECAP ***",
		"web1                       : ok=",
	} {
		if !strings.Contains(got, present) {
			t.Errorf("summary lacks %q:\n%s", present, got)
		}
	}
}

// WriteSummary (remedy report merge -o text) is what --summary-only
// prints after its PLAY banner.
func TestWriteSummaryMatchesSummaryOnly(t *testing.T) {
	var stream, summary bytes.Buffer
	r := auditRecap()
	replay(NewText(&stream, TextOptions{SummaryOnly: true}), r)
	if err := WriteSummary(&summary, r, false); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(stream.String(), summary.String()) || summary.Len() == 0 {
		t.Errorf("summary-only stream:\n%s\nWriteSummary:\n%s", stream.String(), summary.String())
	}
}

// A run where nothing failed has no FAILURES section.
func TestWriteFailuresNone(t *testing.T) {
	var buf bytes.Buffer
	r := auditRecap()
	r.Hosts = r.Hosts[:0]
	if err := WriteFailures(&buf, r, false); err != nil || buf.Len() != 0 {
		t.Errorf("WriteFailures = %q, %v; want nothing", buf.String(), err)
	}
}
