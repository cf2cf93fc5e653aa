package runner

import (
	"fmt"
	"strconv"
	"strings"
)

// Serial is a --serial batch size: a host count, or a percentage of all
// targeted hosts. The zero value means one batch of every host.
type Serial struct {
	N       int
	Percent bool
}

// ParseSerial reads "N" or "N%".
func ParseSerial(s string) (Serial, error) {
	if s == "" {
		return Serial{}, nil
	}
	num, pct := strings.CutSuffix(s, "%")
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 || (pct && n > 100) {
		return Serial{}, fmt.Errorf("--serial %q: want a host count like 5 or a percentage like 25%%", s)
	}
	return Serial{N: n, Percent: pct}, nil
}

// batches splits total hosts into rolling batch sizes. A percentage
// rounds down, as Ansible does, but a batch always has at least one host.
func (s Serial) batches(total int) []int {
	size := s.N
	if s.Percent {
		size = max(total*s.N/100, 1)
	}
	if size <= 0 || size > total {
		size = total
	}
	var out []int
	for left := total; left > 0; left -= size {
		out = append(out, min(size, left))
	}
	return out
}
