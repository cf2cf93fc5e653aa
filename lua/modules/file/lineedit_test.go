package file

import (
	"regexp"
	"testing"
)

func TestEditLines(t *testing.T) {
	re := regexp.MustCompile
	cfg := "#PermitRootLogin prohibit-password\nPort 22\nMatch User backup\n  PermitRootLogin yes\n"
	for _, tc := range []struct {
		name, in string
		e        LineEdit
		want     string
	}{
		{"replace first match", cfg, LineEdit{Regexp: re(`^#?PermitRootLogin`), Line: "PermitRootLogin no"},
			"PermitRootLogin no\nPort 22\nMatch User backup\n  PermitRootLogin yes\n"},
		{"already there", "PermitRootLogin no\n", LineEdit{Regexp: re(`^#?PermitRootLogin`), Line: "PermitRootLogin no"}, "PermitRootLogin no\n"},
		{"already there without final newline", "a\nb", LineEdit{Line: "b"}, "a\nb"},
		{"append at end", "a\n", LineEdit{Line: "b"}, "a\nb\n"},
		{"insert before Match", cfg, LineEdit{Regexp: re(`^PasswordAuthentication`), Line: "PasswordAuthentication no", InsertBefore: `^Match`},
			"#PermitRootLogin prohibit-password\nPort 22\nPasswordAuthentication no\nMatch User backup\n  PermitRootLogin yes\n"},
		{"insert after last match", "Port 22\nX 1\nPort 2222\n", LineEdit{Line: "Port 33001", InsertAfter: `^Port`}, "Port 22\nX 1\nPort 2222\nPort 33001\n"},
		{"insert at BOF", "a\n", LineEdit{Line: "z", InsertAfter: "BOF"}, "z\na\n"},
		{"insertafter without match goes to end", "a\n", LineEdit{Line: "z", InsertAfter: "^nothing"}, "a\nz\n"},
		{"absent by regexp", "Port 22\nPort 33001\nX\n", LineEdit{Regexp: re(`^Port 22$`), Absent: true}, "Port 33001\nX\n"},
		{"absent by line", "a\nb\na\n", LineEdit{Line: "a", Absent: true}, "b\n"},
		{"empty file", "", LineEdit{Line: "a"}, "a\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EditLines(tc.in, tc.e)
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestEditLinesRefusesNonIdempotentEdits(t *testing.T) {
	for _, e := range []LineEdit{
		{Regexp: regexp.MustCompile(`^Port`), Line: "Listen 1"},
		{Line: "two\nlines"},
	} {
		if _, err := EditLines("Port 1\n", e); err == nil {
			t.Errorf("%+v: want an error", e)
		}
	}
}

// Applying the same edit twice changes nothing the second time: file.line
// reports ok on a repeated run.
func FuzzEditLinesIdempotent(f *testing.F) {
	f.Add("#PermitRootLogin yes\nPort 22\nMatch all\n", `^#?PermitRootLogin`, "PermitRootLogin no", false, "BOF", "")
	f.Add("a\nb\na\n", "", "a", true, "", "")
	f.Add("x", `^P`, "Port 1", false, "", "^Match")
	f.Fuzz(func(t *testing.T, content, pattern, line string, absent bool, after, before string) {
		e := LineEdit{Line: line, Absent: absent, InsertAfter: after, InsertBefore: before}
		if pattern != "" {
			re, err := regexp.Compile(pattern)
			if err != nil {
				return
			}
			e.Regexp = re
		}
		once, err := EditLines(content, e)
		if err != nil {
			return
		}
		twice, err := EditLines(once, e)
		if err != nil || twice != once {
			t.Fatalf("second edit: %q, %v; first gave %q", twice, err, once)
		}
	})
}
