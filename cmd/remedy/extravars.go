package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"remedy/inventory"
)

// parseExtraVars reads -e values as ansible-playbook's load_extra_vars
// does: @FILE holds YAML or JSON, a value starting with '{' or '[' is
// YAML, anything else is key=value words as parse_kv splits them. YAML
// is typed as group_vars are (YAML 1.1: yes and off are booleans, 0755
// is octal); key=value values stay strings, as in Ansible. Later values
// win. Where Ansible would keep words that are not key=value as
// _raw_params, which no playbook reads, remedy refuses them.
func parseExtraVars(values []string) (map[string]any, error) {
	vars := map[string]any{}
	for _, v := range values {
		if v == "" {
			continue
		}
		var err error
		switch {
		case strings.HasPrefix(v, "@"):
			err = readVarsFile(v[1:], vars)
		case v[0] == '/' || v[0] == '.':
			err = errors.New("a file of variables is written @FILE")
		case v[0] == '{' || v[0] == '[':
			err = mergeVars("-e", []byte(v), vars)
		default:
			err = parseKeyValues(v, vars)
		}
		if err != nil {
			return nil, fmt.Errorf("-e %q: %w", v, err)
		}
	}
	return vars, nil
}

func readVarsFile(file string, into map[string]any) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	return mergeVars(file, data, into)
}

// mergeVars reads a YAML mapping (JSON is YAML too) into vars.
func mergeVars(name string, data []byte, into map[string]any) error {
	m, err := inventory.ReadVars(name, data)
	if err != nil {
		return err
	}
	if m == nil {
		return errors.New("holds no mapping of variables")
	}
	for k, v := range m {
		into[k] = v
	}
	return nil
}

// parseKeyValues is Ansible's parse_kv: split_args' words, escapes
// decoded, split at the first '=' not after a backslash, the value
// unquoted when a pair of quotes encloses all of it.
func parseKeyValues(s string, into map[string]any) error {
	words, err := splitArgs(s)
	if err != nil {
		return err
	}
	for _, w := range words {
		x, err := decodeEscapes(w)
		if err != nil {
			return err
		}
		eq := keyValueSplit(x)
		if eq < 0 {
			return fmt.Errorf("%q is not key=value", strings.TrimSpace(w))
		}
		into[strings.TrimSpace(x[:eq])] = unquote(strings.TrimSpace(x[eq+1:]))
	}
	return nil
}

// keyValueSplit is the index of the first '=' after the first byte that
// no backslash escapes, or -1.
func keyValueSplit(x string) int {
	for i := 1; i < len(x); i++ {
		if x[i] == '=' && x[i-1] != '\\' {
			return i
		}
	}
	return -1
}

// unquote drops a pair of quotes around all of s, as Ansible's does.
func unquote(s string) string {
	if len(s) > 1 && s[0] == s[len(s)-1] && (s[0] == '"' || s[0] == '\'') && s[len(s)-2] != '\\' {
		return s[1 : len(s)-1]
	}
	return s
}

var escapeSequence = regexp.MustCompile(`\\U[0-9a-fA-F]{8}|\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\N\{[^}]+\}|\\[\\'"abfnrtv]`)

