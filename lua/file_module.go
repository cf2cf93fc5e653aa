package lua

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua/change"
	"remedy/lua/remote"
)

func init() {
	writeOpts := "{path: string, content: string, mode?: string, owner?: string, backup?: boolean, validate?: string|string[]}"
	lineOpts := "{path: string, line?: string, regexp?: string, state?: \"present\"|\"absent\", insertafter?: string, insertbefore?: string, create?: boolean, mode?: string, owner?: string, backup?: boolean, validate?: string|string[]}"
	Register(Module{
		Name: "file",
		Doc: `Reads and writes files on the host. Writes are atomic (a new file in a
private directory beside the target, then a rename), keep a backup unless
backup = false, run validate on the candidate before it replaces the file,
and keep the file's mode, owner and SELinux label unless told otherwise.
A symbolic link is written through: the file it points to changes and the
link stays. Writes refuse a link to nothing, to a directory or in a loop,
and a link owned by a user other than root and the one remedy writes as
(another user may have planted it); there is no switch to follow those:
write the path the link points to. In check mode writes report the
unified diff and the steps, and change nothing.`,
		Funcs: []Func{
			{
				Name:    "read",
				Params:  []Param{{"path", "string", ""}},
				Returns: []Param{{"content", "string?", "nil when the file does not exist"}},
				Doc:     "Returns a file's content. Runs in check mode too.",
				Call:    fileRead,
			},
			{
				Name:    "stat",
				Params:  []Param{{"path", "string", ""}},
				Returns: []Param{{"st", "remedy.Stat?", "nil when the path does not exist"}},
				Doc:     "Returns a path's type, mode, owner and size, without following a symbolic link. Runs in check mode too.",
				Call:    fileStat,
			},
			{
				Name:    "write",
				Params:  []Param{{"opts", writeOpts, `mode is octal text like "0644"; owner is "user" or "user:group"; validate is a command with %s for the candidate, e.g. "sshd -t -f %s" (split on spaces, never run by a shell)`}},
				Returns: []Param{{"res", "remedy.FileChange", ""}},
				Doc:     "Makes a file hold exactly content, with mode and owner. Changed only when something differs.",
				Call:    fileWrite,
			},
			{
				Name:    "line",
				Params:  []Param{{"opts", lineOpts, "regexp is a Go (RE2) regular expression"}},
				Returns: []Param{{"res", "remedy.FileChange", ""}},
				Doc: `Makes sure a line is present (replacing the FIRST line regexp matches, else
inserting after the last line matching insertafter, before the first
matching insertbefore, or at the end) or absent (removing every matching
line). Written like file.write; create = true allows a missing file.`,
				Call: fileLine,
			},
		},
		Types: []Class{
			{Name: "remedy.Stat", Doc: "A path's metadata.", Fields: []Param{
				{"type", "string", `"file", "directory", "link" or "other"`},
				{"mode", "string", `octal, e.g. "0644"`},
				{"owner", "string", "user name"},
				{"group", "string", "group name"},
				{"size", "integer", "bytes"},
			}},
			{Name: "remedy.FileChange", Doc: "What a write did, or would do in check mode.", Fields: []Param{
				{"changed", "boolean", ""},
				{"diff", "string", "unified diff of the content, empty when only mode or owner changed"},
				{"backup", "string?", "the backup's path"},
			}},
		},
	})
}

// statInfo is the parsed output of statFormat.
type statInfo struct {
	kind, mode, owner string
	size              int64
}

// statFormat makes stat print type|mode|user:group|size, with the same
// directives in GNU coreutils and busybox.
const statFormat = "%F|%a|%U:%G|%s"

// parseStat reads one line of `stat -c statFormat` output.
func parseStat(out string) (statInfo, error) {
	f := strings.Split(strings.TrimSpace(out), "|")
	if len(f) != 4 {
		return statInfo{}, fmt.Errorf("unexpected stat output %q", out)
	}
	mode, err := normMode(f[1])
	if err != nil {
		return statInfo{}, err
	}
	size, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return statInfo{}, fmt.Errorf("unexpected stat size %q", f[3])
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
	return statInfo{kind: kind, mode: mode, owner: f[2], size: size}, nil
}

// statArgv reads p's metadata in statFormat.
func statArgv(p string) []string { return []string{"stat", "-c", statFormat, "--", p} }

