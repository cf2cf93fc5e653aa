package inventory

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// origin is where a host or a variable was written: a file and line, or
// the -i host list that named it (line 0). A bad connection value is
// reported there, not at the host that inherited it.
type origin struct {
	file string
	line int
}

func (o origin) errorf(format string, args ...any) *Error {
	return errorf(o.file, o.line, format, args...)
}

// varLayer is one source of a host's variables and where each was set.
type varLayer struct {
	vars map[string]any
	at   map[string]origin
}

// set records one variable.
func (l *varLayer) set(key string, value any, at origin) {
	if l.vars == nil {
		l.vars, l.at = map[string]any{}, map[string]origin{}
	}
	l.vars[key], l.at[key] = value, at
}

// add overlays src on l key by key, as combine does.
func (l *varLayer) add(src varLayer) {
	for k, v := range src.vars {
		l.set(k, v, src.at[k])
	}
}

// yamlVars pairs the variables of mapping n (as yamlValue read them) with
// the lines of their keys; a key that came in through a merge key is placed
// at the mapping.
func yamlVars(file string, n *yaml.Node, vars map[string]any) varLayer {
	var l varLayer
	lines := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, err := yamlKey(n.Content[i]); err == nil {
			lines[k] = n.Content[i].Line
		}
	}
	for k, v := range vars {
		line, ok := lines[k]
		if !ok {
			line = n.Line
		}
		l.set(k, v, origin{file, line})
	}
	return l
}

// hostListOrigin names a "-i h1,h2," argument, which has no file.
func hostListOrigin(list string) origin {
	return origin{file: fmt.Sprintf("-i %q", list)}
}
