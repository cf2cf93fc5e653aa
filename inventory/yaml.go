package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

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
	for i := 0; i+1 < len(root.Content); i += 2 {
		if _, err := p.group(root.Content[i], root.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

type yamlParser struct {
	inv  *Inventory
	file string
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return nodeKind(n.Alias)
	}
	return fmt.Sprintf("the scalar %q", n.Value)
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

// nodeError is a problem inside a value, at the line of the node it names.
type nodeError struct {
	line int
	msg  string
}

func (e *nodeError) Error() string { return e.msg }

func nodeErrorf(n *yaml.Node, format string, args ...any) error {
	return &nodeError{line: n.Line, msg: fmt.Sprintf(format, args...)}
}

func isNull(n *yaml.Node) bool {
	v, err := yamlValue(n)
	return err == nil && v == nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
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
	for i := 0; i+1 < len(body.Content); i += 2 {
		if err := p.section(g, body.Content[i], resolveAlias(body.Content[i+1])); err != nil {
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
	for i := 0; i+1 < len(val.Content); i += 2 {
		k, v := val.Content[i], val.Content[i+1]
		var err error
		if key.Value == "hosts" {
			err = p.hosts(g, k, resolveAlias(v))
		} else {
			err = p.child(g, k, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// groupVars sets a group's vars mapping, merge keys included.
func (p *yamlParser) groupVars(g *group, val *yaml.Node) error {
	vars, err := yamlMapping(val, 0)
	if err != nil {
		return p.errorf(val, "group %q: vars: %v", g.name, err)
	}
	for k, v := range vars {
		if err := setGroupVar(g, k, v); err != nil {
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
	vars := map[string]any{}
	if !isNull(v) {
		val, err := yamlValue(v)
		if err != nil {
			return p.errorf(v, "host %q: %v", s, err)
		}
		if vars, ok = val.(map[string]any); !ok {
			return p.errorf(v, "host %q: variables must be a mapping, found %s", s, nodeKind(v))
		}
	}
	for _, name := range names {
		h := p.inv.addHost(name, g, port)
		combine(h.own, vars)
	}
	return nil
}

// parseYAMLVars reads a group_vars or host_vars file: a mapping, or nothing.
func parseYAMLVars(file string, data []byte) (map[string]any, error) {
	root, err := parseYAMLDoc(file, data)
	if err != nil || root == nil {
		return nil, err
	}
	v, err := yamlValue(root)
	if err != nil {
		return nil, errorAt(file, root, "%v", err)
	}
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(file, root.Line, "variables must be a mapping, found %s", nodeKind(root))
	}
	return m, nil
}

// yamlKey is a mapping key as a string, as Python would print it.
func yamlKey(n *yaml.Node) (string, error) {
	v, err := yamlValue(n)
	if err != nil {
		return "", err
	}
	k, ok := dictKey(v)
	if !ok {
		return "", fmt.Errorf("a key must be a scalar, found %s", nodeKind(n))
	}
	return k, nil
}

// yamlValue converts a node to Go values typed as PyYAML (YAML 1.1) types
// them, which is what Ansible sees.
func yamlValue(n *yaml.Node) (any, error) {
	return yamlValueDepth(n, 0)
}

// maxYAMLDepth bounds nesting and alias expansion.
const maxYAMLDepth = 200

func yamlValueDepth(n *yaml.Node, depth int) (any, error) {
	if depth > maxYAMLDepth {
		return nil, errors.New("YAML nested too deeply")
	}
	switch n.Kind {
	case yaml.AliasNode:
		return yamlValueDepth(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValueDepth(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return yamlMapping(n, depth)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlValueDepth(n.Content[0], depth+1)
	}
	return yamlScalar(n)
}

func yamlMapping(n *yaml.Node, depth int) (map[string]any, error) {
	out := map[string]any{}
	var merges []map[string]any
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style == 0 {
			m, err := yamlMerge(v, depth)
			if err != nil {
				return nil, err
			}
			merges = append(merges, m...)
			continue
		}
		key, err := yamlKey(k)
		if err != nil {
			return nil, err
		}
		if out[key], err = yamlValueDepth(v, depth+1); err != nil {
			return nil, err
		}
	}
	// Merged keys never override the mapping's own; the first merge wins.
	for _, m := range merges {
		for k, v := range m {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out, nil
}

// yamlMerge reads the value of a "<<" key: a mapping or a list of them.
func yamlMerge(v *yaml.Node, depth int) ([]map[string]any, error) {
	v = resolveAlias(v)
	nodes := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		nodes = v.Content
	}
	var out []map[string]any
	for _, n := range nodes {
		n = resolveAlias(n)
		if n.Kind != yaml.MappingNode {
			return nil, nodeErrorf(n, "a merge key needs a mapping, found %s", nodeKind(n))
		}
		m, err := yamlMapping(n, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// yamlScalar types a scalar: quoted and block scalars are strings, explicit
// tags are honoured, plain scalars follow YAML 1.1.
func yamlScalar(n *yaml.Node) (any, error) {
	if n.Style&yaml.TaggedStyle != 0 {
		return taggedScalar(n)
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Value, nil
	}
	return resolveYAML11(n.Value), nil
}

func taggedScalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!unsafe":
		return n.Value, nil
	case "!!int", "!!float", "!!bool", "!!null":
		v := resolveYAML11(n.Value)
		if _, isString := v.(string); isString {
			return nil, nodeErrorf(n, "%q is not a valid %s", n.Value, n.ShortTag())
		}
		return v, nil
	}
	return nil, nodeErrorf(n, "unsupported YAML tag %s", strings.TrimPrefix(n.Tag, "!!"))
}
