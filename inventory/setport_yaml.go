package inventory

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlPortEdits finds the host's entries under any group's hosts in a YAML
// inventory and changes or adds its port.
func yamlPortEdits(path string, data []byte, host string, port int) ([]edit, error) {
	root, err := parseYAMLDoc(path, data)
	if err != nil {
		return nil, err
	}
	lines := lineStarts(data)
	var entries [][2]*yaml.Node
	collectYAMLHosts(root, host, &entries)
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s: set port of %s: no hosts entry names it alone (a range or the \"hosts: NAME\" short form cannot be changed)", path, host)
	}
	var edits []edit
	for _, e := range entries {
		key, val := e[0], resolveAlias(e[1])
		if _, p, _ := parseAddress(key.Value); p > 0 && key.Style == 0 {
			end := offsetOf(data, lines, key) + len(key.Value)
			colon := strings.LastIndex(key.Value, ":")
			edits = append(edits, edit{end - len(key.Value) + colon + 1, end, strconv.Itoa(port)})
		}
		if val.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(val.Content); i += 2 {
			if val.Content[i].Value == "ansible_port" {
				v := val.Content[i+1]
				start := offsetOf(data, lines, v)
				edits = append(edits, edit{start, start + scalarLen(data[start:], v), strconv.Itoa(port)})
			}
		}
	}
	if len(edits) > 0 {
		return edits, nil
	}
	add, err := addYAMLPort(data, lines, entries[0][0], resolveAlias(entries[0][1]), port)
	if err != nil {
		return nil, fmt.Errorf("%s: set port of %s: %w", path, host, err)
	}
	return []edit{add}, nil
}

// collectYAMLHosts finds every hosts entry for host, walking groups and
// their children.
func collectYAMLHosts(n *yaml.Node, host string, out *[][2]*yaml.Node) {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		if v.Kind != yaml.MappingNode {
			continue
		}
		switch k.Value {
		case "hosts":
			for j := 0; j+1 < len(v.Content); j += 2 {
				if name, _, ok := parseAddress(v.Content[j].Value); ok && name == host {
					*out = append(*out, [2]*yaml.Node{v.Content[j], v.Content[j+1]})
				}
			}
		case "vars":
		default:
			collectYAMLHosts(v, host, out)
		}
	}
}

// addYAMLPort adds ansible_port to a host entry: as the first key of its
// block or flow mapping, or as a new mapping under an empty entry.
func addYAMLPort(data []byte, lines []int, key, val *yaml.Node, port int) (edit, error) {
	p := strconv.Itoa(port)
	switch {
	case val.Kind == yaml.MappingNode && val.Style&yaml.FlowStyle != 0:
		at := offsetOf(data, lines, val) + 1
		sep := ", "
		if len(val.Content) == 0 {
			sep = ""
		}
		return edit{at, at, "ansible_port: " + p + sep}, nil
	case val.Kind == yaml.MappingNode && len(val.Content) > 0:
		first := val.Content[0]
		at := offsetOf(data, lines, first)
		return edit{at, at, "ansible_port: " + p + "\n" + strings.Repeat(" ", first.Column-1)}, nil
	case val.Kind == yaml.ScalarNode && isNull(val):
		keyEnd := offsetOf(data, lines, key) + scalarLen(data[offsetOf(data, lines, key):], key)
		colon := strings.IndexByte(string(data[keyEnd:]), ':')
		if colon < 0 {
			return edit{}, fmt.Errorf("cannot find the ':' after the host")
		}
		start := keyEnd + colon + 1
		end := start
		if val.Value != "" {
			end = offsetOf(data, lines, val) + len(val.Value)
		}
		indent := strings.Repeat(" ", key.Column+1)
		return edit{start, end, "\n" + indent + "ansible_port: " + p}, nil
	}
	return edit{}, fmt.Errorf("its entry is neither empty nor a mapping")
}

func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offsetOf is the byte offset of a node; yaml.v3 columns count runes.
func offsetOf(data []byte, lines []int, n *yaml.Node) int {
	start := lines[n.Line-1]
	line := []rune(string(data[start:]))
	return start + len(string(line[:min(n.Column-1, len(line))]))
}

// scalarLen is the length of a scalar's source text: its quotes included.
func scalarLen(src []byte, n *yaml.Node) int {
	if len(src) > 0 && (src[0] == '"' || src[0] == '\'') {
		for i := 1; i < len(src); i++ {
			if src[i] == src[0] && (src[0] == '\'' || src[i-1] != '\\') {
				return i + 1
			}
		}
	}
	return len(n.Value)
}
