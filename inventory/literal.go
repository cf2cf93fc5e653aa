package inventory

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// iniValue types an INI value as Ansible does: Python's ast.literal_eval,
// keeping the text as a string when it is not a Python literal.
func iniValue(s string) any {
	v, err := literalEval(s)
	if err != nil {
		return s
	}
	return v
}

var errNotLiteral = errors.New("not a Python literal")

// literalEval evaluates the Python literals an inventory holds: strings,
// numbers, True/False/None, lists, tuples (as lists), dicts and sets (as
// lists). Complex numbers and integers beyond int64 are not supported.
func literalEval(s string) (any, error) {
	p := &pyParser{s: strings.TrimLeft(s, " \t")}
	v, err := p.tuple(true)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, errNotLiteral
	}
	return v, nil
}

type pyParser struct {
	s     string
	i     int
	depth int
}

// maxLiteralDepth bounds nesting so hostile input cannot exhaust the stack.
const maxLiteralDepth = 100

func (p *pyParser) skipSpace() {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == ' ' || c == '\t' || c == '\f' || (p.depth > 0 && (c == '\n' || c == '\r')):
			p.i++
		case c == '\\' && p.i+1 < len(p.s) && p.s[p.i+1] == '\n':
			p.i += 2
		case c == '#':
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		default:
			return
		}
	}
}

