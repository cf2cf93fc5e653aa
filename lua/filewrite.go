package lua

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aymanbagabas/go-udiff"

	"remedy/lua/shell"
)

// FileWrite is the state a file should end up in.
type FileWrite struct {
	Path     string
	Content  []byte
	Mode     string   // octal like "0644"; "" keeps the current mode, 0644 for a new file
	Owner    string   // "user" or "user:group"; "" keeps the current owner
	Backup   bool     // copy the current file aside before replacing it
	Validate []string // argv run on the candidate before it replaces the file; "%s" is its path
}

// FileChange is what a write did, or would do in check mode.
type FileChange struct {
	Changed bool
	Diff    string
	Backup  string // the backup's path, when one was (or would be) made
}

// fileState is a file as it is on the host.
type fileState struct {
	exists  bool
	content []byte
	mode    string // "0644"
	owner   string // "user:group"
}

// writePlan is what it takes to get from a fileState to a FileWrite. The
// same plan is reported in check mode and carried out otherwise.
type writePlan struct {
	diff    string
	tmp     string     // the candidate file, when the content changes
	backup  string     // "" when no backup is made
	content []byte     // written to tmp
	mode    uint32     // tmp's mode at creation
	steps   [][]string // commands, in order, after tmp is written
}

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

// planWrite computes the steps from cur to w. tmp and backup are the names
// to use for the candidate and the backup; relabel asks for the SELinux
// label the policy gives the path, since a renamed file keeps the label
// the temporary file got. It does no I/O.
func planWrite(w FileWrite, cur fileState, tmp, backup string, relabel bool) (writePlan, error) {
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
	owner := cur.owner
	if w.Owner != "" {
		if !ownerName.MatchString(w.Owner) {
			return writePlan{}, fmt.Errorf("owner %q is not a user or user:group name", w.Owner)
		}
		owner = w.Owner
	}
	if cur.exists && string(cur.content) == string(w.Content) {
		return planAttrs(w, cur, mode), nil
	}
	p := writePlan{tmp: tmp, content: w.Content, diff: unifiedDiff(w.Path, cur, w.Content)}
	n, _ := strconv.ParseUint(mode, 8, 32)
	p.mode = uint32(n)
	p.steps = append(p.steps, []string{"chmod", mode, "--", tmp})
	if owner != "" {
		p.steps = append(p.steps, []string{"chown", "--", owner, tmp})
	}
	if len(w.Validate) > 0 {
		v, err := validateArgv(w.Validate, tmp)
		if err != nil {
			return writePlan{}, err
		}
		p.steps = append(p.steps, v)
	}
	if w.Backup && cur.exists {
		p.backup = backup
		p.steps = append(p.steps, []string{"cp", "-p", "--", w.Path, backup})
	}
	p.steps = append(p.steps, []string{"mv", "-f", "--", tmp, w.Path})
	if relabel {
		p.steps = append(p.steps, []string{"restorecon", "--", w.Path})
	}
	return p, nil
}

