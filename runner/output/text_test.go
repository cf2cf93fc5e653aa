package output

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

var ansiSGR = regexp.MustCompile("\x1b\\[[0-9;]*m")

func stripANSI(s string) string { return ansiSGR.ReplaceAllString(s, "") }

func TestTextGolden(t *testing.T) {
	cases := []struct {
		golden string
		recap  recap.Recap
		opt    TextOptions
	}{
		{"audit.txt", auditRecap(), TextOptions{}},
		{"audit-v.txt", auditRecap(), TextOptions{Verbosity: 1}},
		{"audit-vv.txt", auditRecap(), TextOptions{Verbosity: 2}},
		{"audit-colour.txt", auditRecap(), TextOptions{Color: true}},
		{"run.txt", runRecap(), TextOptions{}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			var buf bytes.Buffer
			text := NewText(&buf, c.opt)
			replay(text, c.recap)
			if err := text.Err(); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, c.golden, buf.Bytes())
			if !c.opt.Color && buf.String() != stripANSI(buf.String()) {
				t.Error("colour escapes without Color")
			}
		})
	}
}

// TestTextInterleaved: results of two hosts arriving alternately each
// sit under the banner of their own task.
func TestTextInterleaved(t *testing.T) {
	var buf bytes.Buffer
	text := NewText(&buf, TextOptions{})
	text.Start(recap.Play{Name: "p", Hosts: []string{"a", "b"}})
	for _, res := range []remote.Result{
		{Host: "a", Kind: remote.KindTask, Name: "one", Status: remote.StatusOK},
		{Host: "b", Kind: remote.KindTask, Name: "one", Status: remote.StatusOK},
		{Host: "a", Kind: remote.KindTask, Name: "two", Status: remote.StatusChanged},
		{Host: "b", Kind: remote.KindTask, Name: "one", Status: remote.StatusOK},
		{Host: "b", Kind: remote.KindTask, Name: "two", Status: remote.StatusOK},
	} {
		text.Result(res)
	}
	got := stripBanners(buf.String())
	want := "PLAY [p]\nTASK [one]\nok: [a]\nok: [b]\nTASK [two]\nchanged: [a]\nTASK [one]\nok: [b]\nTASK [two]\nok: [b]\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// stripBanners drops blank lines and the stars of banners.
func stripBanners(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimRight(line, " *"); line != "" {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// terminal replays output the way a terminal shows it, handling carriage
// return and erase-line, and returns the lines left on screen.
func terminal(out string) []string {
	lines := []string{""}
	out = ansiSGR.ReplaceAllString(out, "")
	for len(out) > 0 {
		last := len(lines) - 1
		switch {
		case strings.HasPrefix(out, "\x1b[K"):
			out = out[3:]
			continue
		case out[0] == '\r':
			lines[last] = ""
		case out[0] == '\n':
			lines = append(lines, "")
		default:
			lines[last] += out[:1]
		}
		out = out[1:]
	}
	return lines
}

func TestTextProgress(t *testing.T) {
	var buf bytes.Buffer
	text := NewText(&buf, TextOptions{Progress: true})
	r := auditRecap()
	text.Start(r.Play)
	text.HostStarted("web1")
	text.HostStarted("db-server-long-name.example")
	screen := terminal(buf.String())
	if last := screen[len(screen)-1]; last != "0/3 done: ok=0 findings=0 failed=0 unreachable=0 | 2 running: web1 0s" {
		t.Errorf("progress line = %q", last)
	}
	text.Result(r.Hosts[0].Results[1])
	text.HostDone(r.Hosts[0])
	screen = terminal(buf.String())
	// An audit: web1's failed checks are findings, not a failure.
	if last := screen[len(screen)-1]; last != "1/3 done: ok=0 findings=1 failed=0 unreachable=0 | 1 running: db-server-lon… 0s" {
		t.Errorf("progress line after a host = %q", last)
	}
	text.End(r)
	screen = terminal(buf.String())
	for _, line := range screen {
		if strings.Contains(line, " done: ") && strings.Contains(line, "running") {
			t.Errorf("progress left on screen: %q", line)
		}
	}
	if got := strings.Join(screen, "\n"); !strings.Contains(got, "changed: [web1] => udp/33001") ||
		!strings.Contains(got, "PLAY RECAP") {
		t.Errorf("screen lost lines:\n%s", got)
	}
}

func TestTextWithoutProgressHasNoControlCodes(t *testing.T) {
	var buf bytes.Buffer
	replay(NewText(&buf, TextOptions{Verbosity: 2}), auditRecap())
	if strings.ContainsAny(buf.String(), "\r\x1b") {
		t.Errorf("control characters in non-terminal output:\n%q", buf.String())
	}
}

func TestTextCommand(t *testing.T) {
	c := recap.Command{Host: "web1", Line: "sh -c 'nft -j list ruleset\nexit 0'", Stdout: []byte("{}\n"), Stderr: []byte("warn\n"),
		ExitCode: 1, Duration: 25 * time.Millisecond}
	cases := []struct {
		verbosity int
		want      string
	}{
		{0, ""},
		{1, "<web1> $ sh -c 'nft -j list ruleset\n<web1> > exit 0'\n<web1> rc=1\n<web1>   {}\n<web1> ! warn\n"},
		{2, "<web1> $ sh -c 'nft -j list ruleset\n<web1> > exit 0'\n<web1> rc=1, 25ms\n<web1>   {}\n<web1> ! warn\n"},
	}
	for _, tc := range cases {
		var buf bytes.Buffer
		NewText(&buf, TextOptions{Verbosity: tc.verbosity}).Command(c)
		if buf.String() != tc.want {
			t.Errorf("-v=%d: got %q, want %q", tc.verbosity, buf.String(), tc.want)
		}
	}
}

func TestTextLog(t *testing.T) {
	var buf bytes.Buffer
	NewText(&buf, TextOptions{}).Log("web1", "ports:\t22\n33001")
	if want := "[web1] ports:\t22\n[web1] 33001\n"; buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, bytes.ErrTooLarge }

func TestTextWriteError(t *testing.T) {
	text := NewText(failingWriter{}, TextOptions{})
	replay(text, auditRecap())
	if text.Err() == nil {
		t.Error("a failing writer reported no error")
	}
}

// TestTextInterrupted: a host cut short by Ctrl-C gets no fatal line of its
// own; the end says the run was interrupted and which hosts never started.
func TestTextInterrupted(t *testing.T) {
	var buf bytes.Buffer
	text := NewText(&buf, TextOptions{})
	play := recap.Play{Name: "p", Hosts: []string{"a", "b"}}
	text.Start(play)
	text.HostStarted("a")
	a := recap.HostReport{Host: "a", Err: fmt.Errorf("a: run: %w", context.Canceled)}
	text.HostDone(a)
	text.End(recap.Recap{Play: play, Hosts: []recap.HostReport{a}, NotRun: []string{"b"}, Interrupted: true})
	got := buf.String()
	if strings.Contains(got, "fatal") {
		t.Errorf("an interrupted host is reported as failed:\n%s", got)
	}
	if !strings.Contains(got, "INTERRUPTED") || !strings.Contains(got, "NOT RUN (interrupted): b") {
		t.Errorf("the end does not say the run was interrupted:\n%s", got)
	}
}

// TestTextHostStoppedWithoutResult: a host that ended with an error no
// result line showed gets a line saying why, under its own banner.
func TestTextHostStoppedWithoutResult(t *testing.T) {
	cases := []struct {
		name string
		host recap.HostReport
		want string
	}{
		{"unreachable", recap.HostReport{Host: "a", Unreachable: true, Err: errors.New("a: connection lost")},
			"HOST [a]\nfatal: [a]: UNREACHABLE! => a: connection lost\n"},
		{"failed", recap.HostReport{Host: "a", Err: errors.New("a: playbook.lua:3: attempt to call a nil value")},
			"HOST [a]\nfatal: [a]: FAILED! => a: playbook.lua:3: attempt to call a nil value\n"},
		{"already shown", recap.HostReport{Host: "a", Err: errors.New("a: task failed"),
			Results: []remote.Result{{Host: "a", Name: "t", Status: remote.StatusFailed}}}, "TASK [t]\nfatal: [a]: FAILED!\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			text := NewText(&buf, TextOptions{})
			for _, res := range c.host.Results {
				text.Result(res)
			}
			text.HostDone(c.host)
			if got := stripBanners(buf.String()); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestTextMessageCannotForgeALine: a message a host had a hand in cannot
// start a line that reads as remedy's own; its later lines are marked.
func TestTextMessageCannotForgeALine(t *testing.T) {
	forged := "done\nok: [h2] => all fine\n\nPLAY RECAP ****\n"
	var buf bytes.Buffer
	text := NewText(&buf, TextOptions{Verbosity: 1})
	text.Start(recap.Play{Name: "p", Check: true, Diff: true, Hosts: []string{"h1", "h3"}})
	text.Result(remote.Result{Host: "h1", Name: "t", Status: remote.StatusFailed, Msg: forged})
	text.Result(remote.Result{Host: "h1", Name: "t", Status: remote.StatusOK, Msg: forged})
	text.Result(remote.Result{Host: "h1", Name: "t", Status: remote.StatusChanged, Msg: forged, Planned: []string{"echo\nok: [h2]"}})
	text.HostDone(recap.HostReport{Host: "h3", Unreachable: true, Err: errors.New(forged)})
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(line, "ok: [h2]") || strings.HasPrefix(line, "PLAY RECAP") {
			t.Errorf("a host's message starts a line of its own: %q\n%s", line, buf.String())
		}
	}
	if want := "fatal: [h1]: FAILED! => done\n    | ok: [h2] => all fine\n    | \n    | PLAY RECAP ****\n"; !strings.Contains(buf.String(), want) {
		t.Errorf("want the later lines marked:\n%s\ngot\n%s", want, buf.String())
	}
}
