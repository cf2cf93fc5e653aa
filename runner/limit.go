package runner

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"

	"remedy/lua/remote"
)

// DefaultMaxOutput is how much one command or file read may bring back
// unless --max-output says otherwise: far beyond any config or ruleset a
// module reads, and small enough that a host streaming without end
// leaves the controller's memory flat.
const DefaultMaxOutput Size = 8 << 20

// Size is a number of bytes, as --max-output takes it: a plain count or
// a count with a unit, binary as Ansible's human_to_bytes reads them (K,
// KB and KiB are all 1024 bytes). It satisfies pflag.Value.
type Size int64

// ParseSize reads "8M", "8MB", "8MiB", "1.5G", "512k" or "1048576".
func ParseSize(s string) (Size, error) {
	num := strings.TrimRightFunc(s, func(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' })
	unit := strings.TrimSpace(s[len(num):])
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	shift, ok := sizeUnits[strings.ToLower(unit)]
	if err != nil || !ok || n <= 0 || math.IsInf(n, 0) || n*float64(int64(1)<<shift) >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, with K, M, G or T (binary, as 8M or 8MiB)", s)
	}
	return Size(max(1, int64(n*float64(int64(1)<<shift)))), nil
}

// sizeUnits are the suffixes ParseSize takes, as powers of two.
var sizeUnits = map[string]uint{
	"": 0, "b": 0,
	"k": 10, "kb": 10, "kib": 10,
	"m": 20, "mb": 20, "mib": 20,
	"g": 30, "gb": 30, "gib": 30,
	"t": 40, "tb": 40, "tib": 40,
}

// String writes the size in the largest unit that divides it: "8MiB".
func (s Size) String() string {
	for _, u := range []struct {
		name  string
		shift uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if s >= 1<<u.shift && s%(1<<u.shift) == 0 {
			return strconv.FormatInt(int64(s>>u.shift), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// Set parses a flag value.
func (s *Size) Set(v string) error {
	n, err := ParseSize(v)
	if err != nil {
		return err
	}
	*s = n
	return nil
}

// Type names the flag's value in help text.
func (s *Size) Type() string { return "SIZE" }

// OutputLimitError says a host sent more than --max-output for one
// command or file. Reading stopped there: a command was stopped as a
// timed-out one is, a file read was abandoned.
type OutputLimitError struct {
	Limit Size
	File  bool // a file read, not a command's output
}

func (e *OutputLimitError) Error() string {
	if e.File {
		return fmt.Sprintf("larger than %s (raise the limit with --max-output): reading stopped there", e.Limit)
	}
	return fmt.Sprintf("more than %s of output (raise the limit with --max-output): the command was stopped", e.Limit)
}

// Is lets package lua, which cannot import runner, see the limit was hit.
func (e *OutputLimitError) Is(target error) bool { return target == remote.ErrOutputLimit }

// errOverBudget ends the copy of a session's output once the budget is
// spent: the channel is read no further, so the host's writes block
// until the command is killed.
var errOverBudget = errors.New("output budget spent")

// outputBudget is what one command's stdout and stderr may bring back
// between them. over is closed once a write would pass it.
type outputBudget struct {
	mu   sync.Mutex
	left int64
	over chan struct{}
}

func newOutputBudget(limit Size) *outputBudget {
	return &outputBudget{left: int64(limit), over: make(chan struct{})}
}

// spent reports whether a write passed the budget.
func (b *outputBudget) spent() bool {
	select {
	case <-b.over:
		return true
	default:
		return false
	}
}

// take keeps as much of p as the budget allows and says how much that is;
// it closes over the first time it keeps less than all of p.
func (b *outputBudget) take(p []byte) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := int64(len(p))
	if n <= b.left {
		b.left -= n
		return len(p)
	}
	kept := b.left
	b.left = 0
	if !b.spent() {
		close(b.over)
	}
	return int(kept)
}

// budgetWriter writes to w what its budget allows, then fails.
type budgetWriter struct {
	b *outputBudget
	w io.Writer
}

// ReadFrom is what io.Copy uses to fill bw from a session's output.
func (bw budgetWriter) ReadFrom(r io.Reader) (int64, error) { return copySmall(bw, r) }

func (bw budgetWriter) Write(p []byte) (int, error) {
	n := bw.b.take(p)
	if _, err := bw.w.Write(p[:n]); err != nil {
		return 0, err
	}
	if n < len(p) {
		return n, errOverBudget
	}
	return n, nil
}

// copySmall copies r to w through a 4 KiB buffer, for a session's stdout
// and stderr. io.Copy's own buffer is 32 KiB, one for each stream of every
// session in flight, most of whose output is a few hundred bytes: 64 KiB a
// host, a tenth of the controller's memory for a host at 100 hosts.
func copySmall(w io.Writer, r io.Reader) (int64, error) {
	// The struct hides w's ReadFrom, which calls copySmall.
	return io.CopyBuffer(struct{ io.Writer }{w}, r, make([]byte, 4<<10))
}