// planAttrs handles a file whose content is right but whose mode or owner
// may not be.
func planAttrs(w FileWrite, cur fileState, mode string) writePlan {
	var p writePlan
	if w.Mode != "" && mode != cur.mode {
		p.steps = append(p.steps, []string{"chmod", mode, "--", w.Path})
	}
	if w.Owner != "" && !ownerMatches(w.Owner, cur.owner) {
		p.steps = append(p.steps, []string{"chown", "--", w.Owner, w.Path})
	}
	return p
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

// summary says in a few words what the plan changes.
func (p writePlan) summary(existed bool) string {
	var parts []string
	switch {
	case p.tmp != "" && existed:
		parts = append(parts, "new content")
	case p.tmp != "":
		parts = append(parts, "created")
	}
	for _, s := range p.steps {
		switch {
		case s[len(s)-1] == p.tmp:
		case s[0] == "chmod":
			parts = append(parts, "mode "+s[1])
		case s[0] == "chown":
			parts = append(parts, "owner "+s[2])
		}
	}
	if p.backup != "" {
		parts = append(parts, "backup "+p.backup)
	}
	return strings.Join(parts, ", ")
}

// planned renders the plan's steps as the command lines they run.
func (p writePlan) planned() []string {
	var out []string
	if p.tmp != "" {
		out = append(out, fmt.Sprintf("write %s (%d bytes)", shell.Quote(p.tmp), len(p.content)))
	}
	for _, s := range p.steps {
		out = append(out, shell.Join(s...))
	}
	return out
}

// WriteFile brings a file to the state w describes, atomically: the new
// content goes to a temporary file in the same directory, is validated,
// the old file is backed up, and a rename puts the candidate in place. A
// failing step removes the candidate and leaves the old file untouched.
// In check mode it reports the same steps and diff and changes nothing.
func (e *Env) WriteFile(w FileWrite) (FileChange, error) {
	cur, err := e.fileState(w.Path)
	if err != nil {
		return FileChange{}, err
	}
	selinux := e.facts.SELinux == "enforcing" || e.facts.SELinux == "permissive"
	p, err := planWrite(w, cur, tempName(w.Path), backupName(w.Path, time.Now()), selinux)
	if err != nil {
		return FileChange{}, fmt.Errorf("%s: %w", w.Path, err)
	}
	if len(p.steps) == 0 {
		return FileChange{}, nil
	}
	e.Changed(p.diff, p.planned()...)
	e.Note("%s: %s", w.Path, p.summary(cur.exists))
	fc := FileChange{Changed: true, Diff: p.diff, Backup: p.backup}
	if e.Check() {
		return fc, nil
	}
	return fc, e.applyWrite(w.Path, p)
}

func (e *Env) applyWrite(target string, p writePlan) error {
	e.forget()
	h := e.host
	if p.tmp != "" {
		if err := h.WriteFile(e.ctx, p.tmp, p.content, p.mode); err != nil {
			// A write cut short leaves part of the file behind.
			_, _ = e.exec(shell.Join("rm", "-f", "--", p.tmp), nil)
			return fmt.Errorf("%s left unchanged: write %s: %w%s", target, p.tmp, err, e.diskFull(path.Dir(p.tmp)))
		}
	}
	for _, s := range p.steps {
		out, err := e.exec(shell.Join(s...), nil)
		if err == nil && out.ExitCode != 0 {
			err = fmt.Errorf("%s: exit status %d: %s", shell.Join(s...), out.ExitCode, trimOutput(append(out.Stderr, out.Stdout...)))
		}
		if err != nil {
			if p.tmp != "" {
				_, _ = e.exec(shell.Join("rm", "-f", "--", p.tmp), nil)
			}
			return fmt.Errorf("%s left unchanged: %w", target, err)
		}
	}
	return nil
}

// fileState reads a file's content, mode and owner from the host for a
// module that will write it; the content is cached (readFileCached).
func (e *Env) fileState(p string) (fileState, error) {
	content, err := e.readFileCached(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fileState{}, nil
	}
	if err != nil {
		return fileState{}, err // the host's error names the path
	}
	st, err := e.stat(p)
	if err != nil {
		return fileState{}, err
	}
	return fileState{exists: true, content: content, mode: st.mode, owner: st.owner}, nil
}

// tempName is a hidden name beside p, so the final rename stays within
// one file system and is atomic.
func tempName(p string) string {
	return path.Join(path.Dir(p), "."+path.Base(p)+".remedy-"+randomHex())
}

// backupName is unique even for several writes to one file within a
// second (three file.line edits in a row), so no backup overwrites the
// one holding the original.
func backupName(p string, now time.Time) string {
	return p + ".remedy-" + now.UTC().Format("20060102T150405Z") + "-" + randomHex() + ".bak"
}

func randomHex() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// diskFull explains a failed write when the filesystem holding dir has no
// space left: SFTP reports only "Failure".
func (e *Env) diskFull(dir string) string {
	out, err := e.Query("df", "-Pk", "--", dir)
	if err != nil || out.ExitCode != 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(out.Stdout)), "\n")
	if f := strings.Fields(lines[len(lines)-1]); len(f) >= 4 && f[3] == "0" {
		return fmt.Sprintf(" (the filesystem holding %s is full)", dir)
	}
	return ""
}
