package inventory

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Host addresses as Ansible's parse_address reads them: a host name, an
// IPv4 or IPv6 address, any of them with [x:y] ranges, and an optional port.
var (
	bracketedHostPort = regexp.MustCompile(`^\[(.+)\]:([0-9]+)$`)
	hostPort          = regexp.MustCompile(`^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$`)

	numericRange = `\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`
	hexRange     = `\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`
	alnumRange   = `\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`

	ipv4Part = `(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|` + numericRange + `)`
	ipv6Part = `(?:[0-9a-f]{1,4}|` + hexRange + `)`
	label    = `(?:[\p{L}\p{N}_]|` + alnumRange + `)(?:[\p{L}\p{N}_-]|` + alnumRange + `)*`

	ipv4Address = regexp.MustCompile(`(?i)^(?:` + ipv4Part + `\.){3}` + ipv4Part + `$`)
	ipv6Address = regexp.MustCompile(`(?i)^(?:` + strings.ReplaceAll(strings.Join([]string{
		`(?:{0}:){7}{0}`,
		`(?:{0}:){1,6}:`,
		`(?:{0}:)(?::{0}){1,6}`,
		`(?:{0}:){2}(?::{0}){1,5}`,
		`(?:{0}:){3}(?::{0}){1,4}`,
		`(?:{0}:){4}(?::{0}){1,3}`,
		`(?:{0}:){5}(?::{0}){1,2}`,
		`(?:{0}:){6}(?::{0})`,
		`:(?::{0}){1,6}`,
		`{0}?::`,
		`(?:0:){6}(?:{0}\.){3}{0}`,
		`::(?:ffff:)?(?:{0}\.){3}{0}`,
		`(?:0:){5}ffff:(?:{0}\.){3}{0}`,
	}, "|"), "{0}", ipv6Part) + `)$`)
	hostnameLabel = regexp.MustCompile(`(?i)^` + label + `(?:\.` + label + `)*$`)
)

// parseAddress splits "host:port", "[v6]:port" or a bare host and checks the
// host is a name or address (ranges allowed); ok is false when it is not.
func parseAddress(s string) (host string, port int, ok bool) {
	if m := bracketedHostPort.FindStringSubmatch(s); m != nil {
		s, port = m[1], atoiPort(m[2])
	} else if m := hostPort.FindStringSubmatch(s); m != nil {
		s, port = m[1], atoiPort(m[2])
	}
	if ipv4Address.MatchString(s) || ipv6Address.MatchString(s) || validHostname(s) {
		return s, port, true
	}
	return "", 0, false
}

// validHostname is the hostname rule: labels of word characters, ranges and
// dashes, none ending in '-' or '_'.
func validHostname(s string) bool {
	if !hostnameLabel.MatchString(s) {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if strings.HasSuffix(l, "-") || strings.HasSuffix(l, "_") {
			return false
		}
	}
	return true
}

func atoiPort(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// expandHostPattern turns an inventory host entry ("web[01:03]:2222") into
// its host names and port (0 when none), as Ansible's _expand_hostpattern.
func expandHostPattern(entry string) ([]string, int, error) {
	pattern, port, ok := parseAddress(entry)
	if !ok {
		pattern, port = entry, 0
	}
	if port < 0 {
		return nil, 0, fmt.Errorf("port out of range in %q", entry)
	}
	if !strings.Contains(pattern, "[") {
		return []string{pattern}, port, nil
	}
	names, err := expandRange(pattern)
	return names, port, err
}

const asciiLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// maxRangeHosts bounds one range expansion so a typo cannot exhaust memory;
// the fuzz test lowers it.
var maxRangeHosts = 100000

// expandRange expands the first [begin:end(:step)] of s, recursively for the
// rest: numeric with zero padding, or letters.
func expandRange(s string) ([]string, error) {
	open := strings.Index(s, "[")
	end := strings.Index(s, "]")
	if end < open {
		return nil, fmt.Errorf("unclosed range in %q", s)
	}
	head, spec, tail := s[:open], s[open+1:end], s[end+1:]
	items, err := rangeItems(spec)
	if err != nil {
		return nil, fmt.Errorf("bad range [%s] in %q: %w", spec, s, err)
	}
	var out []string
	for _, it := range items {
		name := head + it + tail
		if !strings.Contains(name, "[") {
			out = append(out, name)
			continue
		}
		more, err := expandRange(name)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
		if len(out) > maxRangeHosts {
			return nil, fmt.Errorf("range in %q gives more than %d hosts", s, maxRangeHosts)
		}
	}
	return out, nil
}

// rangeItems lists the values of one "begin:end(:step)" range.
func rangeItems(spec string) ([]string, error) {
	bounds := strings.Split(spec, ":")
	if len(bounds) != 2 && len(bounds) != 3 {
		return nil, fmt.Errorf("range must be begin:end or begin:end:step")
	}
	beg, end, step := bounds[0], bounds[1], 1
	if len(bounds) == 3 {
		n, err := strconv.Atoi(bounds[2])
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("step %q is not a positive integer", bounds[2])
		}
		step = n
	}
	if beg == "" {
		beg = "0"
	}
	if end == "" {
		return nil, fmt.Errorf("range must specify its end")
	}
	ib, ie := strings.Index(asciiLetters, beg), strings.Index(asciiLetters, end)
	if len(beg) == 1 && len(end) == 1 && ib >= 0 && ie >= 0 {
		if ib > ie {
			return nil, fmt.Errorf("range must have begin <= end")
		}
		var out []string
		for i := ib; i <= ie; i += step {
			out = append(out, asciiLetters[i:i+1])
		}
		return out, nil
	}
	return numericItems(beg, end, step)
}

func numericItems(beg, end string, step int) ([]string, error) {
	width := 0
	if len(beg) > 1 && beg[0] == '0' {
		if len(beg) != len(end) {
			return nil, fmt.Errorf("zero-padded range needs begin and end of equal length")
		}
		width = len(beg)
	}
	b, err1 := strconv.Atoi(beg)
	e, err2 := strconv.Atoi(end)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("bounds must be two numbers or two letters")
	}
	if b > e {
		// Ansible silently expands this to no host at all.
		return nil, fmt.Errorf("range must have begin <= end")
	}
	if (e-b)/step+1 > maxRangeHosts {
		return nil, fmt.Errorf("range gives more than %d hosts", maxRangeHosts)
	}
	var out []string
	for i := b; i <= e; i += step {
		out = append(out, fmt.Sprintf("%0*d", width, i))
	}
	return out, nil
}
