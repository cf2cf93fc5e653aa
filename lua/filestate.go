package lua

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"remedy/lua/remote"
	"remedy/lua/shell"
)

// fileState is a file as it is on the host, found by following every
// symbolic link on the way to it.
type fileState struct {
	path    string // the file itself: no symbolic link left in it
	exists  bool
	content []byte
	mode    string // "0644"
	owner   string // "user:group", as shown
	ids     string // "uid:gid", what a rewrite keeps (a name may not resolve)
}

// effectiveUID sets me to the shell's effective uid, as id -u prints it,
// read by the shell itself from /proc where it can: a process start is
// most of what a short read costs a host.
const effectiveUID = `me=
[ -r /proc/self/status ] && while read -r k u e x; do [ "$k" = Uid: ] && { me=$e; break; }; done </proc/self/status
[ -n "$me" ] || me=$(id -u)`

// resolveScript walks a path one name at a time, as the kernel does, and
// prints what it ends on: "exists" with the file's stat line, "new"
// (missing, its directory there), "dangling" (a symbolic link to nothing),
// "nodir" (the directory is missing), "loop" (more than 40 links), or
// "untrusted" with the owner of a link that neither root nor the user
// remedy writes as owns, which is not followed: the kernel's
// protected_symlinks idea, for every directory, since remedy runs as root.
// The last line is a path, printed as is (it may hold newlines). In a
// batch (lua/shell) it starts no process for a missing file, and only
// stat for a file.
const resolveScript = effectiveUID + `
p=$1 r= n=0
case $p in /*) ;; *) p=$PWD/$p ;; esac
while :; do
	while :; do case $p in /*) p=${p#/} ;; *) break ;; esac; done
	[ -n "$p" ] || break
	c=${p%%/*}
	case $p in */*) p=${p#*/} ;; *) p= ;; esac
	case $c in .) continue ;; ..) r=${r%/*}; continue ;; esac
	if [ ! -h "$r/$c" ]; then r=$r/$c; continue; fi
	n=$((n + 1))
	if [ "$n" -gt 40 ]; then printf 'loop\n\n%s' "$r/$c"; exit 0; fi
	o=$(stat -c %u -- "$r/$c") || exit 1
	if [ "$o" != 0 ] && [ "$o" != "$me" ]; then printf 'untrusted\n%s\n%s' "$o" "$r/$c"; exit 0; fi
	t=$(readlink -- "$r/$c" && echo .) || exit 1
	t=${t%?.}
	case $t in /*) r= ;; esac
	p=$t/$p
done
[ -n "$r" ] || r=/
if [ -e "$r" ] || [ -h "$r" ]; then
	st=$(stat -c '%F|%a|%U:%G|%s|%u:%g' -- "$r") || exit 1
	printf 'exists\n%s\n%s' "$st" "$r"
elif [ -h "$1" ]; then printf 'dangling\n\n%s' "$r"
elif [ -d "${r%/*}/" ]; then printf 'new\n\n%s' "$r"
else printf 'nodir\n\n%s/' "${r%/*}"
fi`

func fileStateArgv(p string) []string { return []string{"sh", "-c", resolveScript, "sh", p} }

// WriteReads are the reads a File change of p takes first, in check mode
// too: its content and where it really is. A module lists them in its
// Warm reads, so that an audit plans the write without a session of its
// own.
func WriteReads(p string) [][]string { return [][]string{shell.ReadFileArgv(p), fileStateArgv(p)} }

// parseResolved reads resolveScript's output for the path asked about:
// the file's state without its content, or why remedy will not write it.
func parseResolved(asked, out string) (fileState, error) {
	parts := strings.SplitN(out, "\n", 3)
	if len(parts) != 3 {
		return fileState{}, fmt.Errorf("%s: unexpected output while resolving it: %q", asked, out)
	}
	what, info, p := parts[0], parts[1], parts[2]
	switch what {
	case "new":
		return fileState{path: p}, nil
	case "dangling":
		return fileState{}, fmt.Errorf("%s is a symbolic link to %s, which does not exist: remedy writes through a link only to an existing file; write %s itself, or remove the link", asked, p, p)
	case "nodir":
		return fileState{}, fmt.Errorf("%s: directory %s does not exist", asked, p)
	case "loop":
		return fileState{}, fmt.Errorf("%s: too many symbolic links at %s (a loop?)", asked, p)
	case "untrusted":
		return fileState{}, fmt.Errorf("%s: %s is a symbolic link owned by uid %s, neither root nor the user remedy writes as: not followed, since another user could have planted it; remove it, or write the path it points to", asked, p, info)
	case "exists":
		return existingState(asked, info, p)
	}
	return fileState{}, fmt.Errorf("%s: unexpected output while resolving it: %q", asked, out)
}

