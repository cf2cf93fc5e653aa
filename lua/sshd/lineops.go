package sshd

import (
	"slices"
	"strings"
)

// fileOps are line edits of one file.
type fileOps struct {
	replace map[int]string   // line index -> its new text
	after   map[int][]string // line index -> lines inserted after it; -1 is the top
}

// planOps computes the line edits that give each group its target ports:
// lines naming other ports are commented out, missing ports are added after
// the group's last line.
func planOps(t *tree, main string, groups []*group, targets [][]int) map[string]*fileOps {
	ops := map[string]*fileOps{}
	get := func(file string) *fileOps {
		if ops[file] == nil {
			ops[file] = &fileOps{replace: map[int]string{}, after: map[int][]string{}}
		}
		return ops[file]
	}
	for i, g := range groups {
		target := targets[i]
		if target == nil {
			continue
		}
		for _, d := range g.lines {
			if !slices.Contains(target, d.port) {
				get(d.file).replace[d.line] = "#" + t.lines[d.file][d.line] + "  # disabled by " + Marker
			}
		}
		var added []string
		for _, p := range target {
			if !slices.Contains(g.explicit, p) {
				added = append(added, g.directive(p))
			}
		}
		if len(added) > 0 {
			file, line := anchor(t, main, g)
			fo := get(file)
			fo.after[line] = append(fo.after[line], append([]string{"# added by " + Marker}, added...)...)
		}
	}
	return ops
}

// anchor returns where a group's new lines go: after its last line, or for
// the Port group without Port lines, in the main file after a commented-out
// "#Port" line if there is one, else before the first Match block, else at
// the end.
func anchor(t *tree, main string, g *group) (string, int) {
	if len(g.lines) > 0 {
		last := g.lines[len(g.lines)-1]
		return last.file, last.line
	}
	lines := t.lines[main]
	end := len(lines)
	for _, d := range t.directives {
		if d.file == main && d.key == "match" {
			end = d.line
			break
		}
	}
	at := end - 1
	for i := range end {
		if isCommentedPort(lines[i]) {
			at = i
		}
	}
	return main, at
}

func isCommentedPort(line string) bool {
	s := strings.TrimLeft(line, " \t")
	if !strings.HasPrefix(s, "#") {
		return false
	}
	key, args, err := splitDirective(strings.TrimLeft(s, "#"))
	return err == nil && key == "port" && len(args) == 1
}

// render applies ops to every file of the tree and returns the new texts.
func (t *tree) render(ops map[string]*fileOps) map[string]string {
	out := map[string]string{}
	for _, f := range t.files {
		fo := ops[f]
		if fo == nil {
			out[f] = t.text[f]
			continue
		}
		res := slices.Clone(fo.after[-1])
		for i, l := range t.lines[f] {
			if r, ok := fo.replace[i]; ok {
				l = r
			}
			res = append(res, l)
			res = append(res, fo.after[i]...)
		}
		out[f] = strings.Join(res, "\n")
		if len(res) > 0 {
			out[f] += "\n"
		}
	}
	return out
}
