package shell

import "strconv"

// MissingFile is ReadFileArgv's exit status for a file that does not
// exist: a missing file is told from an unreadable one without parsing
// localized error messages.
const MissingFile = 66

// ReadFileArgv reads p's content with cat, for a batch of reads (where
// the playbook engine takes it for ReadFile) and for the runner's read
// of a file without SFTP alike: cat alone cannot say that the file is
// missing, which both must know without asking again.
func ReadFileArgv(p string) []string {
	script := `test -e "$1" || exit ` + strconv.Itoa(MissingFile) + `; exec cat -- "$1"`
	return []string{"sh", "-c", script, "sh", p}
}