func (p *pyParser) peek() byte {
	p.skipSpace()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// tuple reads "a" or "a, b, ..." (a tuple); top says an empty input is an
// error rather than an empty tuple.
func (p *pyParser) tuple(top bool) (any, error) {
	first, err := p.value()
	if err != nil {
		return nil, err
	}
	if p.peek() != ',' {
		return first, nil
	}
	items := []any{first}
	for p.peek() == ',' {
		p.i++
		if c := p.peek(); c == 0 || c == ')' {
			break
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
	return items, nil
}

func (p *pyParser) value() (any, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxLiteralDepth {
		return nil, errNotLiteral
	}
	switch c := p.peek(); {
	case c == '[':
		return p.list()
	case c == '(':
		return p.paren()
	case c == '{':
		return p.brace()
	case c == '-' || c == '+':
		p.i++
		return p.signed(c)
	case c >= '0' && c <= '9' || c == '.':
		return p.number()
	}
	return p.nameOrString()
}

// signed reads the number after a unary sign; like literal_eval it takes
// only a number literal, parenthesized or not, not another sign.
func (p *pyParser) signed(sign byte) (any, error) {
	parens := 0
	for p.peek() == '(' {
		p.i++
		parens++
	}
	if c := p.peek(); !(c >= '0' && c <= '9' || c == '.') {
		return nil, errNotLiteral
	}
	v, err := p.number()
	if err != nil {
		return nil, err
	}
	for ; parens > 0; parens-- {
		if p.peek() != ')' {
			return nil, errNotLiteral
		}
		p.i++
	}
	if sign == '+' {
		return v, nil
	}
	switch n := v.(type) {
	case int:
		if n == math.MinInt {
			return nil, errNotLiteral
		}
		return -n, nil
	case float64:
		return -n, nil
	}
	return nil, errNotLiteral
}

func (p *pyParser) list() (any, error) {
	p.i++
	items, err := p.items(']')
	if err != nil {
		return nil, err
	}
	return items, nil
}

func (p *pyParser) paren() (any, error) {
	p.i++
	if p.peek() == ')' {
		p.i++
		return []any{}, nil
	}
	v, err := p.tuple(false)
	if err != nil {
		return nil, err
	}
	if p.peek() != ')' {
		return nil, errNotLiteral
	}
	p.i++
	return v, nil
}

// items reads comma-separated values up to the closing byte.
func (p *pyParser) items(closing byte) ([]any, error) {
	out := []any{}
	for {
		if p.peek() == closing {
			p.i++
			return out, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		switch p.peek() {
		case ',':
			p.i++
		case closing:
		default:
			return nil, errNotLiteral
		}
	}
}

// brace reads a dict or a set (returned as a list).
func (p *pyParser) brace() (any, error) {
	p.i++
	if p.peek() == '}' {
		p.i++
		return map[string]any{}, nil
	}
	first, err := p.value()
	if err != nil {
		return nil, err
	}
	if p.peek() != ':' {
		rest, err := p.itemsAfterFirst()
		if err != nil {
			return nil, err
		}
		return append([]any{first}, rest...), nil
	}
	return p.dictFrom(first)
}

func (p *pyParser) itemsAfterFirst() ([]any, error) {
	switch p.peek() {
	case '}':
		p.i++
		return nil, nil
	case ',':
		p.i++
		return p.items('}')
	}
	return nil, errNotLiteral
}

func (p *pyParser) dictFrom(key any) (any, error) {
	m := map[string]any{}
	for {
		if p.peek() != ':' {
			return nil, errNotLiteral
		}
		p.i++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		k, ok := dictKey(key)
		if !ok {
			return nil, errNotLiteral
		}
		m[k] = v
		switch p.peek() {
		case '}':
			p.i++
			return m, nil
		case ',':
			p.i++
		default:
			return nil, errNotLiteral
		}
		if p.peek() == '}' {
			p.i++
			return m, nil
		}
		if key, err = p.value(); err != nil {
			return nil, err
		}
	}
}

// dictKey converts a Python dict key to the string JSON output gives it.
func dictKey(k any) (string, bool) {
	switch x := k.(type) {
	case string:
		return x, true
	case nil, bool, int, float64:
		return pyJSONScalar(x), true
	}
	return "", false
}

func (p *pyParser) nameOrString() (any, error) {
	start := p.i
	for p.i < len(p.s) && isNameByte(p.s[p.i]) {
		p.i++
	}
	name := p.s[start:p.i]
	if p.i < len(p.s) && (p.s[p.i] == '\'' || p.s[p.i] == '"') {
		return p.strings(name)
	}
	switch name {
	case "True":
		return true, nil
	case "False":
		return false, nil
	case "None":
		return nil, nil
	}
	return nil, errNotLiteral
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// strings reads one string literal with its prefix, then any adjacent ones,
// which Python concatenates (bytes only with bytes).
func (p *pyParser) strings(prefix string) (any, error) {
	var b strings.Builder
	isBytes := strings.ContainsAny(prefix, "bB")
	for {
		raw, ok := stringPrefix(prefix)
		if !ok || strings.ContainsAny(prefix, "bB") != isBytes {
			return nil, errNotLiteral
		}
		s, err := p.quoted(raw, isBytes)
		if err != nil {
			return nil, err
		}
		b.WriteString(s)
		save := p.i
		p.skipSpace()
		start := p.i
		for p.i < len(p.s) && isNameByte(p.s[p.i]) && p.i-start < 2 {
			p.i++
		}
		if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
			p.i = save
			return b.String(), nil
		}
		prefix = p.s[start:p.i]
	}
}

// stringPrefix accepts Python's literal string prefixes (not f-strings,
// which are expressions) and says whether the string is raw.
func stringPrefix(prefix string) (raw bool, ok bool) {
	switch strings.ToLower(prefix) {
	case "", "u", "b":
		return false, true
	case "r", "br", "rb":
		return true, true
	}
	return false, false
}

// quoted reads one quoted string; bytes literals allow only ASCII and know
// no \u escapes.
func (p *pyParser) quoted(raw, isBytes bool) (string, error) {
	q := p.s[p.i : p.i+1]
	if strings.HasPrefix(p.s[p.i:], q+q+q) {
		q = q + q + q
	}
	p.i += len(q)
	var b strings.Builder
	for p.i < len(p.s) {
		if strings.HasPrefix(p.s[p.i:], q) {
			p.i += len(q)
			return b.String(), nil
		}
		c := p.s[p.i]
		switch {
		case c == '\n' && len(q) == 1, isBytes && c >= 0x80:
			return "", errNotLiteral
		case c == '\\' && isBytes && p.i+1 < len(p.s) && strings.IndexByte("uUN", p.s[p.i+1]) >= 0:
			b.WriteString(p.s[p.i : p.i+2])
			p.i += 2
		case c == '\\' && raw:
			b.WriteString(p.s[p.i:min(p.i+2, len(p.s))])
			p.i += 2
		case c == '\\':
			if err := p.escape(&b); err != nil {
				return "", err
			}
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", errNotLiteral
}

// escape decodes one backslash escape; unknown escapes keep the backslash,
// as Python does.
func (p *pyParser) escape(b *strings.Builder) error {
	if p.i+1 >= len(p.s) {
		return errNotLiteral
	}
	c := p.s[p.i+1]
	p.i += 2
	simple := map[byte]string{'\n': "", '\\': "\\", '\'': "'", '"': "\"", 'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t", 'v': "\v"}
	if s, ok := simple[c]; ok {
		b.WriteString(s)
		return nil
	}
	switch c {
	case 'N':
		// Unicode names need Python's table; the value stays text.
		return errNotLiteral
	case 'x':
		return p.hexEscape(b, 2)
	case 'u':
		return p.hexEscape(b, 4)
	case 'U':
		return p.hexEscape(b, 8)
	}
	if c >= '0' && c <= '7' {
		n := int(c - '0')
		for k := 0; k < 2 && p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '7'; k++ {
			n = n*8 + int(p.s[p.i]-'0')
			p.i++
		}
		b.WriteRune(rune(n))
		return nil
	}
	b.WriteByte('\\')
	p.i--
	return nil
}

func (p *pyParser) hexEscape(b *strings.Builder, n int) error {
	if p.i+n > len(p.s) {
		return errNotLiteral
	}
	v, err := strconv.ParseUint(p.s[p.i:p.i+n], 16, 32)
	if err != nil || v > utf8.MaxRune {
		return errNotLiteral
	}
	p.i += n
	b.WriteRune(rune(v))
	return nil
}

// number reads a Python int or float literal.
func (p *pyParser) number() (any, error) {
	start := p.i
	for p.i < len(p.s) && (isNameByte(p.s[p.i]) || p.s[p.i] == '.' ||
		((p.s[p.i] == '+' || p.s[p.i] == '-') && (p.s[p.i-1] == 'e' || p.s[p.i-1] == 'E'))) {
		p.i++
	}
	return parsePyNumber(p.s[start:p.i])
}

func parsePyNumber(tok string) (any, error) {
	if len(tok) > 1 && tok[0] == '0' && strings.ContainsAny(tok[1:2], "xXoObB") {
		return parsePyInt(tok[2:], map[byte]int{'x': 16, 'o': 8, 'b': 2}[tok[1]|0x20])
	}
	if !validDigits(tok) {
		return nil, errNotLiteral
	}
	if strings.ContainsAny(tok, ".eE") {
		return parsePyFloat(tok)
	}
	if tok[0] == '0' && strings.Trim(tok, "0_") != "" {
		// Python 3 rejects leading zeros: "022" stays a string.
		return nil, errNotLiteral
	}
	return parsePyInt(tok, 10)
}

// validDigits checks Python's underscore rule: one underscore only between
// two digits.
func validDigits(tok string) bool {
	for i := 0; i < len(tok); i++ {
		if tok[i] != '_' {
			continue
		}
		if i == 0 || i == len(tok)-1 || !isDigit(tok[i-1]) || !isDigit(tok[i+1]) {
			return false
		}
	}
	return tok != ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func parsePyInt(digits string, base int) (any, error) {
	if base == 0 || digits == "" || strings.HasPrefix(digits, "__") {
		return nil, errNotLiteral
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimPrefix(digits, "_"), "_", ""), base, 64)
	if err != nil || strings.Contains(digits, "__") || strings.HasSuffix(digits, "_") {
		return nil, errNotLiteral
	}
	return int(n), nil
}

func parsePyFloat(tok string) (any, error) {
	mant, exp, hasExp := strings.Cut(strings.ToLower(tok), "e")
	if hasExp {
		e := strings.TrimLeft(exp, "+-")
		if len(exp)-len(e) > 1 || e == "" || !isDigit(e[0]) {
			return nil, errNotLiteral
		}
	}
	if strings.Count(mant, ".") > 1 || mant == "." || strings.Contains(mant, "_.") || strings.Contains(mant, "._") {
		return nil, errNotLiteral
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(tok, "_", ""), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, fmt.Errorf("%w: %q", errNotLiteral, tok)
	}
	return f, nil
}
