package shell

import (
	"os/exec"
	"testing"
)

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"plain", "plain"},
		{"/etc/ssh/sshd_config", "/etc/ssh/sshd_config"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$(touch /tmp/x)", "'$(touch /tmp/x)'"},
		{"`id`", "'`id`'"},
		{"a;b", "'a;b'"},
		{"line\nbreak", "'line\nbreak'"},
		{"*", "'*'"},
		{"~root", "'~root'"},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// roundTrip asks a real shell to print each argument back, proving the
// quoting survives sh's parser rather than matching our expectation of it.
func roundTrip(t testing.TB, args ...string) []string {
	out, err := exec.Command("sh", "-c", "printf '%s\\0' "+Join(args...)).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	var got []string
	start := 0
	for i, b := range out {
		if b == 0 {
			got = append(got, string(out[start:i]))
			start = i + 1
		}
	}
	return got
}

func TestJoinRoundTrip(t *testing.T) {
	args := []string{"", "a b", "it's", "$(id)", "`id`", "\"q\"", "-n", "x\ny", "\\", "'", "''", "a'b'c", "*?[]{}", "!#&|<>;"}
	got := roundTrip(t, args...)
	if len(got) != len(args) {
		t.Fatalf("got %d words, want %d: %q", len(got), len(args), got)
	}
	for i := range args {
		if got[i] != args[i] {
			t.Errorf("word %d: got %q, want %q", i, got[i], args[i])
		}
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a", "it's", "$(x)", "`x`", "a\nb", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range s {
			if r == 0 {
				return // a NUL cannot be an argument of any process
			}
		}
		got := roundTrip(t, s)
		if len(got) != 1 || got[0] != s {
			t.Fatalf("Quote(%q) read back as %q", s, got)
		}
	})
}
