// Package template renders the {{ }} placeholders of remedy's template()
// with the Jinja filters Ansible users reach for most, with Ansible's
// meaning, and says exactly what it does not know. It is pure: the Lua
// binding (lua/modules/core) looks the variables up, and lint checks a
// literal template's placeholders before any host is contacted.
package template

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Lookup finds the value at path: the variable path[0], then a key of a
// table, or an index (from 1) of a list, for each later element. A value
// that is not there is an *Undefined error, which the default filter
// catches as Jinja's does.
type Lookup func(path []string) (any, error)

// Undefined says a variable, key or index has no value.
type Undefined struct{ Msg string }

func (u *Undefined) Error() string { return u.Msg }

// expression matches everything between {{ and }}.
var expression = regexp.MustCompile(`\{\{(.*?)\}\}`)

// Render replaces each {{ expression }} in tmpl with its value. An
// expression is a variable (a.b.c, a["b"]) followed by any number of
// filters, as Jinja writes them: default (or d), join, lower, upper, int
// and bool, with Ansible's meaning. A variable with no value is an error
// unless default gives one, so a typo never renders as an empty string;
// any other filter is an error that names it.
func Render(tmpl string, lookup Lookup) (string, error) {
	var firstErr error
	out := expression.ReplaceAllStringFunc(tmpl, func(m string) string {
		if firstErr != nil {
			return ""
		}
		s, err := renderExpr(strings.TrimSpace(m[2:len(m)-2]), lookup)
		if err != nil {
			firstErr = fmt.Errorf("template: %s: %w", m, err)
		}
		return s
	})
	if firstErr != nil {
		return "", firstErr
	}
	return out, nil
}

// Check parses every placeholder of tmpl without rendering it: what
// Render would refuse whatever the variables hold (a filter it does not
// know, a malformed expression), for lint.
func Check(tmpl string) error {
	for _, m := range expression.FindAllString(tmpl, -1) {
		p := &parser{src: strings.TrimSpace(m[2 : len(m)-2])}
		if _, err := p.expr(); err != nil {
			return fmt.Errorf("template: %s: %w", m, err)
		}
	}
	return nil
}

func renderExpr(src string, lookup Lookup) (string, error) {
	p := &parser{src: src}
	e, err := p.expr()
	if err != nil {
		return "", err
	}
	v, err := e.eval(lookup)
	if err != nil {
		return "", err
	}
	return scalarString(v)
}

// expr is a parsed {{ }}: a value and the filters applied to it in turn.
type expr struct {
	value   operand
	filters []filterCall
}

// operand is a variable path or a literal.
type operand struct {
	path    []string
	literal any
}

type filterCall struct {
	name string
	args []operand
}

func (o operand) eval(lookup Lookup) (any, error) {
	if o.path == nil {
		return o.literal, nil
	}
	return lookup(o.path)
}

func (e expr) eval(lookup Lookup) (any, error) {
	v, err := e.value.eval(lookup)
	var undef *Undefined
	if err != nil && !errors.As(err, &undef) {
		return nil, err
	}
	for _, f := range e.filters {
		args := make([]any, len(f.args))
		for i, a := range f.args {
			if args[i], err = a.eval(lookup); err != nil {
				return nil, fmt.Errorf("%s: %w", f.name, err)
			}
		}
		if undef != nil && f.name != "default" && f.name != "d" {
			return nil, undef
		}
		filter := filters[f.name]
		if v, err = filter(v, undef != nil, args); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		undef = nil
	}
	if undef != nil {
		return nil, undef
	}
	return v, nil
}

// filters are the Jinja filters template knows: undefined says the
// value is undefined (only default sees it so).
var filters = map[string]func(v any, undefined bool, args []any) (any, error){
	"default": defaultFilter,
	"d":       defaultFilter,
	"join":    joinFilter,
	"lower":   func(v any, _ bool, args []any) (any, error) { return caseFilter(v, args, strings.ToLower) },
	"upper":   func(v any, _ bool, args []any) (any, error) { return caseFilter(v, args, strings.ToUpper) },
	"int":     intFilter,
	"bool":    boolFilter,
}

