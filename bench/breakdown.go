package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The lines of `remedy ... -vv` output that breakdown reads: a command's
// first line, and later the line with its exit code and duration.
var (
	commandLine = regexp.MustCompile(`^<([^>]+)> \$ (.*)$`)
	doneLine    = regexp.MustCompile(`^<([^>]+)> rc=-?\d+, (\S+)$`)
)

// keyLen is how much of a command's first line names it in the table.
const keyLen = 48

// cost is what one kind of remote command took over a whole run.
type cost struct {
	key   string
	count int
	total time.Duration
}

// breakdownCmd reads remedy's -vv output and prints, per kind of remote
// command, how many ran per host and how much of the hosts' summed
// command time they took, and the slowest host's commands: a host's
// commands run one after another, so that host bounds the wall time.
func breakdownCmd(in io.Reader, w io.Writer) error {
	costs, perHost, err := commandCosts(in)
	if err != nil {
		return err
	}
	hosts := len(perHost)
	if hosts == 0 {
		return fmt.Errorf("breakdown: no commands in the input: want remedy's -vv output")
	}
	var sum time.Duration
	var count int
	for _, c := range costs {
		sum += c.total
		count += c.count
	}
	slowest := slices.MaxFunc(perHost, func(a, b cost) int { return cmp.Compare(a.total, b.total) })
	fmt.Fprintf(w, "\n%d hosts, %.1f remote commands per host, %.2f s of command time per host;"+
		" slowest host %s: %d commands, %.2f s\n\n",
		hosts, float64(count)/float64(hosts), sum.Seconds()/float64(hosts), slowest.key, slowest.count, slowest.total.Seconds())
	fmt.Fprintln(w, "| command (first line) | per host | time per host | share |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, c := range costs {
		fmt.Fprintf(w, "| `%s` | %.1f | %.0f ms | %.0f%% |\n", strings.ReplaceAll(c.key, "|", `\|`),
			float64(c.count)/float64(hosts), float64(c.total.Milliseconds())/float64(hosts),
			100*c.total.Seconds()/sum.Seconds())
	}
	return nil
}

// commandCosts sums the commands of -vv output by their first line, most
// costly first, and by host (keyed by host name).
func commandCosts(in io.Reader) (byCommand, byHost []cost, err error) {
	pending := map[string]string{} // host -> key of its running command
	byKey := map[string]*cost{}
	hosts := map[string]*cost{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if m := commandLine.FindStringSubmatch(line); m != nil {
			pending[m[1]] = truncate(m[2], keyLen)
			if hosts[m[1]] == nil {
				hosts[m[1]] = &cost{key: m[1]}
			}
			continue
		}
		m := doneLine.FindStringSubmatch(line)
		if m == nil || pending[m[1]] == "" {
			continue
		}
		d, err := time.ParseDuration(m[2])
		if err != nil {
			return nil, nil, fmt.Errorf("breakdown: %q: %w", line, err)
		}
		key := pending[m[1]]
		delete(pending, m[1])
		if byKey[key] == nil {
			byKey[key] = &cost{key: key}
		}
		byKey[key].count++
		byKey[key].total += d
		hosts[m[1]].count++
		hosts[m[1]].total += d
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("breakdown: %w", err)
	}
	return costliest(byKey), costliest(hosts), nil
}

func costliest(m map[string]*cost) []cost {
	var costs []cost
	for _, c := range m {
		costs = append(costs, *c)
	}
	slices.SortFunc(costs, func(a, b cost) int {
		return cmp.Or(cmp.Compare(b.total, a.total), strings.Compare(a.key, b.key))
	})
	return costs
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
