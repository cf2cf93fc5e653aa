package inventory

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// notYAMLInventory says a file is not a YAML mapping at all, so the INI
// parser gets its turn, as in Ansible's plugin chain.
type notYAMLInventory struct{ err error }

func (e *notYAMLInventory) Error() string { return e.err.Error() }

// parseYAMLDoc parses data as exactly one YAML document; it returns nil for
// an empty file.
func parseYAMLDoc(file string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(file, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		line := next.Line
		if err != nil {
			return nil, yamlError(file, err)
		}
		return nil, errorf(file, line, "expected a single YAML document, found another")
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// yamlError turns a yaml.v3 error into an Error with the line it names.
func yamlError(file string, err error) *Error {
	msg := err.Error()
	m := yamlLine.FindStringSubmatch(msg)
	line := 0
	if m != nil {
		msg = msg[len(m[0]):]
		line, _ = strconv.Atoi(m[1])
	}
	return errorf(file, line, "YAML: %s", msg)
}

// parseYAMLInventory adds a YAML inventory (top-level keys are groups, each
// with hosts, vars and children) to inv.
func parseYAMLInventory(inv *Inventory, file string, data []byte) error {
	root, err := parseYAMLDoc(file, data)
	if err != nil {
		return &notYAMLInventory{err}
	}
	if root == nil {
		return &notYAMLInventory{errorf(file, 0, "empty YAML file")}
	}
	if root.Kind != yaml.MappingNode {
		return &notYAMLInventory{errorf(file, root.Line, "YAML inventory must be a mapping of groups, found %s", nodeKind(root))}
	}
	p := &yamlParser{inv: inv, file: file}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "plugin" {
			return errorf(file, root.Content[i].Line, "inventory plugin configuration files are not supported")
		}
	}
	for _, kv := range pairs(root) {
		if _, err := p.group(kv.key, kv.value); err != nil {
			return err
		}
	}
	return nil
}

// keyValue is one entry of a YAML mapping.
type keyValue struct{ key, value *yaml.Node }

// pairs lists a mapping's entries as Python's dict has them: a repeated key
// keeps its first place and its last value.
func pairs(n *yaml.Node) []keyValue {
	var out []keyValue
	at := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode {
			if j, ok := at[k.Value]; ok {
				out[j].value = v
				continue
			}
			at[k.Value] = len(out)
		}
		out = append(out, keyValue{k, v})
	}
	return out
}

type yamlParser struct {
	inv  *Inventory
	file string
}

// errorf reports at node n, or at the node a wrapped nodeError names,
// which is closer to the problem.
func (p *yamlParser) errorf(n *yaml.Node, format string, args ...any) error {
	return errorAt(p.file, n, format, args...)
}

func errorAt(file string, n *yaml.Node, format string, args ...any) error {
	line := n.Line
	for _, a := range args {
		var ne *nodeError
		if err, ok := a.(error); ok && errors.As(err, &ne) {
			line = ne.line
		}
	}
	return errorf(file, line, format, args...)
}

// group reads one group: its name node and its mapping of hosts, vars and
// children (or null).
func (p *yamlParser) group(key, body *yaml.Node) (*group, error) {
	name, err := yamlKey(key)
	if err != nil {
		return nil, p.errorf(key, "group name: %v", err)
	}
	g := p.inv.addGroup(name)
	body = resolveAlias(body)
	if isNull(body) {
		return g, nil
	}
	if body.Kind != yaml.MappingNode {
		return nil, p.errorf(body, "group %q must be a mapping with hosts, vars or children, found %s", name, nodeKind(body))
	}
	for _, kv := range pairs(body) {
		if err := p.section(g, kv.key, resolveAlias(kv.value)); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (p *yamlParser) section(g *group, key, val *yaml.Node) error {
	if key.Value != "hosts" && key.Value != "vars" && key.Value != "children" {
		return p.errorf(key, "group %q: unexpected key %q (want hosts, vars or children)", g.name, key.Value)
	}
	if isNull(val) {
		return nil
	}
	if val.Kind == yaml.ScalarNode {
		// Ansible reads "hosts: web1" as "hosts: {web1: }".
		val = &yaml.Node{Kind: yaml.MappingNode, Line: val.Line, Content: []*yaml.Node{val, {Kind: yaml.ScalarNode, Tag: "!!null", Line: val.Line}}}
	}
	if val.Kind != yaml.MappingNode {
		return p.errorf(val, "group %q: %s must be a mapping, found %s", g.name, key.Value, nodeKind(val))
	}
	if key.Value == "vars" {
		return p.groupVars(g, val)
	}
	for _, kv := range pairs(val) {
		var err error
		if key.Value == "hosts" {
			err = p.hosts(g, kv.key, resolveAlias(kv.value))
		} else {
			err = p.child(g, kv.key, kv.value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// groupVars sets a group's vars mapping, merge keys included.
func (p *yamlParser) groupVars(g *group, val *yaml.Node) error {
	vars, err := yamlValue(val)
	if err != nil {
		return p.errorf(val, "group %q: vars: %v", g.name, err)
	}
	l := yamlVars(p.file, val, vars.(map[string]any))
	for k, v := range l.vars {
		if err := setGroupVar(g, k, v, l.at[k]); err != nil {
			return p.errorf(val, "%v", err)
		}
	}
	return nil
}

func (p *yamlParser) child(parent *group, k, v *yaml.Node) error {
	child, err := p.group(k, v)
	if err != nil {
		return err
	}
	if err := p.inv.addChild(parent, child); err != nil {
		return p.errorf(k, "%v", err)
	}
	return nil
}

func (p *yamlParser) hosts(g *group, k, v *yaml.Node) error {
	entry, err := yamlValue(k)
	if err != nil {
		return p.errorf(k, "host: %v", err)
	}
	s, ok := entry.(string)
	if !ok {
		return p.errorf(k, "host pattern %s must be a string: enclose numbers in quotes", k.Value)
	}
	names, port, err := expandHostPattern(s)
	if err != nil {
		return p.errorf(k, "%v", err)
	}
	var vars varLayer
	if !isNull(v) {
		val, err := yamlValue(v)
		if err != nil {
			return p.errorf(v, "host %q: %v", s, err)
		}
		m, ok := val.(map[string]any)
		if !ok {
			return p.errorf(v, "host %q: variables must be a mapping, found %s", s, nodeKind(v))
		}
		vars = yamlVars(p.file, v, m)
	}
	for _, name := range names {
		h := p.inv.addHost(name, g, port, origin{p.file, k.Line})
		h.own.add(vars)
	}
	return nil
}

// parseYAMLVars reads a group_vars or host_vars file: a mapping, or nothing.
func parseYAMLVars(file string, data []byte) (varLayer, error) {
	root, err := parseYAMLDoc(file, data)
	if err != nil || root == nil {
		return varLayer{}, err
	}
	v, err := yamlValue(root)
	if err != nil {
		return varLayer{}, errorAt(file, root, "%v", err)
	}
	if v == nil {
		return varLayer{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return varLayer{}, errorf(file, root.Line, "variables must be a mapping, found %s", nodeKind(root))
	}
	return yamlVars(file, resolveAlias(root), m), nil
}
