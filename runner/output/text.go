package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// TextOptions tune the human output.
type TextOptions struct {
	// Verbosity 1 (-v) shows every remote command with its exit status and
	// output, and the commands a check-mode task would run; 2 (-vv) adds
	// durations.
	Verbosity int
	Color     bool // ANSI colours, as Ansible uses them
	Progress  bool // a live line of counts and the slowest hosts, redrawn in place
	// Width is the terminal's width in columns now, which the progress
	// line stays within: asked at every draw, as a window may be resized
	// during a long run. nil, or 0, is 80.
	Width func() int
	// SummaryOnly leaves out the lines of each host's results, commands
	// and log: the run ends with its failures and the PLAY RECAP
	// (--summary-only), for a fleet too large to read line by line.
	SummaryOnly bool
}

// TerminalTextOptions turns colour and the progress line on when f is a
// terminal, and colour off again when NO_COLOR is set (https://no-color.org).
func TerminalTextOptions(f *os.File, verbosity int) TextOptions {
	tty := term.IsTerminal(int(f.Fd()))
	return TextOptions{
		Verbosity: verbosity,
		Color:     tty && os.Getenv("NO_COLOR") == "",
		Progress:  tty,
		Width: func() int {
			width, _, _ := term.GetSize(int(f.Fd()))
			return width
		},
	}
}

// Text streams a run as ansible-playbook does: banners, then a line per
// result, then the PLAY RECAP. Hosts run in parallel and each goes through
// the playbook at its own pace, so results arrive interleaved; rather than
// hold lines back to group them, Text prints each result as it arrives
// under a "TASK [name]" banner, and repeats the banner whenever the task
// differs from the one of the line above. When hosts move in step this
// reads like Ansible's linear strategy; when they drift apart every line
// still sits under the task it belongs to.
type Text struct {
	w      io.Writer
	opt    TextOptions
	p      palette
	play   recap.Play
	banner string // the banner the last result line was printed under

	prog      progress
	progress  bool            // a progress line is on screen
	held      bool            // the progress line is kept off the screen (Ticking.Hold)
	explained map[string]bool // hosts with a printed failed or unreachable line
	err       error
}

// NewText returns a text renderer writing to w.
func NewText(w io.Writer, opt TextOptions) *Text {
	return &Text{w: w, opt: opt, p: palette(opt.Color), explained: map[string]bool{}}
}

// Err is the first error writing to the output, if any.
func (t *Text) Err() error { return t.err }

// Start prints the PLAY banner.
func (t *Text) Start(play recap.Play) {
	t.play = play
	t.prog.total = len(play.Hosts)
	t.prog.audit = play.Audit
	title := "PLAY [" + Visible(play.Name) + "]"
	if play.Check {
		title += " [CHECK MODE]"
	}
	t.emit("\n" + banner(title) + "\n")
}

// HostStarted counts the host as running for the progress line.
func (t *Text) HostStarted(host string) {
	t.prog.started(host, time.Now())
	t.emit("")
}

// HostConnecting counts the host as connecting or running, no longer
// waiting for a handshake slot.
func (t *Text) HostConnecting(host string) {
	t.prog.connecting(host, time.Now())
	t.emit("")
}

// Command shows a remote command, its exit status and its output at -v,
// each line of the output after a prefix and with its controls escaped,
// so no line a host prints passes for remedy's own.
func (t *Text) Command(c recap.Command) {
	if t.opt.Verbosity < 1 || t.opt.SummaryOnly {
		return
	}
	var b strings.Builder
	status := fmt.Sprintf("rc=%d", c.ExitCode)
	if c.Err != nil {
		status = "error: " + Visible(c.Err.Error())
	}
	if t.opt.Verbosity >= 2 {
		status += ", " + c.Duration.Round(time.Millisecond).String()
	}
	prefix := "<" + Visible(c.Host) + ">"
	// A script's later lines are marked like a shell's continuation prompt,
	// so they cannot be mistaken for its output.
	first, rest, _ := strings.Cut(Visible(c.Line), "\n")
	b.WriteString(prefix + " $ " + first + "\n")
	writeIndented(&b, prefix+" > ", rest)
	b.WriteString(prefix + " " + status + "\n")
	writeIndented(&b, prefix+"   ", Visible(string(c.Stdout)))
	writeIndented(&b, prefix+" ! ", Visible(string(c.Stderr)))
	t.emit(b.String())
}

