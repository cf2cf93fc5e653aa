package core

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// placeholder matches {{ name }} and {{ a.b.c }}.
var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}`)

// anyPlaceholder is anything between {{ and }}, to catch malformed ones.
var anyPlaceholder = regexp.MustCompile(`\{\{[^}]*\}\}`)

// Render replaces each {{ name }} in tmpl with the variable's value; a
// dotted name walks into tables (a number indexes a list, from 1). A name
// with no value is an error, so a typo never renders as an empty string.
func Render(tmpl string, vars map[string]any) (string, error) {
	for _, m := range anyPlaceholder.FindAllString(tmpl, -1) {
		if !placeholder.MatchString(m) {
			return "", fmt.Errorf("template: %s is not a variable name like {{ name }} or {{ a.b }}", m)
		}
	}
	var firstErr error
	out := placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		s, err := lookupVar(vars, name)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return s
	})
	if firstErr != nil {
		return "", firstErr
	}
	return out, nil
}

func lookupVar(vars map[string]any, name string) (string, error) {
	var cur any = vars
	for _, part := range strings.Split(name, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[part]
			if !ok {
				return "", fmt.Errorf("template: {{ %s }}: no variable %q", name, part)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 1 || i > len(c) {
				return "", fmt.Errorf("template: {{ %s }}: %q is not an index of a list of %d", name, part, len(c))
			}
			cur = c[i-1]
		default:
			return "", fmt.Errorf("template: {{ %s }}: %q is not a table", name, part)
		}
	}
	return scalarString(name, cur)
}

func scalarString(name string, v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case int:
		return strconv.Itoa(v), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	case nil:
		return "", fmt.Errorf("template: {{ %s }} is nil", name)
	default:
		return "", fmt.Errorf("template: {{ %s }} is a table, not a value", name)
	}
}