func filterNames() string {
	names := make([]string, 0, len(filters))
	for n := range filters {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// defaultFilter is Jinja's default(value="", boolean=false): value when
// the input is undefined, or with boolean also when it is false, "", 0
// or an empty list.
func defaultFilter(v any, undefined bool, args []any) (any, error) {
	if len(args) > 2 {
		return nil, errors.New("takes a value and whether a false value counts as undefined")
	}
	def := any("")
	if len(args) > 0 {
		def = args[0]
	}
	falsy := len(args) > 1 && truthy(args[1])
	if undefined || falsy && !truthy(v) {
		return def, nil
	}
	return v, nil
}

// truthy is Python's truth of a value.
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case int64:
		return v != 0
	case int:
		return v != 0
	case float64:
		return v != 0
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

// joinFilter is join(separator=""): a list's items as text.
func joinFilter(v any, _ bool, args []any) (any, error) {
	sep := ""
	switch len(args) {
	case 0:
	case 1:
		s, err := scalarString(args[0])
		if err != nil {
			return nil, fmt.Errorf("separator: %w", err)
		}
		sep = s
	default:
		return nil, errors.New("takes one separator")
	}
	list, ok := v.([]any)
	if !ok {
		if m, isMap := v.(map[string]any); isMap && len(m) == 0 {
			return "", nil // an empty Lua table is a map to ToGo
		}
		return nil, fmt.Errorf("%s is not a list", describe(v))
	}
	parts := make([]string, len(list))
	for i, x := range list {
		s, err := scalarString(x)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i+1, err)
		}
		parts[i] = s
	}
	return strings.Join(parts, sep), nil
}

func caseFilter(v any, args []any, change func(string) string) (any, error) {
	if len(args) > 0 {
		return nil, errors.New("takes no arguments")
	}
	s, err := scalarString(v)
	if err != nil {
		return nil, err
	}
	return change(s), nil
}

// intFilter is Jinja's int(default=0, base=10): a number's whole part, a
// string read in base (or as a decimal number, so "42.7" is 42), and
// default for anything else.
func intFilter(v any, _ bool, args []any) (any, error) {
	def, base := int64(0), 10
	if len(args) > 2 {
		return nil, errors.New("takes a default and a base")
	}
	if len(args) > 0 {
		d, ok := wholeNumber(args[0])
		if !ok {
			return nil, fmt.Errorf("default %s is not a whole number", describe(args[0]))
		}
		def = d
	}
	if len(args) > 1 {
		b, ok := wholeNumber(args[1])
		if !ok || b < 2 || b > 36 {
			return nil, fmt.Errorf("base %s is not 2 to 36", describe(args[1]))
		}
		base = int(b)
	}
	switch v := v.(type) {
	case bool:
		if v {
			return int64(1), nil
		}
		return int64(0), nil
	case int64, int, float64:
		if n, ok := wholeNumber(v); ok {
			return n, nil
		}
		if f := v.(float64); !math.IsInf(f, 0) && !math.IsNaN(f) {
			return truncate(f)
		}
	case string:
		s := strings.TrimSpace(v)
		digits := s
		if prefix := basePrefix[base]; prefix != "" {
			digits = trimBasePrefix(s, prefix)
		}
		if n, err := strconv.ParseInt(digits, base, 64); err == nil {
			return n, nil
		}
		// Python's float() reads no hexadecimal, as Go's would.
		if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xX_") && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return truncate(f)
		}
	}
	return def, nil
}

// truncate is f's whole part; Python's int has no bound, a Lua number
// has, so a larger one is an error rather than a wrong number.
func truncate(f float64) (any, error) {
	if f >= math.MaxInt64 || f < math.MinInt64 {
		return nil, fmt.Errorf("%g is too large for an integer", f)
	}
	return int64(f), nil
}

// basePrefix is the prefix Python's int() allows in a base.
var basePrefix = map[int]string{2: "0b", 8: "0o", 16: "0x"}

func trimBasePrefix(s, prefix string) string {
	sign := ""
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		sign, s = s[:1], s[1:]
	}
	if len(s) > 2 && strings.EqualFold(s[:2], prefix) {
		s = s[2:]
	}
	return sign + s
}

// wholeNumber is v as an integer, when it is one.
func wholeNumber(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), true
		}
	}
	return 0, false
}

// boolFilter is Ansible's bool: true for true, "yes", "on", "1" and
// "true" in any case, and the number 1; false for anything else.
func boolFilter(v any, _ bool, args []any) (any, error) {
	if len(args) > 0 {
		return nil, errors.New("takes no arguments")
	}
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(v) {
		case "yes", "on", "1", "true":
			return true, nil
		}
	case int64, int, float64:
		n, ok := wholeNumber(v)
		return ok && n == 1, nil
	}
	return false, nil
}

// scalarString is a value as the template writes it.
func scalarString(v any) (string, error) {
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
		return "", errors.New("the value is nil")
	case []any:
		return "", errors.New("a list, not a value (| join(\",\") makes it one)")
	default:
		return "", errors.New("a table, not a value")
	}
}

func describe(v any) string {
	switch v.(type) {
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	case nil:
		return "nil"
	}
	return fmt.Sprintf("%q", fmt.Sprint(v))
}
