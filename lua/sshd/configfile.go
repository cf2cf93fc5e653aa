package sshd

import (
	"errors"
	"fmt"
	"strings"
)

// maxIncludeDepth is sshd's own limit on nested Include directives.
const maxIncludeDepth = 16

// directive is one keyword line of an sshd_config file.
type directive struct {
	file    string
	line    int // index into the file's lines
	key     string
	args    []string
	inMatch bool // under a Match block other than "Match all"
}

// where names a directive's place for error messages, 1-based like sshd.
func (d directive) where() string { return fmt.Sprintf("%s line %d", d.file, d.line+1) }

// tree is the walk of a main config file and everything it includes.
type tree struct {
	files      []string            // in the order sshd reads them
	text       map[string]string   // file -> its contents
	lines      map[string][]string // file -> its lines, without newlines
	directives []directive
	needs      Needs
}

// walkConfig reads main and its Includes in sshd's order. Files or listings
// missing from fs are collected in needs instead of failing, so a caller can
// fetch them and walk again.
func walkConfig(fs FileSet, main string) (*tree, error) {
	t := &tree{text: map[string]string{}, lines: map[string][]string{}}
	err := t.walk(fs, main, false, 0)
	return t, err
}

func (t *tree) walk(fs FileSet, file string, inMatch bool, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: Include nested deeper than %d", file, maxIncludeDepth)
	}
	text, ok := fs.Text[file]
	if !ok {
		t.needs.Read = appendNew(t.needs.Read, file)
		return nil
	}
	lines := splitLines(text)
	if _, seen := t.lines[file]; !seen {
		t.files = append(t.files, file)
		t.text[file] = text
		t.lines[file] = lines
	}
	for i, raw := range lines {
		key, args, err := splitDirective(raw)
		if err != nil {
			return fmt.Errorf("%s line %d: %w", file, i+1, err)
		}
		switch key {
		case "":
			continue
		case "match":
			inMatch = !(len(args) == 1 && strings.EqualFold(args[0], "all"))
		case "include":
			if err := t.include(fs, args, inMatch, depth); err != nil {
				return fmt.Errorf("%s line %d: %w", file, i+1, err)
			}
		}
		t.directives = append(t.directives, directive{file: file, line: i, key: key, args: args, inMatch: inMatch})
	}
	return nil
}

// include walks every file an Include line's patterns match. A Match block
// opened inside an included file ends with that file, as in sshd.
func (t *tree) include(fs FileSet, patterns []string, inMatch bool, depth int) error {
	for _, arg := range patterns {
		pattern := absInclude(arg)
		l := includeListing(pattern)
		if _, listed := fs.Listed[l]; !listed {
			t.needs.List = appendNew(t.needs.List, l)
			continue
		}
		for _, f := range fs.glob(pattern) {
			if err := t.walk(fs, f, inMatch, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// FileNeeds returns what fs still lacks to plan from main: the binding reads
// and lists these, then asks again until nothing is missing.
func FileNeeds(fs FileSet, main string) (Needs, error) {
	t, err := walkConfig(fs, main)
	if err != nil {
		return Needs{}, err
	}
	return t.needs, nil
}

func appendNew[T comparable](s []T, v T) []T {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// splitLines splits text into lines; a final newline does not start a line.
func splitLines(text string) []string {
	if text == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

var errOpenQuote = errors.New("unterminated quote")

// splitDirective reads one config line the way sshd 9 does: a keyword, then
// arguments separated by blanks, an optional "=" after the keyword, double
// quotes grouping, and a word starting with "#" beginning a comment. It
// returns key "" for blank and comment lines.
func splitDirective(raw string) (string, []string, error) {
	s := strings.TrimLeft(raw, " \t\r")
	if s == "" || s[0] == '#' {
		return "", nil, nil
	}
	end := strings.IndexAny(s, " \t\r=")
	if end < 0 {
		return strings.ToLower(s), nil, nil
	}
	key := strings.ToLower(s[:end])
	rest := strings.TrimLeft(s[end:], " \t\r")
	rest = strings.TrimLeft(strings.TrimPrefix(rest, "="), " \t\r")
	args, err := splitArgs(rest)
	return key, args, err
}

func splitArgs(s string) ([]string, error) {
	var args []string
	for {
		s = strings.TrimLeft(s, " \t\r")
		if s == "" || s[0] == '#' {
			return args, nil
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, errOpenQuote
			}
			args = append(args, s[1:end+1])
			s = s[end+2:]
			continue
		}
		end := strings.IndexAny(s, " \t\r")
		if end < 0 {
			end = len(s)
		}
		args = append(args, s[:end])
		s = s[end:]
	}
}