var singleEscapes = map[byte]string{'\\': `\`, '\'': `'`, '"': `"`, 'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t", 'v': "\v"}

// decodeEscapes decodes Python's escapes as parse_kv does: \n, \t, \",
// \xHH, \uHHHH, \UHHHHHHHH. \N{NAME} needs Unicode's name table, which
// remedy does not carry: it is refused rather than kept as written.
func decodeEscapes(s string) (string, error) {
	var err error
	out := escapeSequence.ReplaceAllStringFunc(s, func(m string) string {
		switch m[1] {
		case 'N':
			err = fmt.Errorf("%s: escapes by Unicode name are not supported; write the character or \\uHHHH", m)
			return m
		case 'U', 'u', 'x':
			n, _ := strconv.ParseUint(m[2:], 16, 32)
			if n > 0x10FFFF {
				err = fmt.Errorf("%s: not a Unicode code point", m)
				return m
			}
			return string(rune(n))
		}
		return singleEscapes[m[1]]
	})
	return out, err
}

// errUnbalanced is split_args' error for an open quote or template block.
var errUnbalanced = errors.New("unbalanced quotes or {{ }}, {% %}, {# #} block")

// splitArgs is Ansible's split_args: words split on spaces and newlines,
// joined again where a split fell inside quotes or a Jinja block. Tabs do
// not split. It is ported line by line so a -e string means what it
// means to ansible-playbook, oddities included.
func splitArgs(args string) ([]string, error) {
	var s argSplitter
	lines := strings.Split(args, "\n")
	for i, line := range lines {
		continued, err := s.line(line)
		if err != nil {
			return nil, err
		}
		if len(lines) > 1 && i != len(lines)-1 && !continued {
			if err := s.extend("\n"); err != nil {
				return nil, err
			}
		}
	}
	if s.depth() || s.quote != 0 {
		return nil, errUnbalanced
	}
	return s.params, nil
}

// argSplitter is split_args' state across lines.
type argSplitter struct {
	params                []string
	quote                 byte
	print, block, comment int
}

func (s *argSplitter) depth() bool { return s.print > 0 || s.block > 0 || s.comment > 0 }

// extend adds to the last word; Python's params[-1] on no word at all is
// the IndexError parse_kv reports as unparsable.
func (s *argSplitter) extend(text string) error {
	if len(s.params) == 0 {
		return errors.New("unable to parse the argument string (leading spaces?)")
	}
	s.params[len(s.params)-1] += text
	return nil
}

// line splits one line; continued says it ended in a lone backslash.
func (s *argSplitter) line(line string) (continued bool, err error) {
	tokens := strings.Split(line, " ")
	for idx, token := range tokens {
		if token == "" && idx != 0 {
			if err := s.extend(" "); err != nil {
				return false, err
			}
			continue
		}
		if token == `\` && s.quote == 0 {
			continued = true
			continue
		}
		wasInQuotes := s.quote != 0
		s.quote = quoteState(token, s.quote)
		inQuotes := s.quote != 0
		appended := false
		switch {
		case inQuotes && !wasInQuotes && !s.depth():
			s.params = append(s.params, token)
			appended = true
		case s.depth() || inQuotes || wasInQuotes:
			var err error
			switch {
			case idx == 0 && wasInQuotes:
				err = s.extend(token)
			case len(tokens) > 1 && idx > 0:
				err = s.extend(" " + token)
			case len(tokens) > 1:
				err = s.extend(token)
			default:
				err = s.extend("\n" + token)
			}
			if err != nil {
				return false, err
			}
			appended = true
		}
		for _, b := range []struct {
			depth       *int
			open, close string
		}{{&s.print, "{{", "}}"}, {&s.block, "{%", "%}"}, {&s.comment, "{#", "#}"}} {
			before := *b.depth
			*b.depth = jinjaDepth(token, before, b.open, b.close)
			if *b.depth != before && !appended {
				s.params = append(s.params, token)
				appended = true
			}
		}
		if !s.depth() && !inQuotes && !appended && token != "" {
			s.params = append(s.params, token)
		}
	}
	return continued, nil
}

// quoteState follows quotes through token: an unescaped quote opens, and
// the same quote closes.
func quoteState(token string, quote byte) byte {
	for i := 0; i < len(token); i++ {
		c := token[i]
		if (c == '"' || c == '\'') && (i == 0 || token[i-1] != '\\') {
			switch quote {
			case 0:
				quote = c
			case c:
				quote = 0
			}
		}
	}
	return quote
}

func jinjaDepth(token string, depth int, open, close string) int {
	if n := strings.Count(token, open) - strings.Count(token, close); n != 0 {
		depth = max(depth+n, 0)
	}
	return depth
}
