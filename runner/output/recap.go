package output

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"remedy/runner/recap"
)

// bannerWidth is the width of Ansible's banners when it does not write to a
// terminal: the title, a space, and stars up to 80 columns.
const bannerWidth = 80

// banner returns an Ansible banner line such as "TASK [name] *****...".
func banner(title string) string {
	stars := bannerWidth - 1 - len([]rune(title))
	if stars < 3 {
		stars = 3
	}
	return title + " " + strings.Repeat("*", stars)
}

// WriteRecap writes the PLAY RECAP exactly as ansible-playbook prints it:
// a blank line, the banner, one line per host sorted by name, a blank line.
// Hosts that never started (NotRun) have no line, as in Ansible.
func WriteRecap(w io.Writer, r recap.Recap, color bool) error {
	p := palette(color)
	var b strings.Builder
	b.WriteString("\n" + banner("PLAY RECAP") + "\n")
	for _, h := range sortedHosts(r.Hosts) {
		b.WriteString(recapLine(p, h.Host, h.Stats) + "\n")
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write recap: %w", err)
	}
	return nil
}

// recapLine is one host's line; the padding matches Ansible's "%-26s" for
// the host and "%-4s" for each count, trailing spaces included.
func recapLine(p palette, host string, s recap.Stats) string {
	name := fmt.Sprintf("%-26s", host)
	name = p.paint(hostColor(s), host) + name[len(host):]
	return fmt.Sprintf("%s : %s %s %s %s %s %s %s", name,
		count(p, "ok", s.OK, colorOK),
		count(p, "changed", s.Changed, colorChanged),
		count(p, "unreachable", s.Unreachable, colorUnreachable),
		count(p, "failed", s.Failed, colorError),
		count(p, "skipped", s.Skipped, colorSkip),
		count(p, "rescued", s.Rescued, colorOK),
		count(p, "ignored", s.Ignored, colorWarn))
}

// hostColor is red for a host with failures or unreachable, yellow when
// something changed, green otherwise, as Ansible colours the recap.
func hostColor(s recap.Stats) string {
	switch {
	case s.Failed > 0 || s.Unreachable > 0:
		return colorError
	case s.Changed > 0:
		return colorChanged
	}
	return colorOK
}

// count renders "lead=n" padded to four digits; only non-zero counts are
// coloured.
func count(p palette, lead string, n int, code string) string {
	s := fmt.Sprintf("%s=%-4d", lead, n)
	if n == 0 {
		return s
	}
	return p.paint(code, s)
}

// sortedHosts returns the hosts sorted by name without touching the
// caller's slice: every renderer lists hosts in the same order.
func sortedHosts(hosts []recap.HostReport) []recap.HostReport {
	out := append([]recap.HostReport(nil), hosts...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}
