package inventory

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SetPort rewrites one host's SSH port in an INI or YAML inventory file in
// place, touching only the port's text so comments and layout stay: an
// existing ansible_port or host:port is changed, otherwise ansible_port is
// added to the host's first entry. The result is re-read and checked before
// it replaces the file, atomically and under a lock (rewrite).
func SetPort(path, host string, port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("%s: set port of %s: %d is not a TCP port", path, host, port)
	}
	edit := func(data []byte) ([]byte, error) {
		yamlFile, err := isYAMLInventory(path, data)
		if err != nil {
			return nil, err
		}
		var edits []edit
		if yamlFile {
			edits, err = yamlPortEdits(path, data, host, port)
		} else {
			edits, err = iniPortEdits(path, string(data), host, port)
		}
		if err != nil {
			return nil, err
		}
		return applyEdits(data, edits), nil
	}
	check := func(candidate string) error { return checkPort(path, candidate, host, port) }
	return rewrite(path, edit, check)
}

// edit replaces data[start:end] with text.
type edit struct {
	start, end int
	text       string
}

func applyEdits(data []byte, edits []edit) []byte {
	sort.Slice(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	out := append([]byte(nil), data...)
	for _, e := range edits {
		out = append(out[:e.start], append([]byte(e.text), out[e.end:]...)...)
	}
	return out
}

// isYAMLInventory says which parser Load would use for the file.
func isYAMLInventory(path string, data []byte) (bool, error) {
	ext := filepath.Ext(path)
	if ext != "" && ext != ".yml" && ext != ".yaml" && ext != ".json" {
		return false, nil
	}
	root, err := parseYAMLDoc(path, data)
	return err == nil && root != nil && root.Kind == yaml.MappingNode, nil
}

var (
	iniPortVar  = regexp.MustCompile(`(?:^|\s)ansible_port=(\S+)`)
	iniHostWord = regexp.MustCompile(`^\s*(\S+)`)
)

// iniPortEdits finds the host's lines in host sections of an INI inventory.
func iniPortEdits(path, text, host string, port int) ([]edit, error) {
	var edits []edit
	firstEnd := -1
	kind, offset := "hosts", 0
	for _, line := range strings.SplitAfter(text, "\n") {
		start := offset
		offset += len(line)
		trimmed := strings.TrimSpace(line)
		if m := iniSection.FindStringSubmatch(trimmed); m != nil {
			kind = m[2]
			continue
		}
		if kind != "" && kind != "hosts" || trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		w := iniHostWord.FindStringSubmatchIndex(line)
		word := line[w[2]:w[3]]
		name, wordPort, ok := parseAddress(word)
		if !ok || name != host {
			continue
		}
		content := withoutComment(strings.TrimRight(line, "\r\n"))
		if firstEnd < 0 {
			firstEnd = start + len(strings.TrimRight(content, " \t"))
		}
		if wordPort > 0 {
			colon := strings.LastIndex(word, ":")
			edits = append(edits, edit{start + w[2] + colon + 1, start + w[3], strconv.Itoa(port)})
		}
		for _, m := range iniPortVar.FindAllStringSubmatchIndex(content, -1) {
			edits = append(edits, edit{start + m[2], start + m[3], strconv.Itoa(port)})
		}
	}
	if firstEnd < 0 {
		return nil, fmt.Errorf("%s: set port of %s: no host line names it (a host in a range cannot be changed alone)", path, host)
	}
	if len(edits) == 0 {
		edits = append(edits, edit{firstEnd, firstEnd, " ansible_port=" + strconv.Itoa(port)})
	}
	return edits, nil
}

// withoutComment cuts a host line at its comment: an unquoted '#', as
// shlex reads it.
func withoutComment(line string) string {
	var quote byte
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case quote == 0 && c == '\\':
			i++
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#':
			return line[:i]
		}
	}
	return line
}

// checkPort re-reads the rewritten inventory, candidate, which lies beside
// the original so group_vars and host_vars count, and checks the host gets
// the new port.
func checkPort(path, candidate, host string, port int) error {
	inv, err := Load([]string{candidate})
	if err != nil {
		return fmt.Errorf("%s: set port of %s: rewritten file does not load: %w", path, host, err)
	}
	h, ok := inv.hosts[host]
	if !ok {
		return fmt.Errorf("%s: set port of %s: host missing after rewrite", path, host)
	}
	if got := h.Conn().Port; got != port {
		return fmt.Errorf("%s: set port of %s: port is still %d after rewrite (set by group_vars or host_vars?)", path, host, got)
	}
	return nil
}
