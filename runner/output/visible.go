package output

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// Visible shows every character a terminal would act on rather than
// print as an escape: C0 controls and DEL as \x1b, C1 controls and
// Unicode's bidirectional controls and line separators as \u009b, and
// bytes that are not UTF-8 as \xff. Newline and tab stay: they are the
// layout of diffs and command output. Whatever a host sends (command
// output, file contents, error messages) reaches a person only through
// it, so a host cannot clear the screen, move the cursor, set the
// window title, or reorder what a line says.
func Visible(s string) string {
	var b strings.Builder
	written := 0 // s[:written] is in b
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		esc := ""
		switch {
		case r == utf8.RuneError && size == 1:
			esc = fmt.Sprintf(`\x%02x`, s[i])
		case acts(r) && r < utf8.RuneSelf:
			esc = fmt.Sprintf(`\x%02x`, r)
		case acts(r):
			esc = fmt.Sprintf(`\u%04x`, r)
		}
		if esc != "" {
			b.WriteString(s[written:i])
			b.WriteString(esc)
			written = i + size
		}
		i += size
	}
	if written == 0 {
		return s
	}
	b.WriteString(s[written:])
	return b.String()
}

// acts: a terminal acts on r rather than print it.
func acts(r rune) bool {
	switch {
	case r == '\n', r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	}
	return isBidiOrSeparator(r)
}

// isBidiOrSeparator: Unicode's bidirectional formatting characters, which
// reorder how the rest of a line is shown ("Trojan Source"), and the line
// and paragraph separators.
func isBidiOrSeparator(r rune) bool {
	switch {
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// visibleResult is res with every text in it shown by Visible.
func visibleResult(res remote.Result) remote.Result {
	res.Host, res.Name, res.Msg, res.Diff, res.Severity = Visible(res.Host), Visible(res.Name), Visible(res.Msg), Visible(res.Diff), Visible(res.Severity)
	res.Planned = visibleAll(res.Planned)
	return res
}

// visibleRecap is r with every text in it shown by Visible, for the
// formats people read; the run's own r is left as it is.
func visibleRecap(r recap.Recap) recap.Recap {
	r.Play.Name, r.Play.Path = Visible(r.Play.Name), Visible(r.Play.Path)
	r.Play.Provenance = visibleProvenance(r.Play.Provenance)
	r.NotRun = visibleAll(r.NotRun)
	hosts := make([]recap.HostReport, len(r.Hosts))
	for i, h := range r.Hosts {
		h.Host = Visible(h.Host)
		if h.Err != nil {
			h.Err = &visibleError{err: h.Err}
		}
		if h.Facts != nil {
			h.Facts = visibleFacts(*h.Facts)
		}
		results := make([]remote.Result, len(h.Results))
		for j, res := range h.Results {
			results[j] = visibleResult(res)
		}
		h.Results = results
		hosts[i] = h
	}
	r.Hosts = hosts
	return r
}

// visibleProvenance is p with the operator's inputs shown by Visible: a
// limit or an inventory path can hold anything a shell lets through.
func visibleProvenance(p recap.Provenance) recap.Provenance {
	p.CommandLine, p.Inventories = visibleAll(p.CommandLine), visibleAll(p.Inventories)
	for _, s := range []*string{&p.Version, &p.Commit, &p.Operator, &p.Limit, &p.ChangeID, &p.Shard} {
		*s = Visible(*s)
	}
	return p
}

// visibleFacts are f's texts, which a host's os-release and tools chose,
// shown by Visible.
func visibleFacts(f remote.Facts) *remote.Facts {
	for _, s := range []*string{&f.OSID, &f.OSVersion, &f.OSFamily, &f.Init, &f.SSHDVersion, &f.Firewall, &f.FirewallWhy, &f.SELinux, &f.User} {
		*s = Visible(*s)
	}
	return &f
}

func visibleAll(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Visible(s)
	}
	return out
}

// visibleError shows err's message by Visible and still is err to
// errors.Is and errors.As.
type visibleError struct{ err error }

func (e *visibleError) Error() string { return Visible(e.err.Error()) }
func (e *visibleError) Unwrap() error { return e.err }
