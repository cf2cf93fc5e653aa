package inventory

import (
	"errors"
	"strings"
)

// shlexSplit splits s into words the way Python's shlex.split(s,
// comments=True) does in POSIX mode, which is how Ansible reads an INI host
// line: quotes group and are removed, a backslash escapes, and an unquoted
// '#' starts a comment even inside a word.
func shlexSplit(s string) ([]string, error) {
	var (
		words   []string
		word    strings.Builder
		inWord  bool
		quote   rune
		escaped bool
	)
	for _, r := range s {
		switch {
		case escaped:
			if quote == '"' && r != '"' && r != '\\' {
				word.WriteRune('\\')
			}
			word.WriteRune(r)
			escaped = false
		case quote != 0:
			if r == quote {
				quote = 0
			} else if r == '\\' && quote == '"' {
				escaped = true
			} else {
				word.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '#':
			return appendWord(words, &word, inWord), nil
		case isShlexSpace(r):
			words = appendWord(words, &word, inWord)
			inWord = false
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errors.New("no closing quotation")
	}
	if escaped {
		return nil, errors.New("no escaped character")
	}
	return appendWord(words, &word, inWord), nil
}

func appendWord(words []string, word *strings.Builder, inWord bool) []string {
	if inWord {
		words = append(words, word.String())
	}
	word.Reset()
	return words
}

// isShlexSpace is shlex's whitespace: space, tab, CR and LF only.
func isShlexSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\r' || r == '\n'
}
