package lua

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aymanbagabas/go-udiff"

	"remedy/lua/change"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

// writePlan is what it takes to get from a fileState to a change.File. The
// same plan is reported in check mode and carried out otherwise, by one
// remote script (writeScript). Any change, of content or of mode or owner
// alone, makes a new file in a private directory beside the target and
// renames it into place, so no step ever acts on a path another user
// could swap.
type writePlan struct {
	changes  []string // what changes, in a few words; none: nothing to do
	diff     string
	target   string // the file replaced, every symbolic link resolved
	priv     string // the private directory's name, in target's directory
	content  []byte
	mode     string // the candidate's final mode
	owner    string // chown's argument; "" leaves remedy's user as owner
	label    string // labelKeep, labelRestore or ""
	validate []string
	backup   string // "" when no backup is made
}

// How a write gives the new file its SELinux label, since a renamed file
// keeps the label it was created with: an existing file's label is copied
// onto the candidate before the rename; a new file gets the policy's
// label for its path after it.
const (
	labelKeep    = "keep"
	labelRestore = "restore"
)

var octalMode = regexp.MustCompile(`^0?[0-7]{3,4}$`)

// ownerName is "user" or "user:group" with the characters POSIX allows in
// names (plus a trailing $ for Samba machine accounts); never a leading dash.
var ownerName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?(:[A-Za-z0-9_][A-Za-z0-9_.-]*\$?)?$`)

// normMode returns mode as four octal digits.
func normMode(mode string) (string, error) {
	if !octalMode.MatchString(mode) {
		return "", fmt.Errorf("mode %q is not an octal mode like \"0644\"", mode)
	}
	n, _ := strconv.ParseUint(mode, 8, 32)
	return fmt.Sprintf("%04o", n), nil
}

// writeNames are the fresh names a plan uses beside the target: its
// private directory and its backup.
type writeNames struct {
	priv   string // base name of the private directory
	backup string // full path
}

// planWrite computes how to get from cur to w; relabel says SELinux is on.
// It does no I/O.
func planWrite(w change.File, cur fileState, names writeNames, relabel bool) (writePlan, error) {
	mode := cur.mode
	if w.Mode != "" {
		m, err := normMode(w.Mode)
		if err != nil {
			return writePlan{}, err
		}
		mode = m
	}
	if mode == "" {
		mode = "0644"
	}
	owner := cur.ids
	if w.Owner != "" {
		if !ownerName.MatchString(w.Owner) {
			return writePlan{}, fmt.Errorf("owner %q is not a user or user:group name", w.Owner)
		}
		owner = w.Owner
	}
	p := writePlan{target: cur.path, priv: names.priv, content: w.Content, mode: mode, owner: owner}
	if relabel && cur.exists {
		p.label = labelKeep
	} else if relabel {
		p.label = labelRestore
	}
	if cur.exists && string(cur.content) == string(w.Content) {
		if mode != cur.mode {
			p.changes = append(p.changes, "mode "+mode)
		}
		if w.Owner != "" && !ownerMatches(w.Owner, cur.owner) {
			p.changes = append(p.changes, "owner "+w.Owner)
		}
		return p, nil
	}
	p.diff = unifiedDiff(cur.path, cur, w.Content)
	p.changes = []string{"created"}
	if cur.exists {
		p.changes = []string{"new content"}
	}
	if len(w.Validate) > 0 {
		v, err := validateArgv(w.Validate, p.candidate())
		if err != nil {
			return writePlan{}, err
		}
		p.validate = v
	}
	if w.Backup && cur.exists {
		p.backup = names.backup
		p.changes = append(p.changes, "backup "+p.backup)
	}
	return p, nil
}

// ownerMatches compares "user" or "user:group" with stat's "user:group".
func ownerMatches(want, have string) bool {
	if strings.Contains(want, ":") {
		return want == have
	}
	return strings.SplitN(have, ":", 2)[0] == want
}

func validateArgv(v []string, tmp string) ([]string, error) {
	out := make([]string, len(v))
	found := false
	for i, a := range v {
		if strings.Contains(a, "%s") {
			found = true
		}
		out[i] = strings.ReplaceAll(a, "%s", tmp)
	}
	if !found {
		return nil, fmt.Errorf("validate %q must name the candidate file as %%s", strings.Join(v, " "))
	}
	return out, nil
}

func unifiedDiff(path string, cur fileState, content []byte) string {
	from := path
	if !cur.exists {
		from = "/dev/null"
	}
	return udiff.Unified(from, path, string(cur.content), string(content))
}

// candidate is where the new file is made: in the private directory,
// under the target's own name, which validators and their messages see.
func (p writePlan) candidate() string {
	return path.Join(path.Dir(p.target), p.priv, path.Base(p.target))
}

// writeScript carries out a writePlan on the host, in one round trip, with
// the content on stdin. It makes the private directory (mode 0700, umask
// 077; a setgid directory passes its bit on) beside the target, enters it
// and checks it is remedy's own (another user who can write the target's
// directory can rename it and put theirs in its place), and from then on
// names the candidate only relative to it: nobody else can create, replace
// or reach anything in it. The candidate is created exclusively (set -C)
// with no permission its final mode lacks (the umask says which; both
// umasks stay in subshells, so validate runs with the session's own), then
// given its owner, then its full mode (chmod after chown, which clears
// setuid bits). The backup is a hard link to the old file (its mode,
// owner, label and times as they were), or a copy where links are refused;
// link and rename never follow a symbolic link another user put at their
// destination. A failing step prints "STEP STATUS" on stdout and ends the
// script; the exit trap removes what is left of the private directory.
const writeScript = `target=$1 priv=$2 mode=$3 owner=$4 label=$5 backup=$6
shift 6
dir=${target%/*}/ base=${target##*/}
fail() { printf '%s %s\n' "$1" "$2"; exit 1; }
cd -P -- "$dir" || fail enter $?
(umask 077 && exec mkdir -- "$priv") || fail enter $?
cd -P -- "$priv" || fail enter $?
case $(stat -c %u:%a .) in
"$(id -u)":700 | "$(id -u)":[0-7]700) ;;
*) echo "$dir$priv was replaced by another user's directory" >&2; fail enter 1 ;;
esac
trap 'rm -f -- "./$base" "./$base.bak"; cd -P -- "$dir" && rmdir -- "$priv" 2>/dev/null' EXIT
trap 'exit 1' HUP INT TERM PIPE
(set -C && umask "$(printf %o $((0777 & ~0$mode)))" && exec cat > "./$base") || fail write $?
if [ -n "$owner" ]; then chown -- "$owner" "./$base" >&2 || fail chown $?; fi
chmod -- "$mode" "./$base" >&2 || fail chmod $?
if [ "$label" = keep ]; then chcon --reference="$target" -- "./$base" >&2 || fail label $?; fi
if [ $# -gt 0 ]; then "$@" >&2 || fail validate $?; fi
if [ -n "$backup" ] && ! ln -- "$target" "$backup" 2>/dev/null; then
	{ cp -pP -- "$target" "./$base.bak" && mv -f -T -- "./$base.bak" "$backup"; } >&2 || fail backup $?
fi
mv -f -T -- "./$base" "$target" >&2 || fail rename $?
if [ "$label" = restore ]; then restorecon -- "$target" >&2 || fail relabel $?; fi`

// argv is the command that carries the plan out.
func (p writePlan) argv() []string {
	return append([]string{"sh", "-c", writeScript, "sh", p.target, p.priv, p.mode, p.owner, p.label, p.backup}, p.validate...)
}

// steps are the plan's steps by the names writeScript reports them
// under, each as the command it amounts to.
func (p writePlan) steps() []planStep {
	c := p.candidate()
	steps := []planStep{
		{"enter", shell.Join("mkdir", "-m", "0700", "--", path.Dir(c))},
		{"write", fmt.Sprintf("write %s (%d bytes)", shell.Quote(c), len(p.content))},
	}
	if p.owner != "" {
		steps = append(steps, planStep{"chown", shell.Join("chown", "--", p.owner, c)})
	}
	steps = append(steps, planStep{"chmod", shell.Join("chmod", p.mode, c)})
	if p.label == labelKeep {
		steps = append(steps, planStep{"label", shell.Join("chcon", "--reference="+p.target, "--", c)})
	}
	if len(p.validate) > 0 {
		steps = append(steps, planStep{"validate", shell.Join(p.validate...)})
	}
	if p.backup != "" {
		steps = append(steps, planStep{"backup", shell.Join("ln", "--", p.target, p.backup)})
	}
	steps = append(steps, planStep{"rename", shell.Join("mv", "-f", "-T", "--", c, p.target)})
	if p.label == labelRestore {
		steps = append(steps, planStep{"relabel", shell.Join("restorecon", "--", p.target)})
	}
	return steps
}

type planStep struct{ name, line string }

// planned renders the plan's steps as the command lines they run.
func (p writePlan) planned() []string {
	var out []string
	for _, s := range p.steps() {
		out = append(out, s.line)
	}
	return out
}

func (e *Env) applyWrite(p writePlan) error {
	out, err := e.exec(shell.Join(p.argv()...), p.content)
	if err != nil {
		return fmt.Errorf("%s: write: %w", p.target, err)
	}
	if out.ExitCode == 0 {
		return nil
	}
	stderr := remote.Excerpt(out.Stderr)
	name, status, ok := strings.Cut(strings.TrimSpace(string(out.Stdout)), " ")
	for _, s := range p.steps() {
		switch {
		case !ok || s.name != name:
		case name == "relabel":
			return fmt.Errorf("%s: created, but %s failed: exit status %s: %s; it keeps its directory's default SELinux label until restorecon succeeds", p.target, s.line, status, stderr)
		default:
			return fmt.Errorf("%s left unchanged: %s: exit status %s: %s", p.target, s.line, status, stderr)
		}
	}
	return fmt.Errorf("%s: the write stopped midway (exit status %d): %s; the rename is atomic, so the file holds either its old or its new content", p.target, out.ExitCode, stderr)
}

// newWriteNames picks the private directory's and the backup's names.
// Both hold 64 random bits, so no other user can guess them to put
// something there first; the backup's are unique even for several writes
// to one file within a second (three file.line edits in a row), so no
// backup overwrites the one holding the original.
func newWriteNames(target string, now time.Time) writeNames {
	base := path.Base(target)
	if len(base) > 64 {
		base = base[:64] // a name may be at most 255 bytes
	}
	return writeNames{
		priv:   "." + base + ".remedy-" + randomHex(),
		backup: target + ".remedy-" + now.UTC().Format("20060102T150405Z") + "-" + randomHex() + ".bak",
	}
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
