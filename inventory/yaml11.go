package inventory

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// PyYAML's YAML 1.1 resolver, which Ansible uses: "yes" and "on" are true,
// "0755" is octal, "1e3" (no dot) stays a string.
var (
	yaml11Bool = map[string]bool{
		"yes": true, "Yes": true, "YES": true, "true": true, "True": true, "TRUE": true, "on": true, "On": true, "ON": true,
		"no": false, "No": false, "NO": false, "false": false, "False": false, "FALSE": false, "off": false, "Off": false, "OFF": false,
	}
	yaml11Int   = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	yaml11Float = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
)

// resolveYAML11 types a plain scalar.
func resolveYAML11(s string) any {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return nil
	}
	if b, ok := yaml11Bool[s]; ok {
		return b
	}
	if yaml11Int.MatchString(s) {
		if n, ok := yaml11ToInt(s); ok {
			return n
		}
		return s
	}
	if yaml11Float.MatchString(s) {
		return yaml11ToFloat(s)
	}
	return s
}

func splitSign(s string) (int, string) {
	switch {
	case strings.HasPrefix(s, "-"):
		return -1, s[1:]
	case strings.HasPrefix(s, "+"):
		return 1, s[1:]
	}
	return 1, s
}

func yaml11ToInt(s string) (int, bool) {
	sign, s := splitSign(strings.ReplaceAll(s, "_", ""))
	var n int64
	var err error
	switch {
	case s == "0":
		return 0, true
	case strings.HasPrefix(s, "0b"):
		n, err = strconv.ParseInt(s[2:], 2, 64)
	case strings.HasPrefix(s, "0x"):
		n, err = strconv.ParseInt(s[2:], 16, 64)
	case strings.HasPrefix(s, "0"):
		n, err = strconv.ParseInt(s[1:], 8, 64)
	case strings.Contains(s, ":"):
		n, err = sexagesimal(s)
	default:
		n, err = strconv.ParseInt(s, 10, 64)
	}
	return sign * int(n), err == nil
}

func sexagesimal(s string) (int64, error) {
	var n int64
	for _, part := range strings.Split(s, ":") {
		d, err := strconv.ParseInt(part, 10, 64)
		if err != nil {
			return 0, err
		}
		n = n*60 + d
	}
	return n, nil
}

func yaml11ToFloat(s string) float64 {
	sign, s := splitSign(strings.ToLower(strings.ReplaceAll(s, "_", "")))
	switch {
	case s == ".inf":
		return float64(sign) * math.Inf(1)
	case s == ".nan":
		return math.NaN()
	case strings.Contains(s, ":"):
		whole, frac, _ := strings.Cut(s, ".")
		n, _ := sexagesimal(whole)
		f, _ := strconv.ParseFloat("0."+frac, 64)
		return float64(sign) * (float64(n) + f)
	}
	f, _ := strconv.ParseFloat(s, 64)
	return float64(sign) * f
}
