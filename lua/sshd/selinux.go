package sshd

import (
	"fmt"
	"strconv"
	"strings"
)

// PortLabel is one row of `semanage port -l`: an SELinux type given to a
// protocol's port ranges.
type PortLabel struct {
	Type   string
	Proto  string
	Ranges []PortRange
}

// PortRange is an inclusive range of ports; a single port has Lo == Hi.
type PortRange struct{ Lo, Hi int }

// SSHPortType is the SELinux type sshd may bind to.
const SSHPortType = "ssh_port_t"

// PortLabelsCommand lists every port label, default and local.
var PortLabelsCommand = []string{"semanage", "port", "-l"}

// ParsePortLabels reads `semanage port -l`: a heading, then
// "type  proto  80, 81, 8000-8010" rows. Rows it cannot read are errors
// naming the line: a wrong label table would decide between -a and -m.
func ParsePortLabels(out string) ([]PortLabel, error) {
	var labels []PortLabel
	for i, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || strings.HasPrefix(line, "SELinux Port Type") {
			continue
		}
		l := PortLabel{Type: f[0], Proto: f[1]}
		for _, r := range strings.Split(strings.Join(f[2:], ""), ",") {
			pr, err := parseRange(r)
			if err != nil {
				return nil, fmt.Errorf("semanage output line %d: %w", i+1, err)
			}
			l.Ranges = append(l.Ranges, pr)
		}
		labels = append(labels, l)
	}
	return labels, nil
}

func parseRange(s string) (PortRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || l > h {
		return PortRange{}, fmt.Errorf("bad port range %q", s)
	}
	return PortRange{l, h}, nil
}

// LabelCommand returns the semanage argv that lets sshd bind TCP port, or
// nil when the port already carries ssh_port_t. semanage keeps a record
// per port or range: a port that has a record of its own with another
// type must be modified (-m; adding it fails as "already defined"), and
// a port inside another type's range only is added (-a: it gets a record
// of its own, which wins over the range; modifying it fails as "not
// defined"). Debian's 922 is such a port, in hi_reserved_port_t's
// 512-1023; 8080 is a record of http_cache_port_t's.
func LabelCommand(labels []PortLabel, port int) []string {
	record := false
	for _, l := range labels {
		if l.Proto != "tcp" {
			continue
		}
		if l.covers(port) && l.Type == SSHPortType {
			return nil
		}
		record = record || l.has(port)
	}
	op := "-a"
	if record {
		op = "-m"
	}
	return []string{"semanage", "port", op, "-t", SSHPortType, "-p", "tcp", strconv.Itoa(port)}
}

func (l PortLabel) covers(port int) bool {
	for _, r := range l.Ranges {
		if port >= r.Lo && port <= r.Hi {
			return true
		}
	}
	return false
}

// has reports whether port has a record of its own in l.
func (l PortLabel) has(port int) bool {
	for _, r := range l.Ranges {
		if r.Lo == port && r.Hi == port {
			return true
		}
	}
	return false
}
