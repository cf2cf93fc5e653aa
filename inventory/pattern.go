package inventory

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Hosts returns the hosts an Ansible host pattern selects, in inventory
// order: "all" or "*", host and group names, "a:b" or "a,b" (union), "a:&b"
// (intersection), "a:!b" (exclusion), shell wildcards, "~regex", and
// subscripts "g[0]", "g[-1]", "g[1:3]". A pattern matching nothing selects
// no host; only a malformed pattern is an error.
func (inv *Inventory) Hosts(pattern string) ([]*Host, error) {
	return inv.evaluate(splitPattern(pattern))
}

// Limit keeps the hosts of hosts that pattern also selects: --limit on top
// of a playbook's hosts. "@file" reads patterns from a file, one a line (the
// retry file).
func (inv *Inventory) Limit(hosts []*Host, pattern string) ([]*Host, error) {
	var patterns []string
	for _, p := range splitPattern(pattern) {
		if !strings.HasPrefix(p, "@") {
			patterns = append(patterns, p)
			continue
		}
		lines, err := readLimitFile(p[1:])
		if err != nil {
			return nil, err
		}
		patterns = append(patterns, lines...)
	}
	keep, err := inv.evaluate(patterns)
	if err != nil {
		return nil, err
	}
	in := make(map[*Host]bool, len(keep))
	for _, h := range keep {
		in[h] = true
	}
	var out []*Host
	for _, h := range hosts {
		if in[h] {
			out = append(out, h)
		}
	}
	return out, nil
}

