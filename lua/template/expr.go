package template

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// parser reads what is between {{ and }}:
//
//	expr     = operand { "|" filter }
//	operand  = path | string | number | true | false
//	path     = name { "." (name | digits) | "[" string "]" }
//	filter   = name [ "(" [ operand { "," operand } ] ")" ]
//
// Strings are quoted with ' or " and know the escapes \\, \' and \".
type parser struct {
	src string
	pos int
}

func (p *parser) expr() (expr, error) {
	v, err := p.operand()
	if err != nil {
		return expr{}, err
	}
	e := expr{value: v}
	for p.skipSpace(); p.more(); p.skipSpace() {
		if !p.take('|') {
			return expr{}, fmt.Errorf("unexpected %q", p.rest())
		}
		f, err := p.filter()
		if err != nil {
			return expr{}, err
		}
		e.filters = append(e.filters, f)
	}
	return e, nil
}

func (p *parser) filter() (filterCall, error) {
	p.skipSpace()
	name := p.name()
	if name == "" {
		return filterCall{}, fmt.Errorf("a filter name must follow |")
	}
	if filters[name] == nil {
		return filterCall{}, fmt.Errorf("no filter %q (template knows %s)", name, filterNames())
	}
	f := filterCall{name: name}
	p.skipSpace()
	if !p.take('(') {
		return f, nil
	}
	p.skipSpace()
	if p.take(')') {
		return f, nil
	}
	for {
		a, err := p.operand()
		if err != nil {
			return filterCall{}, fmt.Errorf("%s: %w", name, err)
		}
		f.args = append(f.args, a)
		p.skipSpace()
		if p.take(')') {
			return f, nil
		}
		if !p.take(',') {
			return filterCall{}, fmt.Errorf("%s: want , or ) in its arguments", name)
		}
	}
}

func (p *parser) operand() (operand, error) {
	p.skipSpace()
	if !p.more() {
		return operand{}, fmt.Errorf("a variable or a value is missing")
	}
	c := p.src[p.pos]
	switch {
	case c == '\'' || c == '"':
		s, err := p.quoted()
		return operand{literal: s}, err
	case c == '-' || c == '+' || c == '.' || isDigit(c):
		return p.number()
	}
	name := p.name()
	switch name {
	case "":
		return operand{}, fmt.Errorf("unexpected %q", p.rest())
	case "true", "True":
		return operand{literal: true}, nil
	case "false", "False":
		return operand{literal: false}, nil
	}
	path := []string{name}
	for {
		p.skipSpace() // Jinja reads a . b and a ["b"] too
		switch {
		case p.take('.'):
			part := p.name()
			if part == "" {
				part = p.digits()
			}
			if part == "" {
				return operand{}, fmt.Errorf("a key or an index must follow .")
			}
			path = append(path, part)
		case p.take('['):
			p.skipSpace()
			if p.more() && isDigit(p.src[p.pos]) {
				return operand{}, fmt.Errorf("[%s]: lists count from 1 here, as in Lua: write %s.1 for the first item", p.digits(), strings.Join(path, "."))
			}
			key, err := p.quoted()
			if err != nil {
				return operand{}, err
			}
			p.skipSpace()
			if !p.take(']') {
				return operand{}, fmt.Errorf("want ] after [%q", key)
			}
			path = append(path, key)
		default:
			return operand{path: path}, nil
		}
	}
}

func (p *parser) number() (operand, error) {
	start := p.pos
	for p.more() && strings.IndexByte("+-.0123456789eE", p.src[p.pos]) >= 0 {
		p.pos++
	}
	text := p.src[start:p.pos]
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return operand{literal: n}, nil
	}
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		return operand{literal: f}, nil
	}
	return operand{}, fmt.Errorf("%q is not a number", text)
}

func (p *parser) quoted() (string, error) {
	if !p.more() || (p.src[p.pos] != '\'' && p.src[p.pos] != '"') {
		return "", fmt.Errorf("want a quoted string")
	}
	quote := p.src[p.pos]
	p.pos++
	var b strings.Builder
	for p.more() {
		c := p.src[p.pos]
		p.pos++
		switch {
		case c == quote:
			return b.String(), nil
		case c == '\\' && p.more():
			b.WriteByte(p.src[p.pos])
			p.pos++
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("a string is not closed")
}

func (p *parser) name() string {
	start := p.pos
	for p.more() {
		c := p.src[p.pos]
		if c != '_' && !isLetter(c) && (p.pos == start || !isDigit(c)) {
			break
		}
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *parser) digits() string {
	start := p.pos
	for p.more() && isDigit(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *parser) take(c byte) bool {
	if p.more() && p.src[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *parser) skipSpace() {
	for p.more() && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n') {
		p.pos++
	}
}

func (p *parser) more() bool   { return p.pos < len(p.src) }
func (p *parser) rest() string { return p.src[p.pos:] }

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
