package inventory

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// nodeKind describes a node for an error message.
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
	c := &yamlConverter{done: map[*yaml.Node]any{}}
	return c.value(n)
}

// maxYAMLDepth bounds nesting.
const maxYAMLDepth = 200

// yamlConverter converts each anchored node once and shares the result
// between its aliases, so a file of nested aliases ("billion laughs") costs
// no more than its size.
type yamlConverter struct {
	done  map[*yaml.Node]any
	depth int
}

func (c *yamlConverter) value(n *yaml.Node) (any, error) {
	if v, ok := c.done[n]; ok {
		return v, nil
	}
	if c.depth++; c.depth > maxYAMLDepth {
		return nil, nodeErrorf(n, "YAML nested too deeply")
	}
	defer func() { c.depth-- }()
	v, err := c.convert(n)
	if err == nil && n.Anchor != "" {
		c.done[n] = v
	}
	return v, err
}

func (c *yamlConverter) convert(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.AliasNode:
		return c.value(n.Alias)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := c.value(item)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return c.mapping(n)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0])
	}
	return yamlScalar(n)
}

func (c *yamlConverter) mapping(n *yaml.Node) (map[string]any, error) {
	out := map[string]any{}
	var merges []map[string]any
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style == 0 {
			m, err := c.merge(v)
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
		if out[key], err = c.value(v); err != nil {
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

// merge reads the value of a "<<" key: a mapping or a list of them.
func (c *yamlConverter) merge(v *yaml.Node) ([]map[string]any, error) {
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
		m, err := c.value(n)
		if err != nil {
			return nil, err
		}
		out = append(out, m.(map[string]any))
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
