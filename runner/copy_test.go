package runner

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"testing"
)

// onlyReader hides a reader's WriteTo, as an SSH channel has none, so
// io.Copy must use the writer's ReadFrom or a buffer of its own.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// A session's stdout and stderr are copied through a small buffer, not
// io.Copy's 32 KiB one each, and arrive whole: output longer than the
// buffer, the pgid announcement taken off stderr, the budget applied.
func TestSessionOutputCopiesThroughASmallBuffer(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 1000) // 16,000 bytes
	var stdout, stderr bytes.Buffer
	budget := newOutputBudget(1 << 20)
	errw := &pgidWriter{out: budgetWriter{budget, &stderr}}
	if _, err := io.Copy(budgetWriter{budget, &stdout}, onlyReader{strings.NewReader(long)}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(errw, onlyReader{strings.NewReader(pgidMarker + "42\n" + long)}); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != long || stderr.String() != long || errw.group() != 42 {
		t.Fatalf("copied %d bytes of stdout and %d of stderr (pgid %d); want %d each and pgid 42",
			stdout.Len(), stderr.Len(), errw.group(), len(long))
	}

	small := budgetWriter{newOutputBudget(1 << 20), io.Discard}
	for name, w := range map[string]io.Writer{"stdout": small, "stderr": &pgidWriter{out: small}} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 10 {
			io.Copy(w, onlyReader{strings.NewReader("a few hundred bytes, as most reads answer\n")})
		}
		runtime.ReadMemStats(&after)
		if per := (after.TotalAlloc - before.TotalAlloc) / 10; per > 8<<10 {
			t.Errorf("%s: copying a short output allocates %d bytes, want at most 8 KiB", name, per)
		}
	}
}
