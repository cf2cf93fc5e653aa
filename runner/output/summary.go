package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// WriteFailures writes what --summary-only keeps of a run besides its
// recap: every failed and unreachable result, with its message, under
// the banner of its task, check or handler, and under a HOST [name]
// banner the error of a host that stopped for a reason no such result
// shows. Ignored failures are left out, as they do not fail the run.
// Lines are the text stream's own ("fatal: [h2]: FAILED! => ..."), so a
// grep for fatal: finds the same lines in both. A run without failures
// writes nothing.
//
// At 700 hosts one failing check is 700 lines that say the same thing,
// so failures that are the same once the host's name is taken out of the
// message are one line naming how many hosts and which
// ("fatal: 693 hosts [h001, h002, h003, h004, h005 and 688 more]: FAILED! => ..."),
// with <host> where a message named its host (and <address> where an
// unreachable host's message named its address).
// Banners come in the order each first failed, hosts by name, and the
// lines under a banner in the order each first appeared.
func WriteFailures(w io.Writer, r recap.Recap, color bool) error {
	groups := groupFailures(failuresOf(visibleRecap(r), color))
	if len(groups) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("\n" + banner("FAILURES") + "\n")
	title := ""
	for _, g := range groups {
		names := hostNames(g.hosts)
		if t := strings.ReplaceAll(g.title, hostMark, names); t != title {
			title = t
			b.WriteString("\n" + banner(title) + "\n")
		}
		if len(g.hosts) == 1 {
			b.WriteString(g.line)
			continue
		}
		line := strings.Replace(g.same, "["+hostMark+"]", fmt.Sprintf("%d hosts [%s]", len(g.hosts), names), 1)
		b.WriteString(strings.NewReplacer(hostMark, "<host>", addrMark, "<address>").Replace(line))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write failures: %w", err)
	}
	return nil
}

// failure is one fatal line of the summary.
type failure struct {
	title string // its banner; hostMark stands for the host's name
	host  string
	line  string // as the stream prints it
	same  string // line with hostMark for the host's name, in the message too
}

// hostMark stands for a host's name in a line, addrMark for an address
// in the message of a host that could not be reached: Visible escapes
// every control, so no name or message holds them.
const (
	hostMark = "\x00"
	addrMark = "\x01"
)

// ipLiteral is an IPv4 address or a bracketed IPv6 one, as dial errors
// write a host's address ("connect to 198.18.0.10:22", "[fd00::1]:22").
var ipLiteral = regexp.MustCompile(`\[[0-9A-Fa-f:.]+(%[^\]]*)?\]|\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b`)

// sameFailure is msg as the failures of many hosts compare it: without
// the host's name, and for a host that could not be reached without its
// address, which is the host's own in every such message (its port
// stays: hosts still on 22 and hosts on 33001 failed differently).
func sameFailure(msg, host string, unreachable bool) string {
	msg = withoutHost(msg, host)
	if unreachable {
		msg = ipLiteral.ReplaceAllString(msg, addrMark)
	}
	return msg
}

// failuresOf are r's failed and unreachable results, and the errors of
// hosts that stopped for a reason no such result shows, host by host.
func failuresOf(r recap.Recap, color bool) []failure {
	t := &Text{p: palette(color), opt: TextOptions{Color: color}}
	var out []failure
	for _, h := range sortedHosts(r.Hosts) {
		explained := false
		for _, res := range h.Results {
			if res.Status == remote.StatusFailed && !res.Ignored || res.Status == remote.StatusUnreachable {
				same := res
				same.Host, same.Msg = hostMark, sameFailure(res.Msg, res.Host, res.Status == remote.StatusUnreachable)
				out = append(out, failure{title: resultBanner(res), host: res.Host, line: t.resultLine(res), same: t.resultLine(same)})
				explained = true
			}
		}
		if h.Err != nil && !explained && !errors.Is(h.Err, context.Canceled) {
			same := t.stoppedLine(hostMark, sameFailure(Visible(h.Err.Error()), h.Host, h.Unreachable), h.Unreachable)
			out = append(out, failure{title: "HOST [" + hostMark + "]", host: h.Host, line: t.hostErrorLine(h), same: same})
		}
	}
	return out
}

// failureGroup is the failures that are the same but for their host.
type failureGroup struct {
	title, line, same string // of the first failure
	hosts             []string
}

// groupFailures puts together the failures with the same banner and the
// same line but for the host. Groups come banner by banner, in the order
// each banner first appears, and under a banner in the order each group
// first appears; a group's hosts in the order given.
func groupFailures(fs []failure) []failureGroup {
	var titles []string
	byTitle := map[string][]*failureGroup{}
	index := map[[2]string]*failureGroup{}
	for _, f := range fs {
		key := [2]string{f.title, f.same}
		g := index[key]
		if g == nil {
			if byTitle[f.title] == nil {
				titles = append(titles, f.title)
			}
			g = &failureGroup{title: f.title, line: f.line, same: f.same}
			index[key] = g
			byTitle[f.title] = append(byTitle[f.title], g)
		}
		g.hosts = append(g.hosts, f.host)
	}
	var out []failureGroup
	for _, title := range titles {
		for _, g := range byTitle[title] {
			out = append(out, *g)
		}
	}
	return out
}

// namesShown is how many of a group's hosts its line names: enough to
// start looking, few enough to keep the line a line.
const namesShown = 5

// hostNames lists hosts, the first namesShown of them by name.
func hostNames(hosts []string) string {
	if len(hosts) <= namesShown {
		return strings.Join(hosts, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(hosts[:namesShown], ", "), len(hosts)-namesShown)
}

// withoutHost is msg with hostMark for each whole-word mention of host
// (not the "web1" in "web10"): "web1: dial ..." and "web2: dial ..."
// are the same failure.
func withoutHost(msg, host string) string {
	if host == "" {
		return msg
	}
	var b strings.Builder
	for {
		i := strings.Index(msg, host)
		if i < 0 {
			return b.String() + msg
		}
		end := i + len(host)
		if nameRuneBefore(msg[:i]) || nameRuneAfter(msg[end:]) {
			b.WriteString(msg[:end])
		} else {
			b.WriteString(msg[:i] + hostMark)
		}
		msg = msg[end:]
	}
}

func nameRuneBefore(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isNameRune(r)
}

func nameRuneAfter(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isNameRune(r)
}

// isNameRune: a rune that would make a mention part of a longer name.
func isNameRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_'
}

// WriteSummary is the text --summary-only prints at the end, for
// remedy report merge: whether the run was interrupted, the hosts not
// run, the failures, and the PLAY RECAP. It is the text stream's own end,
// so the two cannot drift apart.
func WriteSummary(w io.Writer, r recap.Recap, color bool) error {
	t := NewText(w, TextOptions{Color: color, SummaryOnly: true})
	t.End(r)
	return t.Err()
}
