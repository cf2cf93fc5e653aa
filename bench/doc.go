package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// spliceDoc puts block between the markers <!-- bench:NAME --> and
// <!-- /bench:NAME --> of the Markdown file at path, in place of what
// was there: docs/benchmarks.md holds the tables the last `make bench`
// wrote, each with the commit it ran on. A block the file does not have
// yet (a host count measured for the first time) goes before the marker
// <!-- bench:more -->, under a heading of its name.
func spliceDoc(path, name, block string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("doc: %w", err)
	}
	begin, end := "<!-- bench:"+name+" -->\n", "<!-- /bench:"+name+" -->"
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		more := bytes.Index(doc, []byte(moreMarker))
		if more < 0 {
			return fmt.Errorf("doc %s: neither %s ... %s nor %s to put the %s table at", path, strings.TrimSpace(begin), end, moreMarker, name)
		}
		heading := name
		if n, ok := strings.CutPrefix(name, "hosts-"); ok {
			heading = n + " hosts"
		}
		section := "### " + heading + "\n\n" + begin + end + "\n\n"
		doc = append(doc[:more:more], append([]byte(section), doc[more:]...)...)
		i, j = bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	}
	var out bytes.Buffer
	out.Write(doc[:i+len(begin)])
	out.WriteString(strings.TrimSpace(block) + "\n")
	out.Write(doc[j:])
	return os.WriteFile(path, out.Bytes(), 0o644)
}

const moreMarker = "<!-- bench:more -->"

// machine says what the numbers were measured on.
func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s)", runtime.NumCPU(), model)
}
