package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// WriteFailures writes what --summary-only keeps of a run besides its
// recap: every failed and unreachable result, with its message, under
// the banner of its task, check or handler, and a HOST [name] banner for
// a host that stopped for a reason no such result shows. Ignored
// failures are left out, as they do not fail the run. Lines are the text
// stream's own ("fatal: [h2]: FAILED! => ..."), so a grep for fatal:
// finds the same lines in both. A run without failures writes nothing.
//
// Results are grouped by banner, in the order each first failed, and by
// host name within it: at 500 hosts one failing check is one banner over
// its hosts, not 500 banners.
func WriteFailures(w io.Writer, r recap.Recap, color bool) error {
	r = visibleRecap(r)
	t := &Text{p: palette(color), opt: TextOptions{Color: color}}
	var order []string
	lines := map[string]*strings.Builder{}
	add := func(title, line string) {
		if lines[title] == nil {
			order = append(order, title)
			lines[title] = &strings.Builder{}
		}
		lines[title].WriteString(line)
	}
	for _, h := range sortedHosts(r.Hosts) {
		explained := false
		for _, res := range h.Results {
			if res.Status == remote.StatusFailed && !res.Ignored || res.Status == remote.StatusUnreachable {
				add(resultBanner(res), t.resultLine(res))
				explained = true
			}
		}
		if h.Err != nil && !explained && !errors.Is(h.Err, context.Canceled) {
			add("HOST ["+h.Host+"]", t.hostErrorLine(h))
		}
	}
	if len(order) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("\n" + banner("FAILURES") + "\n")
	for _, title := range order {
		b.WriteString("\n" + banner(title) + "\n" + lines[title].String())
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write failures: %w", err)
	}
	return nil
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
