package output

// ANSI SGR codes, the ones Ansible's default callback uses, so a remedy
// run looks like the ansible-playbook output operators already read.
const (
	colorOK          = "0;32" // green
	colorChanged     = "0;33" // yellow
	colorError       = "0;31" // red
	colorSkip        = "0;36" // cyan
	colorUnreachable = "1;31" // bright red
	colorWarn        = "1;35" // bright purple
	colorDiffHunk    = "0;36"
	colorDiffAdd     = "0;32"
	colorDiffDel     = "0;31"
)

// palette colours text, or passes it through when colour is off.
type palette bool

func (p palette) paint(code, s string) string {
	if !p || code == "" || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
