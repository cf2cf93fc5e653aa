package output

import "strings"

// diffLine is one line of a unified diff, classed for colouring: "file"
// (the ---/+++ header), "hunk", "add", "del" or "ctx".
type diffLine struct {
	Class string
	Text  string
}

// diffLines splits a unified diff into lines classed for colouring.
func diffLines(d string) []diffLine {
	if d == "" {
		return nil
	}
	var out []diffLine
	for _, text := range strings.Split(strings.TrimSuffix(d, "\n"), "\n") {
		class := "ctx"
		switch {
		case strings.HasPrefix(text, "+++"), strings.HasPrefix(text, "---"):
			class = "file"
		case strings.HasPrefix(text, "@@"):
			class = "hunk"
		case strings.HasPrefix(text, "+"):
			class = "add"
		case strings.HasPrefix(text, "-"):
			class = "del"
		}
		out = append(out, diffLine{Class: class, Text: text})
	}
	return out
}
