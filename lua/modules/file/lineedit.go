package file

import (
	"fmt"
	"regexp"
	"strings"
)

// LineEdit makes sure one line is present in, or absent from, a file.
type LineEdit struct {
	Regexp       *regexp.Regexp // lines to replace or remove; nil means lines equal to Line
	Line         string
	Absent       bool
	InsertAfter  string // where a missing line goes: "EOF" (default), "BOF" or a regexp
	InsertBefore string // "BOF" or a regexp; wins over InsertAfter
}

// EditLines applies e to content. With Regexp, the first matching line is
// replaced: sshd and most config readers use the first occurrence of a
// keyword, so that is the one that must change (Ansible's lineinfile
// replaces the last). A missing line goes after the last line matching
// InsertAfter or before the first matching InsertBefore, else at the end.
func EditLines(content string, e LineEdit) (string, error) {
	if strings.Contains(e.Line, "\n") {
		return "", fmt.Errorf("line %q holds a newline: file.line edits one line", e.Line)
	}
	// A line its own regexp does not match would be added again on every
	// run, next to the one added before.
	if e.Regexp != nil && !e.Absent && !e.Regexp.MatchString(e.Line) {
		return "", fmt.Errorf("regexp %q does not match line %q, so a second run would change the file again", e.Regexp, e.Line)
	}
	lines := splitLines(content)
	match := func(l string) bool { return l == e.Line }
	if e.Regexp != nil {
		match = e.Regexp.MatchString
	}
	if e.Absent {
		kept := lines[:0:0]
		for _, l := range lines {
			if !match(l) {
				kept = append(kept, l)
			}
		}
		return joinLines(kept), nil
	}
	for i, l := range lines {
		if match(l) {
			if l == e.Line {
				return content, nil
			}
			lines[i] = e.Line
			return joinLines(lines), nil
		}
	}
	for _, l := range lines {
		if l == e.Line {
			return content, nil
		}
	}
	at, err := insertAt(lines, e)
	if err != nil {
		return "", err
	}
	lines = append(lines[:at], append([]string{e.Line}, lines[at:]...)...)
	return joinLines(lines), nil
}

// insertAt returns the index a new line is inserted at.
func insertAt(lines []string, e LineEdit) (int, error) {
	switch {
	case e.InsertBefore == "BOF" || (e.InsertBefore == "" && e.InsertAfter == "BOF"):
		return 0, nil
	case e.InsertBefore != "":
		re, err := regexp.Compile(e.InsertBefore)
		if err != nil {
			return 0, fmt.Errorf("insertbefore: %w", err)
		}
		for i, l := range lines {
			if re.MatchString(l) {
				return i, nil
			}
		}
	case e.InsertAfter != "" && e.InsertAfter != "EOF":
		re, err := regexp.Compile(e.InsertAfter)
		if err != nil {
			return 0, fmt.Errorf("insertafter: %w", err)
		}
		for i := len(lines) - 1; i >= 0; i-- {
			if re.MatchString(lines[i]) {
				return i + 1, nil
			}
		}
	}
	return len(lines), nil
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// joinLines ends a non-empty file with a newline, as editors and sshd expect.
func joinLines(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}
