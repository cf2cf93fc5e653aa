package runner

import (
	"bytes"
	"testing"
)

func TestPGIDWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		pgid   int
		stderr string
	}{
		{"marker then output", []string{"remedy-pgid:4242\nwarning: x\n"}, 4242, "warning: x\n"},
		{"marker split across writes", []string{"remedy-pg", "id:17", "\nerr", "or\n"}, 17, "error\n"},
		{"marker alone", []string{"remedy-pgid:9\n"}, 9, ""},
		// A login shell that printed first (a motd, a profile warning)
		// leaves no group to kill, and its line is kept.
		{"no marker", []string{"bash: warning\nmore\n"}, 0, "bash: warning\nmore\n"},
		{"unfinished first line", []string{"partial"}, 0, "partial"},
		{"unfinished marker", []string{"remedy-pgid:12"}, 0, ""},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		w := &pgidWriter{out: &out}
		for _, s := range tt.writes {
			if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
				t.Fatalf("%s: Write(%q) = %d, %v", tt.name, s, n, err)
			}
		}
		w.flush()
		if w.group() != tt.pgid || out.String() != tt.stderr {
			t.Errorf("%s: pgid %d, stderr %q; want %d, %q", tt.name, w.group(), out.String(), tt.pgid, tt.stderr)
		}
	}
}

func TestAnnouncePGIDQuotesTheCommand(t *testing.T) {
	got := announcePGID("echo 'a b' > /tmp/x")
	want := `echo "remedy-pgid:$$" >&2; exec sh -c 'echo '\''a b'\'' > /tmp/x'`
	if got != want {
		t.Errorf("announcePGID = %s\nwant %s", got, want)
	}
}
