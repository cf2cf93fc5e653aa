package inventory

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pySpace is what \s matches in a Python 3 regular expression.
const pySpace = `\s\x{0b}\p{Z}\x{1c}-\x{1f}\x{85}`

var (
	// iniSection is "[name]" or "[name:kind]" with an optional comment.
	iniSection = regexp.MustCompile(`^\[([^:\]` + pySpace + `]+)(?::([\p{L}\p{N}_]+))?\][` + pySpace + `]*(?:#.*)?$`)
	// iniGroupName is one child group name in a [name:children] section.
	iniGroupName = regexp.MustCompile(`^([^:\]` + pySpace + `]+)[` + pySpace + `]*(?:#.*)?$`)
)

// iniParser reads one INI inventory file into an inventory, following
// Ansible's ini plugin: hosts before any section are ungrouped, [g:vars] and
// [g:children] may name groups declared later in the file.
type iniParser struct {
	inv     *Inventory
	file    string
	line    int
	group   *group
	kind    string
	pending map[string]*pendingGroup
	order   []string
}

// pendingGroup is a group referenced before it is declared.
type pendingGroup struct {
	line    int
	kind    string
	parents []*group
}

// parseINI adds the INI inventory in data, read from file, to inv.
func parseINI(inv *Inventory, file string, data []byte) error {
	p := &iniParser{inv: inv, file: file, group: inv.groups[groupUngrouped], kind: "hosts", pending: map[string]*pendingGroup{}}
	for i, raw := range splitLines(string(data)) {
		p.line = i + 1
		line := pyStrip(raw)
		if !utf8.ValidString(line) && line != "" && line[0] != '#' && line[0] != ';' {
			return p.errorf("not valid UTF-8")
		}
		if err := p.parseLine(line); err != nil {
			return err
		}
	}
	return p.checkPending()
}

// splitLines splits at every line break Python's str.splitlines knows, so
// line numbers match Ansible's.
func splitLines(s string) []string {
	var lines []string
	start := 0
	for i, r := range s {
		if i < start {
			continue
		}
		switch r {
		case '\n', '\v', '\f', '\x1c', '\x1d', '\x1e', '\u0085', '\u2028', '\u2029':
			lines = append(lines, s[start:i])
			start = i + utf8.RuneLen(r)
		case '\r':
			lines = append(lines, s[start:i])
			start = i + 1
			if strings.HasPrefix(s[start:], "\n") {
				start++
			}
		}
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}

// pyStrip trims what Python's str.strip does: Unicode white space and the
// ASCII separators 0x1c-0x1f.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f })
}

func (p *iniParser) parseLine(line string) error {
	if line == "" || line[0] == '#' || line[0] == ';' {
		return nil
	}
	if m := iniSection.FindStringSubmatch(line); m != nil {
		return p.section(m[1], m[2])
	}
	if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
		return p.errorf("invalid section %q: no spaces or other invalid characters are allowed in a section name", line)
	}
	switch p.kind {
	case "hosts":
		return p.hostLine(line)
	case "vars":
		return p.varLine(line)
	}
	return p.childLine(line)
}

func (p *iniParser) errorf(format string, args ...any) error {
	return errorf(p.file, p.line, format, args...)
}

func (p *iniParser) origin() origin { return origin{p.file, p.line} }

func (p *iniParser) section(name, kind string) error {
	if kind == "" {
		kind = "hosts"
	}
	if kind != "hosts" && kind != "children" && kind != "vars" {
		return p.errorf("section [%s:%s] has unknown type %q (want hosts, children or vars)", name, kind, kind)
	}
	_, known := p.inv.groups[name]
	p.group, p.kind = p.inv.addGroup(name), kind
	if !known && kind == "vars" {
		if _, ok := p.pending[name]; !ok {
			p.addPending(name, &pendingGroup{line: p.line, kind: kind})
		}
	}
	pend, ok := p.pending[name]
	if !ok || kind == "vars" {
		return nil
	}
	if pend.kind == "children" {
		return p.resolvePending(name)
	}
	delete(p.pending, name)
	return nil
}

func (p *iniParser) addPending(name string, pg *pendingGroup) {
	p.pending[name] = pg
	p.order = append(p.order, name)
}

// resolvePending attaches a group declared after it was named as a child.
func (p *iniParser) resolvePending(name string) error {
	pend := p.pending[name]
	delete(p.pending, name)
	child := p.inv.groups[name]
	for _, parent := range pend.parents {
		if err := p.inv.addChild(parent, child); err != nil {
			return errorf(p.file, pend.line, "[%s:children]: %v", parent.name, err)
		}
		if pp, ok := p.pending[parent.name]; ok && pp.kind == "children" {
			if err := p.resolvePending(parent.name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *iniParser) checkPending() error {
	for _, name := range p.order {
		pend, ok := p.pending[name]
		if !ok {
			continue
		}
		if pend.kind == "vars" {
			return errorf(p.file, pend.line, "section [%s:vars] is for a group that is not defined", name)
		}
		parent := pend.parents[len(pend.parents)-1]
		return errorf(p.file, pend.line, "section [%s:children] names undefined group %q", parent.name, name)
	}
	return nil
}

func (p *iniParser) hostLine(line string) error {
	tokens, err := shlexSplit(line)
	if err != nil {
		return p.errorf("host line %q: %v", line, err)
	}
	if len(tokens) == 0 || tokens[0] == "" {
		return p.errorf("host line %q has no host name", line)
	}
	names, port, err := p.hostNames(tokens[0])
	if err != nil {
		return err
	}
	vars := map[string]any{}
	var keys []string
	for _, t := range tokens[1:] {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return p.errorf("expected key=value host variable, got %q", t)
		}
		if _, dup := vars[k]; !dup {
			keys = append(keys, k)
		}
		vars[k] = iniValue(v)
	}
	for _, name := range names {
		h := p.inv.addHost(name, p.group, port, p.origin())
		for _, k := range keys {
			h.own.set(k, vars[k], p.origin())
		}
	}
	return nil
}

func (p *iniParser) hostNames(entry string) ([]string, int, error) {
	if strings.HasSuffix(entry, ":") {
		return nil, 0, p.errorf("host %q ends in ':', which is reserved for a port", entry)
	}
	names, port, err := expandHostPattern(entry)
	if err != nil {
		return nil, 0, p.errorf("%v", err)
	}
	for _, n := range names {
		if n == "---" {
			return nil, 0, p.errorf("host %q: '---' is a sign this is a YAML file", entry)
		}
	}
	return names, port, nil
}

func (p *iniParser) varLine(line string) error {
	k, v, ok := strings.Cut(line, "=")
	if !ok {
		return p.errorf("expected key=value, got %q", line)
	}
	if err := setGroupVar(p.group, strings.TrimSpace(k), iniValue(strings.TrimSpace(v)), p.origin()); err != nil {
		return p.errorf("%v", err)
	}
	return nil
}

func (p *iniParser) childLine(line string) error {
	m := iniGroupName.FindStringSubmatch(line)
	if m == nil {
		return p.errorf("expected a group name, got %q", line)
	}
	name := m[1]
	child, ok := p.inv.groups[name]
	if !ok {
		if pend, ok := p.pending[name]; ok {
			pend.parents = append(pend.parents, p.group)
		} else {
			p.addPending(name, &pendingGroup{line: p.line, kind: "children", parents: []*group{p.group}})
		}
		return nil
	}
	if err := p.inv.addChild(p.group, child); err != nil {
		return p.errorf("%v", err)
	}
	return nil
}
