package firewall

import (
	"fmt"
	"strconv"
	"strings"
)

// busToken is one word of what `busctl call` prints: a signature, a
// number or a boolean (bare), or a string (quoted, here unescaped).
type busToken struct {
	text   string
	quoted bool
}

// busTokens splits busctl's reply into its words. busctl prints a string
// between double quotes with C escapes (\" \\ \n, \xNN and \NNN for other
// bytes); everything else is a bare word.
func busTokens(out string) ([]busToken, error) {
	var toks []busToken
	for i := 0; i < len(out); {
		switch c := out[i]; {
		case c == ' ' || c == '\n' || c == '\t':
			i++
		case c == '"':
			s, n, err := busString(out[i+1:])
			if err != nil {
				return nil, fmt.Errorf("busctl reply at byte %d: %w", i, err)
			}
			toks = append(toks, busToken{s, true})
			i += 1 + n
		default:
			j := i
			for j < len(out) && out[j] != ' ' && out[j] != '\n' && out[j] != '\t' {
				j++
			}
			toks = append(toks, busToken{text: out[i:j]})
			i = j
		}
	}
	return toks, nil
}

// busString unescapes a quoted string up to its closing quote, and says
// how many bytes it took, the quote included.
func busString(s string) (string, int, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			return b.String(), i + 1, nil
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			break
		}
		i++
		switch e := s[i]; e {
		case 'a', 'b', 'f', 'n', 'r', 't', 'v':
			b.WriteByte("\a\b\f\n\r\t\v"[strings.IndexByte("abfnrtv", e)])
		case 'x':
			if i+2 >= len(s) {
				return "", 0, fmt.Errorf("short \\x escape")
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", 0, fmt.Errorf("bad \\x escape %q", s[i+1:i+3])
			}
			b.WriteByte(byte(v))
			i += 2
		case '0', '1', '2', '3':
			if i+2 >= len(s) {
				return "", 0, fmt.Errorf("short octal escape")
			}
			v, err := strconv.ParseUint(s[i:i+3], 8, 8)
			if err != nil {
				return "", 0, fmt.Errorf("bad octal escape %q", s[i:i+3])
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte(e)
		}
	}
	return "", 0, fmt.Errorf("unterminated string")
}

// busList reads a reply of one array of strings ("as") or of string
// pairs ("a(ss)", a port and its protocol): its strings, a pair joined
// as "PORT/PROTO".
func busList(out []byte) ([]string, error) {
	toks, err := busTokens(string(out))
	if err != nil {
		return nil, err
	}
	if len(toks) < 2 || (toks[0].text != "as" && toks[0].text != "a(ss)") || toks[0].quoted {
		return nil, fmt.Errorf("busctl reply %.40q: not an array of strings", out)
	}
	n, err := strconv.Atoi(toks[1].text)
	width := 1
	if toks[0].text == "a(ss)" {
		width = 2
	}
	if err != nil || len(toks) != 2+n*width {
		return nil, fmt.Errorf("busctl reply %.40q: %d words for an array of %s", out, len(toks), toks[1].text)
	}
	list := []string{}
	for i := 2; i < len(toks); i += width {
		if width == 2 {
			list = append(list, toks[i].text+"/"+toks[i+1].text)
		} else {
			list = append(list, toks[i].text)
		}
	}
	return list, nil
}

// busSettings reads a settings reply ("a{sv}", as getPolicySettings
// answers): each key's strings, a struct's members one after another;
// a number or boolean as its text.
func busSettings(out []byte) (map[string][]string, error) {
	toks, err := busTokens(string(out))
	if err != nil {
		return nil, err
	}
	bad := func(why string) error { return fmt.Errorf("busctl reply %.40q: %s", out, why) }
	if len(toks) < 2 || toks[0].text != "a{sv}" {
		return nil, bad("not a settings dictionary")
	}
	n, err := strconv.Atoi(toks[1].text)
	if err != nil {
		return nil, bad("no entry count")
	}
	settings := map[string][]string{}
	i := 2
	take := func(k int) ([]string, bool) {
		if i+k > len(toks) {
			return nil, false
		}
		var vals []string
		for _, t := range toks[i : i+k] {
			vals = append(vals, t.text)
		}
		i += k
		return vals, true
	}
	for range n {
		if i+1 >= len(toks) || !toks[i].quoted {
			return nil, bad("short entry")
		}
		key, sig := toks[i].text, toks[i+1].text
		i += 2
		width := busWidth(sig)
		count := 1
		if strings.HasPrefix(sig, "a") {
			if i >= len(toks) {
				return nil, bad("no length for " + key)
			}
			if count, err = strconv.Atoi(toks[i].text); err != nil {
				return nil, bad("no length for " + key)
			}
			i++
		}
		if width == 0 {
			return nil, bad(fmt.Sprintf("%s: signature %s", key, sig))
		}
		vals, ok := take(count * width)
		if !ok {
			return nil, bad("short value of " + key)
		}
		settings[key] = vals
	}
	if i != len(toks) {
		return nil, bad("words after the last entry")
	}
	return settings, nil
}

// busWidth is how many words one element of signature sig takes: a
// basic type one, a struct of basic types one per member, an array's
// element as much; 0 for what a settings reply of firewalld's does not
// hold (nested containers, variants).
func busWidth(sig string) int {
	sig = strings.TrimPrefix(sig, "a")
	if inner, ok := strings.CutPrefix(sig, "("); ok {
		inner, ok = strings.CutSuffix(inner, ")")
		if !ok || strings.ContainsAny(inner, "a({v") {
			return 0
		}
		return len(inner)
	}
	if len(sig) == 1 && strings.Contains("sbiunxqtdyo", sig) {
		return 1
	}
	return 0
}
