package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

func TestVisible(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, tabs\tand\nnewlines", "plain text, tabs\tand\nnewlines"},
		{"\x1b[2J\x1b]0;title\x07", `\x1b[2J\x1b]0;title\x07`},
		{"progress\rover", `progress\x0dover`},
		{"nul\x00 del\x7f bs\b", `nul\x00 del\x7f bs\x08`},
		{"c1 csi \u009b2J", `c1 csi \u009b2J`},
		{"raw c1 byte \x9b2J", `raw c1 byte \x9b2J`},
		{"bad utf-8 \xff\xfe", `bad utf-8 \xff\xfe`},
		{"cut rune \xe2\x82", `cut rune \xe2\x82`},
		{"rlo \u202eevil\u202c ltr mark\u200e isolate\u2066x\u2069", `rlo \u202eevil\u202c ltr mark\u200e isolate\u2066x\u2069`},
		{"line\u2028separator", `line\u2028separator`},
		{"utf-8 stays: é ü 日本 \ufffd ✓", "utf-8 stays: é ü 日本 \ufffd ✓"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Visible(tt.in); got != tt.want {
			t.Errorf("Visible(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// hostile is what a host can put in command output, stderr, a file or
// an error: a screen clear, a bell, a carriage return that overwrites the
// line, a window title, a C1 CSI both as a raw byte and as UTF-8, a
// right-to-left override, and bytes that are not UTF-8.
const hostile = "a\x1b[2J\x07b\rc\x1b]0;owned\x07d\x9be\u009bf\u202eg\xff\xfeh"

// hostileRecap carries hostile text everywhere a host's bytes can go.
func hostileRecap() recap.Recap {
	play := recap.Play{Name: "p", Check: true, Diff: true, Audit: true, Hosts: []string{"web1"}, Started: started}
	facts := debianFacts("nftables")
	facts.OSID = "debian" + hostile
	return recap.Recap{Play: play, Hosts: []recap.HostReport{{
		Host: "web1", Facts: facts, Err: errors.New("read /etc/x: " + hostile),
		Stats: recap.Stats{OK: 1, Changed: 1, Failed: 2},
		Results: []remote.Result{
			factsResult("web1", facts),
			{Host: "web1", Kind: remote.KindTask, Name: "write", Status: remote.StatusChanged, Msg: "msg " + hostile,
				Diff: "--- /etc/x\n+++ /etc/x (planned)\n@@ -1 +1 @@\n-old " + hostile + "\n+new\tline\n", Planned: []string{"echo " + hostile}},
			{Host: "web1", Kind: remote.KindCheck, Name: "check", Status: remote.StatusFailed, Severity: "high", Msg: "stderr: " + hostile},
			{Host: "web1", Kind: remote.KindTask, Name: "query", Status: remote.StatusFailed, Msg: "cmd.query: exit status 3: " + hostile},
		},
	}}}
}

// assertNothingActs fails when out holds anything a terminal would act
// on: a C0 control other than newline and tab, DEL, a C1 control or a
// bidirectional control, or bytes that are not UTF-8.
func assertNothingActs(t *testing.T, format string, out []byte) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Errorf("%s: not UTF-8", format)
	}
	for i, r := range string(out) {
		if acts(r) {
			t.Errorf("%s: %U at byte %d: %q", format, r, i, out[max(0, i-20):min(len(out), i+20)])
			return
		}
	}
}

func TestEveryFormatShowsHostileTextEscaped(t *testing.T) {
	r := hostileRecap()
	renders := map[string]func() ([]byte, error){
		"text -v": func() ([]byte, error) {
			var buf bytes.Buffer
			text := NewText(&buf, TextOptions{Verbosity: 2})
			text.Start(r.Play)
			text.Command(recap.Command{Host: "web1", Line: "cat /etc/x", Stdout: []byte(hostile + "\n"), Stderr: []byte(hostile), Err: errors.New(hostile)})
			text.Log("web1", "print: "+hostile)
			replay(text, r)
			return buf.Bytes(), text.Err()
		},
		"json":     func() ([]byte, error) { return render(WriteJSON, r) },
		"junit":    func() ([]byte, error) { return render(WriteJUnit, r) },
		"html":     func() ([]byte, error) { return renderReport(r, ReportHTML) },
		"markdown": func() ([]byte, error) { return renderReport(r, ReportMarkdown) },
	}
	for format, do := range renders {
		out, err := do()
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		assertNothingActs(t, format, out)
	}
}

// Text shows each escape where the host put it, newlines and tabs of a
// diff and of -v output as layout.
func TestTextShowsHostileTextEscaped(t *testing.T) {
	var buf bytes.Buffer
	text := NewText(&buf, TextOptions{Verbosity: 1})
	replay(text, hostileRecap())
	text.Command(recap.Command{Host: "web1", Line: "cat /etc/x", Stdout: []byte("one\n\ttwo " + hostile + "\n")})
	out := buf.String()
	const shown = `a\x1b[2J\x07b\x0dc\x1b]0;owned\x07d\x9be\u009bf\u202eg\xff\xfeh`
	for _, want := range []string{
		"changed: [web1] => msg " + shown,
		"-old " + shown + "\n+new\tline\n",
		"would run: $ echo " + shown,
		"fatal: [web1]: FAILED! => stderr: " + shown,
		"<web1>   one\n<web1>   \ttwo " + shown + "\n",
		"debian" + shown,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

// Colour and the progress line are the only escapes in a terminal's text.
func TestTextOnATerminalHasOnlyItsOwnEscapes(t *testing.T) {
	var buf bytes.Buffer
	text := NewText(&buf, TextOptions{Verbosity: 1, Color: true, Progress: true})
	replay(text, hostileRecap())
	own := strings.ReplaceAll(stripANSI(buf.String()), "\r\x1b[K", "")
	assertNothingActs(t, "text on a terminal", []byte(own))
}

// JSON keeps the exact text, escaped as JSON: decoded, every valid
// character comes back, bytes that are not UTF-8 as U+FFFD.
func TestJSONKeepsHostileTextExact(t *testing.T) {
	out, err := render(WriteJSON, hostileRecap())
	if err != nil {
		t.Fatal(err)
	}
	for _, esc := range []string{`\u001b[2J`, `\u0007`, `\r`, `\u009b`, `\u202e`} {
		if !bytes.Contains(out, []byte(esc)) {
			t.Errorf("JSON lacks %s", esc)
		}
	}
	var doc jsonRun
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	want.WriteString("msg ")
	for _, r := range hostile { // each byte that is not UTF-8 is a U+FFFD
		want.WriteRune(r)
	}
	if got := doc.Hosts[0].Tasks[1].Msg; got != want.String() {
		t.Errorf("decoded msg %q, want %q", got, want.String())
	}
}

func render(write func(io.Writer, recap.Recap) error, r recap.Recap) ([]byte, error) {
	var buf bytes.Buffer
	err := write(&buf, r)
	return buf.Bytes(), err
}

func renderReport(r recap.Recap, f ReportFormat) ([]byte, error) {
	var buf bytes.Buffer
	err := WriteReport(&buf, r, f)
	return buf.Bytes(), err
}
