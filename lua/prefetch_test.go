package lua

import (
	"context"
	"testing"

	"remedy/lua/shell"
)

// The batch protocol, through a real shell: each result comes back whole,
// whatever its output looks like.
func TestPrefetchScriptRoundTrip(t *testing.T) {
	lines := []string{
		shell.Join("printf", "no newline"),
		shell.Join("sh", "-c", `printf '0 0 0\n==nft\n'; echo to stderr >&2; exit 3`),
		shell.Join("true"),
		shell.Join("printf", `it's "quoted"\n\n`),
	}
	want := []Output{
		{Stdout: []byte("no newline")},
		{Stdout: []byte("0 0 0\n==nft\n"), Stderr: []byte("to stderr\n"), ExitCode: 3},
		{},
		{Stdout: []byte("it's \"quoted\"\n\n")},
	}
	e := &Env{host: newLocalHost(t), ctx: context.Background(), task: &taskRecord{}}
	batch, err := e.run(shell.Join(append([]string{"sh", "-c", prefetchScript, "sh"}, lines...)...), nil)
	if err != nil || batch.ExitCode != 0 {
		t.Fatalf("batch: %v, exit %d: %s", err, batch.ExitCode, batch.Stderr)
	}
	got, err := splitPrefetch(batch.Stdout, len(lines))
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if string(got[i].Stdout) != string(want[i].Stdout) || string(got[i].Stderr) != string(want[i].Stderr) || got[i].ExitCode != want[i].ExitCode {
			t.Errorf("line %d: got %q %q rc=%d, want %q %q rc=%d", i, got[i].Stdout, got[i].Stderr, got[i].ExitCode,
				want[i].Stdout, want[i].Stderr, want[i].ExitCode)
		}
	}
}

func TestSplitPrefetchRefusesBrokenOutput(t *testing.T) {
	for _, in := range []string{"", "0 5 0\nabc", "x 0 0\n", "0 0\n", "0 -1 0\n", "0 0 0\n0 1"} {
		if _, err := splitPrefetch([]byte(in), 2); err == nil {
			t.Errorf("splitPrefetch(%q) accepted broken output", in)
		}
	}
}

// FuzzSplitPrefetch: any output either splits into exactly n results or
// is refused, never a panic.
func FuzzSplitPrefetch(f *testing.F) {
	f.Add([]byte("0 3 0\nabc1 0 2\nxy"), 2)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > 8 {
			return
		}
		outs, err := splitPrefetch(b, n)
		if err == nil && len(outs) != n {
			t.Fatalf("%d results, want %d", len(outs), n)
		}
		total := 0
		for _, o := range outs {
			total += len(o.Stdout) + len(o.Stderr)
		}
		if total > len(b) {
			t.Fatalf("results hold %d bytes of a %d-byte output", total, len(b))
		}
	})
}
