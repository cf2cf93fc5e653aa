package shell

import (
	"os/exec"
	"strings"
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
	got := runBatch(t, lines)
	for i := range want {
		if string(got[i].Stdout) != string(want[i].Stdout) || string(got[i].Stderr) != string(want[i].Stderr) || got[i].ExitCode != want[i].ExitCode {
			t.Errorf("line %d: got %q %q rc=%d, want %q %q rc=%d", i, got[i].Stdout, got[i].Stderr, got[i].ExitCode,
				want[i].Stdout, want[i].Stderr, want[i].ExitCode)
		}
	}
}

// runBatch runs lines in a batch under this machine's sh.
func runBatch(t *testing.T, lines []string) []remote.Output {
	t.Helper()
	b := NewBatch(lines)
	out, err := exec.Command("sh", "-c", b.Command()).Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Split(out)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// A batch of reads in the shell's own subshell behaves as each read alone
// under sh -c: the batch's variables and its fd 3 are not the reads'.
func TestBatchReadsSeeAFreshShell(t *testing.T) {
	lines := []string{Join("sh", "-c", `echo "[$b][$c][$e][$rc][$remedy_script]"; if { : >&3; } 2>/dev/null; then echo fd3; fi`)}
	got := runBatch(t, lines)
	if string(got[0].Stdout) != "[][][][][]\n" {
		t.Errorf("the read saw the batch's state: %q", got[0].Stdout)
	}
}

// A read `sh -c SCRIPT sh ARGS...` runs in a subshell of the batch's
// shell, not in a sh of its own (TestBatchUnderHostShells shows that it
// gives what it gives alone): two reads see one $$.
func TestBatchShReadsStartNoShell(t *testing.T) {
	got := runBatch(t, []string{Join("sh", "-c", `echo "$$"`), Join("sh", "-c", `echo "$$"`, "sh")})
	if a, b := got[0].Stdout, got[1].Stdout; string(a) != string(b) || len(a) < 2 {
		t.Errorf("$$ %q and %q: want the batch's shell's, both", a, b)
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

// A read in parts, in a batch and alone: the parts come back whole, by
// name, however their content looks; alone it draws its own boundary.
func TestParts(t *testing.T) {
	script := PartsPrelude + `part a; printf 'one\n\n'
part 'unit x.service'; printf 'two'
part empty
part a; echo three`
	want := map[string]string{"a": "one\n\nthree\n", "unit x.service": "two", "empty": ""}
	outs := runBatch(t, []string{Join("sh", "-c", script)})
	alone, err := exec.Command("sh", "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range [][]byte{outs[0].Stdout, alone} {
		parts, err := Parts(out)
		if err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		if len(parts) != len(want) {
			t.Errorf("parts %q, want %q", parts, want)
		}
		for name, w := range want {
			if string(parts[name]) != w {
				t.Errorf("part %q: %q, want %q", name, parts[name], w)
			}
		}
	}
	if _, err := Parts([]byte("==nft\n{}\n")); err == nil {
		t.Error("Parts accepted output without a boundary")
	}
}

// A fixture host's answer to a batch reads back as the batch script's.
func TestBatchFrameRoundTrip(t *testing.T) {
	b := NewBatch([]string{Join("cat", "--", "/etc/it's"), "true"})
	back, ok := ParseBatch(b.Command())
	if !ok || back.Boundary != b.Boundary || strings.Join(back.Lines, "|") != strings.Join(b.Lines, "|") {
		t.Fatalf("ParseBatch: %+v, %v", back, ok)
	}
	outs := []remote.Output{{Stdout: []byte("a\n"), ExitCode: 1, Stderr: []byte("e")}, {}}
	got, err := b.Split(b.Frame(outs))
	if err != nil || string(got[0].Stdout) != "a\n" || got[0].ExitCode != 1 || string(got[0].Stderr) != "e" || len(got) != 2 {
		t.Errorf("Split(Frame): %+v, %v", got, err)
	}
}
