package output

import "strings"

// mdInline escapes text for Markdown running text: the characters that
// start emphasis, code, links, HTML, entities or table cells anywhere in a
// line are backslash-escaped, and line breaks become spaces. The ones that
// matter only at the start of a line (#, -, +, 1.) never land there: every
// template line starts with its own Markdown.
func mdInline(s string) string {
	var b strings.Builder
	for _, r := range strings.Join(strings.Fields(strings.ReplaceAll(s, "\r", "")), " ") {
		if strings.ContainsRune("\\`*_[]<>|~&", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdCell escapes text for a Markdown table cell: like mdInline, but line
// breaks are kept as <br>, since a cell cannot span lines.
func mdCell(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = mdInline(l)
	}
	return strings.Join(lines, "<br>")
}

func joinLines(lines []string) string { return strings.Join(lines, "\n") }

// mdFence returns a code fence longer than any run of backticks in s, so
// a diff that itself contains a fence cannot end the block early.
func mdFence(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
			continue
		}
		run = 0
	}
	return strings.Repeat("`", max(3, longest+1))
}

// mdCode writes s as an inline code span, which shows it as it is:
// fenced by one backtick more than its longest run of them, and spaced
// from a backtick at either end. Line breaks become spaces.
func mdCode(s string) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\r", "")), " ")
	fence := strings.Repeat("`", len(mdFence(s))-2)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
