package inventory

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// pyJSON renders v as Python's json.dumps(v, sort_keys=True, indent=4,
// ensure_ascii=False) does, so remedy's output is byte for byte the one
// ansible-inventory prints.
func pyJSON(v any) string {
	var b strings.Builder
	writePyJSON(&b, v, 0)
	return b.String()
}

func writePyJSON(b *strings.Builder, v any, depth int) {
	switch x := v.(type) {
	case map[string]any:
		writePyObject(b, x, depth)
	case []any:
		writePyArray(b, x, depth)
	case []string:
		items := make([]any, len(x))
		for i, s := range x {
			items[i] = s
		}
		writePyArray(b, items, depth)
	case string:
		writePyString(b, x)
	default:
		b.WriteString(pyJSONScalar(x))
	}
}

func writePyObject(b *strings.Builder, m map[string]any, depth int) {
	if len(m) == 0 {
		b.WriteString("{}")
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return pyLess(keys[i], keys[j]) })
	b.WriteString("{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",")
		}
		newline(b, depth+1)
		writePyString(b, k)
		b.WriteString(": ")
		writePyJSON(b, m[k], depth+1)
	}
	newline(b, depth)
	b.WriteString("}")
}

// pyLess orders strings by code point, as Python sorts str.
func pyLess(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		if ra[i] != rb[i] {
			return ra[i] < rb[i]
		}
	}
	return len(ra) < len(rb)
}

func writePyArray(b *strings.Builder, items []any, depth int) {
	if len(items) == 0 {
		b.WriteString("[]")
		return
	}
	b.WriteString("[")
	for i, it := range items {
		if i > 0 {
			b.WriteString(",")
		}
		newline(b, depth+1)
		writePyJSON(b, it, depth+1)
	}
	newline(b, depth)
	b.WriteString("]")
}

func newline(b *strings.Builder, depth int) {
	b.WriteString("\n")
	b.WriteString(strings.Repeat("    ", depth))
}

func writePyString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				b.WriteString(`\u`)
				b.WriteString(strings.Repeat("0", 4-len(strconv.FormatInt(int64(r), 16))))
				b.WriteString(strconv.FormatInt(int64(r), 16))
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// pyJSONScalar renders a non-container value as Python's json module does.
func pyJSONScalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return pyFloat(x)
	case string:
		return x
	}
	return "null"
}

// pyFloat is Python's float repr: the shortest digits, always with a dot or
// an exponent, in exponent form below 1e-4 and from 1e16.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