// stat returns nil when p does not exist.
func (e *Env) stat(p string) (*statInfo, error) {
	out, err := e.Query(statArgv(p)...)
	if err != nil {
		return nil, err
	}
	if out.ExitCode != 0 {
		if strings.Contains(string(out.Stderr), "No such file") {
			return nil, nil
		}
		return nil, fmt.Errorf("stat %s: %s", p, remote.Excerpt(out.Stderr))
	}
	st, err := parseStat(string(out.Stdout))
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	return &st, nil
}

func fileRead(e *Env, L *glua.LState) int {
	p := L.CheckString(1)
	b, err := e.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		L.Push(glua.LNil)
		return 1
	}
	if err != nil {
		e.Fail(err) // the host's error names the path
	}
	L.Push(glua.LString(b))
	return 1
}

func fileStat(e *Env, L *glua.LState) int {
	st, err := e.stat(L.CheckString(1))
	if err != nil {
		e.Fail(err)
	}
	if st == nil {
		L.Push(glua.LNil)
		return 1
	}
	user, group, _ := strings.Cut(st.owner, ":")
	t := L.NewTable()
	t.RawSetString("type", glua.LString(st.kind))
	t.RawSetString("mode", glua.LString(st.mode))
	t.RawSetString("owner", glua.LString(user))
	t.RawSetString("group", glua.LString(group))
	t.RawSetString("size", glua.LNumber(st.size))
	L.Push(t)
	return 1
}

// writeOptions reads the options file.write and file.line share.
func writeOptions(o opts) change.File {
	w := change.File{
		Path:   o.str("path", true),
		Mode:   o.str("mode", false),
		Owner:  o.str("owner", false),
		Backup: o.boolean("backup", true),
	}
	switch v := o.t.RawGetString("validate").(type) {
	case glua.LString:
		w.Validate = strings.Fields(string(v))
	case *glua.LTable:
		w.Validate = listArg(o.L, v, o.fn+": validate")
	case *glua.LNilType:
	default:
		argError(o.L, o.fn, "validate must be a string or a list, not %s", v.Type())
	}
	return w
}

func fileWrite(e *Env, L *glua.LState) int {
	o := tableArg(L, 1, "file.write", false, "path", "content", "mode", "owner", "backup", "validate")
	w := writeOptions(o)
	w.Content = []byte(o.str("content", true))
	return e.pushFileChange(L, w)
}

func fileLine(e *Env, L *glua.LState) int {
	o := tableArg(L, 1, "file.line", false, "path", "line", "regexp", "state", "insertafter", "insertbefore", "create", "mode", "owner", "backup", "validate")
	w := writeOptions(o)
	edit, err := lineEdit(o)
	if err != nil {
		argError(L, "file.line", "%v", err)
	}
	cur, exists, err := e.ReadForEdit(w.Path)
	if err != nil {
		e.Fail(err)
	}
	if !exists && !o.boolean("create", false) {
		e.Fail(fmt.Errorf("file.line: %s does not exist (create = true makes it)", w.Path))
	}
	content, err := EditLines(string(cur), edit)
	if err != nil {
		argError(L, "file.line", "%v", err)
	}
	if !exists && content == "" {
		return e.pushFileChangeResult(L, change.Result{})
	}
	w.Content = []byte(content)
	return e.pushFileChange(L, w)
}

func lineEdit(o opts) (LineEdit, error) {
	edit := LineEdit{
		Line:         o.str("line", false),
		InsertAfter:  o.str("insertafter", false),
		InsertBefore: o.str("insertbefore", false),
	}
	switch state := o.str("state", false); state {
	case "", "present":
		if edit.Line == "" {
			return edit, fmt.Errorf("line is required when state is present")
		}
	case "absent":
		edit.Absent = true
	default:
		return edit, fmt.Errorf("state %q must be present or absent", state)
	}
	if re := o.str("regexp", false); re != "" {
		r, err := regexp.Compile(re)
		if err != nil {
			return edit, fmt.Errorf("regexp: %w", err)
		}
		edit.Regexp = r
	} else if edit.Line == "" {
		return edit, fmt.Errorf("state absent needs regexp or line")
	}
	return edit, nil
}

func (e *Env) pushFileChange(L *glua.LState, w change.File) int {
	fc, err := e.Apply(w)
	if err != nil {
		e.Fail(err)
	}
	return e.pushFileChangeResult(L, fc)
}

func (e *Env) pushFileChangeResult(L *glua.LState, fc change.Result) int {
	t := L.NewTable()
	t.RawSetString("changed", glua.LBool(fc.Changed))
	t.RawSetString("diff", glua.LString(fc.Diff))
	if fc.Backup != "" {
		t.RawSetString("backup", glua.LString(fc.Backup))
	}
	L.Push(t)
	return 1
}
