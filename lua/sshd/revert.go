package sshd

import (
	"fmt"
	"strings"

	"remedy/lua/shell"
)

// RevertFiles returns the shell lines that save files into a timed
// revert's directory $d (see package revert), and put them back from
// there: a file that did not exist when saved is removed again. restart
// is run after the files are back, to make sshd read them.
func RevertFiles(paths []string, restart string) (save, restore string) {
	var s, r []string
	for i, p := range paths {
		q, saved := shell.Quote(p), fmt.Sprintf(`"$d/file%d"`, i)
		s = append(s, fmt.Sprintf("if [ -e %s ]; then cp -a %s %s; fi", q, q, saved))
		r = append(r, fmt.Sprintf("if [ -e %s ]; then cp -a %s %s; else rm -f %s; fi", saved, saved, q, q))
	}
	return strings.Join(s, "; "), strings.Join(append(r, restart), "; ")
}