// Log prints a line the playbook wrote with log() or print(), at every
// verbosity: the author asked for it.
func (t *Text) Log(host, msg string) {
	if t.opt.SummaryOnly {
		return
	}
	var b strings.Builder
	prefix := "[" + Visible(host) + "] "
	first, rest, _ := strings.Cut(Visible(msg), "\n")
	b.WriteString(prefix + first + "\n")
	writeIndented(&b, prefix, rest)
	t.emit(b.String())
}

// Result prints one result line, with its diff and planned commands when
// the run asked for them.
func (t *Text) Result(res remote.Result) {
	if t.opt.SummaryOnly {
		t.emit("")
		return
	}
	res = visibleResult(res)
	var b strings.Builder
	if title := resultBanner(res); title != t.banner {
		t.banner = title
		b.WriteString("\n" + banner(title) + "\n")
	}
	b.WriteString(t.resultLine(res))
	if t.play.Diff && res.Diff != "" {
		b.WriteString(t.diff(res.Diff))
	}
	if t.play.Check && (t.play.Diff || t.opt.Verbosity >= 1) {
		for _, cmd := range res.Planned {
			b.WriteString("    would run: $ " + continued(cmd) + "\n")
		}
	}
	if res.Status == remote.StatusFailed && !res.Ignored || res.Status == remote.StatusUnreachable {
		t.explained[res.Host] = true
	}
	t.emit(b.String())
}

// HostDone counts the host as finished and, when it stopped early for a
// reason no failed or unreachable line showed, says why.
func (t *Text) HostDone(h recap.HostReport) {
	t.prog.done(h)
	host := Visible(h.Host)
	// An interrupted host says so once for all, at the end.
	if h.Err != nil && !t.opt.SummaryOnly && !t.explained[host] && !errors.Is(h.Err, context.Canceled) {
		t.banner = "HOST [" + host + "]"
		t.emit("\n" + banner(t.banner) + "\n" + t.hostErrorLine(h))
		return
	}
	t.emit("")
}

// hostErrorLine is the fatal line of a host that stopped for h.Err.
func (t *Text) hostErrorLine(h recap.HostReport) string {
	return t.stoppedLine(Visible(h.Host), Visible(h.Err.Error()), h.Unreachable)
}

// stoppedLine is hostErrorLine of a host and message Visible has shown.
func (t *Text) stoppedLine(host, msg string, unreachable bool) string {
	msg = continued(msg)
	if unreachable {
		return t.p.paint(colorUnreachable, fmt.Sprintf("fatal: [%s]: UNREACHABLE! => %s", host, msg)) + "\n"
	}
	return t.p.paint(colorError, fmt.Sprintf("fatal: [%s]: FAILED! => %s", host, msg)) + "\n"
}

// End clears the progress line and prints whether the run was
// interrupted, the hosts never started, in an audit the per-host table of
// requirements, and the PLAY RECAP.
func (t *Text) End(r recap.Recap) {
	r = visibleRecap(r)
	var b strings.Builder
	if r.Interrupted {
		b.WriteString("\n" + t.p.paint(colorError, "INTERRUPTED: the recap covers what ran so far") + "\n")
	}
	if cut := interruptedHosts(r); len(cut) > 0 {
		fmt.Fprintf(&b, "INCOMPLETE (interrupted while running): %s\n", strings.Join(cut, ", "))
	}
	if len(r.NotRun) > 0 {
		why := "stopped by --max-fail-percent"
		if r.Interrupted {
			why = "interrupted"
		}
		fmt.Fprintf(&b, "\nNOT RUN (%s): %s\n", why, strings.Join(r.NotRun, ", "))
	}
	if t.opt.SummaryOnly {
		if err := WriteFailures(&b, r, t.opt.Color); err != nil {
			t.fail(err)
		}
	} else if r.Play.Audit {
		writeAuditTable(&b, r, t.p)
	}
	if err := WriteRecap(&b, r, t.opt.Color); err != nil {
		t.fail(err)
	}
	if t.opt.Verbosity >= 2 {
		fmt.Fprintf(&b, "run took %s\n", r.Duration.Round(time.Millisecond))
	}
	t.opt.Progress = false
	t.emit(b.String())
}