func readLimitFile(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("limit file: %w", err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

// patternWords finds the words of a ':'-separated pattern, keeping
// bracketed subscripts whole.
var patternWords = regexp.MustCompile(`(?:[^\s:\[\]]|\[[^\]]*\])+`)

// splitPattern splits a pattern on ',' or, when there is none and the
// pattern is not a host address ("host:port"), on ':'.
func splitPattern(pattern string) []string {
	var parts []string
	switch {
	case strings.Contains(pattern, ","):
		parts = strings.Split(pattern, ",")
	default:
		if _, _, ok := parseAddress(pattern); ok {
			parts = []string{pattern}
		} else {
			parts = patternWords.FindAllString(pattern, -1)
		}
	}
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// evaluate applies patterns as Ansible does: every plain pattern first
// (union), then each "&" (intersection), then each "!" (exclusion); with only
// & and ! patterns, the start is all.
func (inv *Inventory) evaluate(patterns []string) ([]*Host, error) {
	var plain, and, not []string
	for _, p := range patterns {
		switch p[0] {
		case '&':
			and = append(and, p)
		case '!':
			not = append(not, p)
		default:
			plain = append(plain, p)
		}
	}
	if len(plain) == 0 {
		plain = []string{groupAll}
	}
	var hosts []*Host
	seen := map[*Host]bool{}
	for _, p := range plain {
		matched, err := inv.matchOne(p)
		if err != nil {
			return nil, err
		}
		for _, h := range matched {
			if !seen[h] {
				seen[h] = true
				hosts = append(hosts, h)
			}
		}
	}
	for _, p := range append(and, not...) {
		matched, err := inv.matchOne(p)
		if err != nil {
			return nil, err
		}
		hosts = filterHosts(hosts, matched, p[0] == '&')
	}
	return hosts, nil
}

func filterHosts(hosts, matched []*Host, keepMatched bool) []*Host {
	in := make(map[*Host]bool, len(matched))
	for _, h := range matched {
		in[h] = true
	}
	var out []*Host
	for _, h := range hosts {
		if in[h] == keepMatched {
			out = append(out, h)
		}
	}
	return out
}

// subscripted is "pattern[3]", "pattern[-1]" or "pattern[1:3]"/"pattern[1:]".
var subscripted = regexp.MustCompile(`^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$`)

// matchOne selects the hosts of one pattern, its & or ! stripped.
func (inv *Inventory) matchOne(pattern string) ([]*Host, error) {
	if h, ok := inv.hosts[pattern]; ok {
		return []*Host{h}, nil
	}
	pattern = strings.TrimLeft(pattern[:1], "&!") + pattern[1:]
	if pattern == "" {
		return nil, nil
	}
	expr, m := pattern, []string(nil)
	if pattern[0] != '~' {
		if m = subscripted.FindStringSubmatch(pattern); m != nil {
			expr = m[1]
		}
	}
	hosts, err := inv.enumerate(expr)
	if err != nil || m == nil || len(hosts) == 0 {
		return hosts, err
	}
	return applySubscript(hosts, m, pattern)
}

// applySubscript picks from hosts like Ansible: [i] is one host (negative
// counts from the end), [a:b] is inclusive, [a:] runs to the end.
func applySubscript(hosts []*Host, m []string, pattern string) ([]*Host, error) {
	if m[2] != "" {
		i, err := strconv.Atoi(m[2])
		if i < 0 {
			i += len(hosts)
		}
		if err != nil || i < 0 || i >= len(hosts) {
			return nil, fmt.Errorf("no hosts matched the subscripted pattern %q", pattern)
		}
		return hosts[i : i+1], nil
	}
	start, err := strconv.Atoi(m[3])
	if err != nil {
		return nil, fmt.Errorf("pattern %q: bad subscript", pattern)
	}
	end := -1
	if m[5] != "" {
		end, _ = strconv.Atoi(m[5])
	}
	if end == 0 {
		// Ansible reads an end of 0 as "no range": the single host at start.
		if start >= len(hosts) {
			return nil, fmt.Errorf("no hosts matched the subscripted pattern %q", pattern)
		}
		return hosts[start : start+1], nil
	}
	if end == -1 {
		end = len(hosts) - 1
	}
	end = min(end+1, len(hosts))
	if start >= end {
		return nil, nil
	}
	return hosts[start:end], nil
}

// enumerate selects the hosts of every group whose name matches, and of
// every host whose name matches when no group did or the pattern is a
// wildcard or regex.
func (inv *Inventory) enumerate(pattern string) ([]*Host, error) {
	re, err := compilePattern(pattern)
	if err != nil {
		return nil, err
	}
	var out []*Host
	matchedGroup := false
	for _, g := range inv.groupOrder {
		if re.MatchString(g.name) {
			matchedGroup = true
			out = append(out, g.allHosts()...)
		}
	}
	if !matchedGroup || pattern[0] == '~' || strings.ContainsAny(pattern, ".?*[") {
		for _, h := range inv.hostOrder {
			if re.MatchString(h.Name) {
				out = append(out, h)
			}
		}
	}
	return out, nil
}

// compilePattern turns a shell wildcard (fnmatch) or a "~regex" (matched
// from the start of the name, as Python's re.match) into a regexp.
func compilePattern(pattern string) (*regexp.Regexp, error) {
	expr := `(?s)^(?:` + globToRegexp(pattern) + `)$`
	if pattern[0] == '~' {
		expr = `^(?:` + pattern[1:] + `)`
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid host pattern %q: %w", pattern, err)
	}
	return re, nil
}

// globToRegexp is Python's fnmatch.translate: * ? [seq] [!seq].
func globToRegexp(glob string) string {
	var b strings.Builder
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			end := strings.IndexByte(glob[i+1:], ']')
			if end == 0 && i+2 < len(glob) {
				end = strings.IndexByte(glob[i+2:], ']') + 1
			}
			if end < 1 {
				b.WriteString(`\[`)
				continue
			}
			set := glob[i+1 : i+1+end]
			i += end + 1
			b.WriteString("[")
			if set[0] == '!' {
				b.WriteString("^")
				set = set[1:]
			}
			b.WriteString(strings.ReplaceAll(set, `\`, `\\`))
			b.WriteString("]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return b.String()
}

// allHosts lists the hosts of g and its descendants, breadth first, each
// once.
func (g *group) allHosts() []*Host {
	var out []*Host
	seenHost := map[*Host]bool{}
	seenGroup := map[*group]bool{g: true}
	level := []*group{g}
	for len(level) > 0 {
		var next []*group
		for _, x := range level {
			for _, h := range x.hosts {
				if !seenHost[h] {
					seenHost[h] = true
					out = append(out, h)
				}
			}
			for _, c := range x.children {
				if !seenGroup[c] {
					seenGroup[c] = true
					next = append(next, c)
				}
			}
		}
		level = next
	}
	return out
}
