package shell

import (
	"os/exec"
	"testing"

	"remedy/lua/remote"
)

// The batch protocol, through a real shell: each result comes back whole,
// whatever its output looks like (stderr loses its trailing newlines).
func TestBatchRoundTrip(t *testing.T) {
	lines := []string{
		Join("printf", "no newline"),
		Join("sh", "-c", `printf '0 0 0\n==nft\n\nremedy- 1\n'; echo to stderr >&2; exit 3`),
		Join("true"),
		Join("printf", `it's "quoted"\n\n`),
		Join("sh", "-c", `printf 'a\000b'; printf 'e1\ne2\n\n' >&2`),
		Join("exec", "cat", "/nonexistent"),
	}
	want := []remote.Output{
		{Stdout: []byte("no newline")},
		{Stdout: []byte("0 0 0\n==nft\n\nremedy- 1\n"), Stderr: []byte("to stderr"), ExitCode: 3},
		{},
		{Stdout: []byte("it's \"quoted\"\n\n")},
		{Stdout: []byte("a\000b"), Stderr: []byte("e1\ne2")},
		{Stderr: []byte("cat: /nonexistent: No such file or directory"), ExitCode: 1},
	}
	b := NewBatch(lines)
	out, err := exec.Command("sh", "-c", b.Command()).Output()
	if err != nil {
		t.Fatalf("batch: %v", err)
	}
	got, err := b.Split(out)
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

// A batch of reads in the shell's own subshell behaves as each read alone
// under sh -c: the batch's variables and its fd 3 are not the reads'.
func TestBatchReadsSeeAFreshShell(t *testing.T) {
	lines := []string{Join("sh", "-c", `echo "[$b][$c][$e]"; if { : >&3; } 2>/dev/null; then echo fd3; fi`)}
	b := NewBatch(lines)
	out, err := exec.Command("sh", "-c", b.Command()).Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Split(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0].Stdout) != "[][][]\n" {
		t.Errorf("the read saw the batch's state: %q", got[0].Stdout)
	}
}

func TestBatchSplitRefusesBrokenOutput(t *testing.T) {
	b := Batch{Lines: []string{"a", "b"}, Boundary: "remedy-x"}
	for _, in := range []string{"", "out\nremedy-x 0\n\nremedy-x\n", "\nremedy-x zero\n\nremedy-x\n", "\nremedy-x 0\nno end"} {
		if _, err := b.Split([]byte(in)); err == nil {
			t.Errorf("split(%q) accepted broken output", in)
		}
	}
}

// FuzzBatchSplit: any output either splits into exactly as many results
// as lines or is refused, never a panic.
func FuzzBatchSplit(f *testing.F) {
	f.Add([]byte("abc\nremedy-x 0\n\nremedy-x\n\nremedy-x 2\nerr\nremedy-x\n"), 2)
	f.Fuzz(func(t *testing.T, out []byte, n int) {
		if n < 0 || n > 8 {
			return
		}
		b := Batch{Lines: make([]string, n), Boundary: "remedy-x"}
		outs, err := b.Split(out)
		if err == nil && len(outs) != n {
			t.Fatalf("%d results, want %d", len(outs), n)
		}
		total := 0
		for _, o := range outs {
			total += len(o.Stdout) + len(o.Stderr)
		}
		if total > len(out) {
			t.Fatalf("results hold %d bytes of a %d-byte output", total, len(out))
		}
	})
}
