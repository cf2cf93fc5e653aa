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
// wrote, each with the commit it ran on.
func spliceDoc(path, name, block string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("doc: %w", err)
	}
	begin, end := []byte("<!-- bench:"+name+" -->\n"), []byte("<!-- /bench:"+name+" -->")
	i, j := bytes.Index(doc, begin), bytes.Index(doc, end)
	if i < 0 || j < i {
		return fmt.Errorf("doc %s: no %s ... %s markers to put the %s table between", path, bytes.TrimSpace(begin), end, name)
	}
	var out bytes.Buffer
	out.Write(doc[:i+len(begin)])
	out.WriteString(strings.TrimSpace(block) + "\n")
	out.Write(doc[j:])
	return os.WriteFile(path, out.Bytes(), 0o644)
}

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