// interruptedHosts are the hosts the run was stopped on while they ran.
func interruptedHosts(r recap.Recap) []string {
	var names []string
	for _, h := range sortedHosts(r.Hosts) {
		if errors.Is(h.Err, context.Canceled) {
			names = append(names, h.Host)
		}
	}
	return names
}

// resultBanner names the part of the playbook a result belongs to, in
// Ansible's words for tasks and handlers.
func resultBanner(res remote.Result) string {
	switch res.Kind {
	case remote.KindCheck:
		return "CHECK [" + res.Name + "]"
	case remote.KindHandler:
		return "RUNNING HANDLER [" + res.Name + "]"
	}
	return "TASK [" + res.Name + "]"
}

func (t *Text) resultLine(res remote.Result) string {
	host := "[" + res.Host + "]"
	took := t.took(res.Duration)
	msg := ""
	if res.Msg != "" {
		msg = " => " + continued(res.Msg)
	}
	verboseMsg := ""
	if t.opt.Verbosity >= 1 {
		verboseMsg = msg
	}
	switch res.Status {
	case remote.StatusChanged:
		return t.p.paint(colorChanged, "changed: "+host+took+msg) + "\n"
	case remote.StatusSkipped:
		return t.p.paint(colorSkip, "skipping: "+host+took+verboseMsg) + "\n"
	case remote.StatusUnreachable:
		return t.p.paint(colorUnreachable, "fatal: "+host+": UNREACHABLE!"+took+msg) + "\n"
	case remote.StatusFailed:
		what := "FAILED!"
		if res.Error {
			// The task or check broke: not a finding about the host.
			what = "ERROR!"
		}
		line := t.p.paint(colorError, "fatal: "+host+": "+what+took+msg) + "\n"
		if res.Ignored {
			line += t.p.paint(colorSkip, "...ignoring") + "\n"
		}
		return line
	}
	return t.p.paint(colorOK, "ok: "+host+took+verboseMsg) + "\n"
}

// took is " (1.2s)" at -vv, empty otherwise.
func (t *Text) took(d time.Duration) string {
	if t.opt.Verbosity < 2 {
		return ""
	}
	return " (" + d.Round(time.Millisecond).String() + ")"
}

// diffColors colour a diff's lines by class, as git does.
var diffColors = map[string]string{"hunk": colorDiffHunk, "add": colorDiffAdd, "del": colorDiffDel}

// diff colours a unified diff line by line.
func (t *Text) diff(d string) string {
	var b strings.Builder
	for _, l := range diffLines(d) {
		b.WriteString(t.p.paint(diffColors[l.Class], l.Text) + "\n")
	}
	return b.String()
}

// emit clears the progress line, writes s, and draws the progress line
// again below it, so the progress line is always the last one on screen.
func (t *Text) emit(s string) {
	if t.progress || t.opt.Progress && !t.held {
		s = "\r\x1b[K" + s
		t.progress = false
	}
	if t.opt.Progress && !t.held && len(t.play.Hosts) > 0 {
		width := 0
		if t.opt.Width != nil {
			width = t.opt.Width()
		}
		s += t.prog.line(time.Now(), width)
		t.progress = true
	}
	if s == "" || t.err != nil {
		return
	}
	if _, err := io.WriteString(t.w, s); err != nil {
		t.fail(err)
	}
}

// redraw draws the progress line again, with the running hosts' times
// as they are now.
func (t *Text) redraw() { t.emit("") }

func (t *Text) fail(err error) {
	if t.err == nil {
		t.err = fmt.Errorf("write output: %w", err)
	}
}

// continuationPrefix starts each later line of a message a host had a
// hand in: no line remedy writes itself starts so, so a host printing
// "\nok: [h2] => ..." cannot forge a result line.
const continuationPrefix = "    | "

// continued is msg with its later lines after continuationPrefix; a
// trailing newline is dropped, as the line ends there anyway.
func continued(msg string) string {
	return strings.ReplaceAll(strings.TrimRight(msg, "\n"), "\n", "\n"+continuationPrefix)
}

// writeIndented writes each line of s after prefix.
func writeIndented(b *strings.Builder, prefix, s string) {
	if s == "" {
		return
	}
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		b.WriteString(prefix + line + "\n")
	}
}