func existingState(asked, info, p string) (fileState, error) {
	head, ids, ok := cutLast(info, "|")
	if !ok {
		return fileState{}, fmt.Errorf("%s: unexpected stat output %q", asked, info)
	}
	st, err := ParseStat(head)
	if err != nil {
		return fileState{}, fmt.Errorf("%s: %w", asked, err)
	}
	via := asked
	if p != asked {
		via = asked + " (a symbolic link to " + p + ")"
	}
	switch st.Kind {
	case "file":
		return fileState{path: p, exists: true, mode: st.Mode, owner: st.Owner, ids: ids}, nil
	case "directory":
		return fileState{}, fmt.Errorf("%s is a directory", via)
	case "link":
		return fileState{}, fmt.Errorf("%s became a symbolic link while it was read: not written", via)
	}
	return fileState{}, fmt.Errorf("%s is not a regular file: not written", via)
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// fileState finds the file a write to p lands on, following symbolic
// links, and reads its content, mode and owner. Both reads are cached
// until the host changes: file.line reads, then writes. The gate's check
// mode plans a file the host's read does not find as a new file at p
// without resolving p, which would take a session of its own (an audit
// is one session per host); the run resolves it first, and refuses what
// it must refuse.
func (e *Env) fileState(p string) (fileState, error) {
	if e.checking() {
		if _, err := e.ReadFileCached(p); errors.Is(err, fs.ErrNotExist) {
			return fileState{path: p}, nil
		}
	}
	out, err := e.QueryCached(fileStateArgv(p)...)
	if err != nil {
		return fileState{}, err
	}
	if out.ExitCode != 0 {
		return fileState{}, fmt.Errorf("%s: resolve: exit status %d: %s", p, out.ExitCode, remote.Excerpt(out.Stderr))
	}
	st, err := parseResolved(p, string(out.Stdout))
	if err != nil || !st.exists {
		return st, err
	}
	st.content, err = e.ReadFileCached(st.path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileState{}, fmt.Errorf("%s: removed while it was read: not written", st.path)
	}
	return st, err // the host's error names the path
}

// FileStat is a path's metadata, as `stat -c` prints it (StatArgv).
type FileStat struct {
	Kind  string // "file", "directory", "link" or "other"
	Mode  string // four octal digits: "0644"
	Owner string // "user:group"
	Size  int64
}

// statFormat makes stat print type|mode|user:group|size, with the same
// directives in GNU coreutils and busybox.
const statFormat = "%F|%a|%U:%G|%s"

// ParseStat reads one line of StatArgv's output.
func ParseStat(out string) (FileStat, error) {
	f := strings.Split(strings.TrimSpace(out), "|")
	if len(f) != 4 {
		return FileStat{}, fmt.Errorf("unexpected stat output %q", out)
	}
	mode, err := normMode(f[1])
	if err != nil {
		return FileStat{}, err
	}
	size, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return FileStat{}, fmt.Errorf("unexpected stat size %q", f[3])
	}
	kind := "other"
	switch {
	case strings.HasSuffix(f[0], "regular file") || f[0] == "regular empty file":
		kind = "file"
	case f[0] == "directory":
		kind = "directory"
	case f[0] == "symbolic link":
		kind = "link"
	}
	return FileStat{Kind: kind, Mode: mode, Owner: f[2], Size: size}, nil
}

// StatArgv reads p's metadata, not following a symbolic link.
func StatArgv(p string) []string { return []string{"stat", "-c", statFormat, "--", p} }
