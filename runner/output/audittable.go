package output

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"remedy/runner/recap"
)

// maxRequirementWidth keeps one long task name from pushing every state and
// evidence column far to the right; a longer name overflows its own row.
const maxRequirementWidth = 44

// stateWidth fits the longest state, "fail (ignored)".
const stateWidth = 14

// stateColors colours a requirement's state in the audit table.
var stateColors = map[string]string{
	statePass:          colorOK,
	stateFail:          colorError,
	stateDrift:         colorChanged,
	stateChanged:       colorChanged,
	stateSkip:          colorSkip,
	stateError:         colorError,
	verdictUnreachable: colorUnreachable,
}

// writeAuditTable writes, per host, the table an audit promises: each
// requirement, its state (pass, fail, would change, ...) and the evidence,
// with the host's verdict in its banner. The diffs and planned commands
// were printed with each result above it.
func writeAuditTable(b *strings.Builder, r recap.Recap, p palette) {
	for _, h := range sortedHosts(r.Hosts) {
		sec := reportHostOf(h, r.Play.Check)
		b.WriteString("\n" + banner("AUDIT ["+h.Host+"] "+sec.Verdict) + "\n")
		width := len("REQUIREMENT")
		for _, row := range sec.Rows {
			width = max(width, min(utf8.RuneCountInString(row.Requirement), maxRequirementWidth))
		}
		fmt.Fprintf(b, "%s  %s %s\n", pad("REQUIREMENT", width), pad("STATE", stateWidth), "EVIDENCE")
		for _, row := range sec.Rows {
			state := p.paint(stateColors[row.Class], row.State) + pad("", stateWidth-len(row.State))
			evidence := oneLine(row.Evidence)
			if evidence == "" && row.ChangeAnchor != "" {
				evidence = "(diff and commands above)"
			}
			line := pad(row.Requirement, width) + "  " + state + " " + evidence
			b.WriteString(strings.TrimRight(line, " ") + "\n")
		}
	}
}

// pad pads s with spaces to width runes.
func pad(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

// oneLine joins a multi-line message with "; " so a table row stays one
// line.
func oneLine(s string) string {
	return strings.Join(strings.Split(strings.TrimRight(s, "\n"), "\n"), "; ")
}
