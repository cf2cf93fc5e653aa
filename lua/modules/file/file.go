// Package file is the file module: reads of files on the host, and
// file.write and file.line, which hand the gate a File change (an atomic,
// validated write; see lua/gate.go).
package file

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua"
	"remedy/lua/change"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

func init() {
	writeOpts := "{path: string, content: string, mode?: string, owner?: string, backup?: boolean, validate?: string|string[]}"
	lineOpts := "{path: string, line?: string, regexp?: string, state?: \"present\"|\"absent\", insertafter?: string, insertbefore?: string, create?: boolean, mode?: string, owner?: string, backup?: boolean, validate?: string|string[]}"
	lua.Register(lua.Module{
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
		Funcs: []lua.Func{
			{
				Name:    "read",
				Params:  []lua.Param{{Name: "path", Type: "string"}},
				Returns: []lua.Param{{Name: "content", Type: "string?", Doc: "nil when the file does not exist"}},
				Doc:     "Returns a file's content. Runs in check mode too.",
				Call:    fileRead,
			},
			{
				Name:    "read_command",
				Params:  []lua.Param{{Name: "path", Type: "string"}},
				Returns: []lua.Param{{Name: "argv", Type: "string[]"}},
				Doc:     "The command file.read runs for path, for a playbook's prefetch list: prefetched, the first file.read of path, and a missing file, take no session of their own.",
				Call:    fileReadCommand,
			},
			{
				Name:    "stat",
				Params:  []lua.Param{{Name: "path", Type: "string"}},
				Returns: []lua.Param{{Name: "st", Type: "remedy.Stat?", Doc: "nil when the path does not exist"}},
				Doc:     "Returns a path's type, mode, owner and size, without following a symbolic link. Runs in check mode too.",
				Call:    fileStat,
			},
			{
				Name:    "write",
				Params:  []lua.Param{{Name: "opts", Type: writeOpts, Doc: `mode is octal text like "0644"; owner is "user" or "user:group"; validate is a command with %s for the candidate, e.g. "sshd -t -f %s" (split on spaces, never run by a shell)`}},
				Returns: []lua.Param{{Name: "res", Type: "remedy.FileChange"}},
				Doc:     "Makes a file hold exactly content, with mode and owner. Changed only when something differs.",
				Call:    fileWrite,
			},
			{
				Name:    "line",
				Params:  []lua.Param{{Name: "opts", Type: lineOpts, Doc: "regexp is a Go (RE2) regular expression"}},
				Returns: []lua.Param{{Name: "res", Type: "remedy.FileChange"}},
				Doc: `Makes sure a line is present (replacing the FIRST line regexp matches, else
inserting after the last line matching insertafter, before the first
matching insertbefore, or at the end) or absent (removing every matching
line). Written like file.write; create = true allows a missing file.`,
				Call: fileLine,
			},
		},
		Types: []lua.Class{
			{Name: "remedy.Stat", Doc: "A path's metadata.", Fields: []lua.Param{
				{Name: "type", Type: "string", Doc: `"file", "directory", "link" or "other"`},
				{Name: "mode", Type: "string", Doc: `octal, e.g. "0644"`},
				{Name: "owner", Type: "string", Doc: "user name"},
				{Name: "group", Type: "string", Doc: "group name"},
				{Name: "size", Type: "integer", Doc: "bytes"},
			}},
			{Name: "remedy.FileChange", Doc: "What a write did, or would do in check mode.", Fields: []lua.Param{
				{Name: "changed", Type: "boolean"},
				{Name: "diff", Type: "string", Doc: "unified diff of the content, empty when only mode or owner changed"},
				{Name: "backup", Type: "string?", Doc: "the backup's path"},
			}},
		},
	})
}

// stat returns nil when p does not exist.
func stat(e *lua.Env, p string) (*lua.FileStat, error) {
	out, err := e.Query(lua.StatArgv(p)...)
	if err != nil {
		return nil, err
	}
	if out.ExitCode != 0 {
		if strings.Contains(string(out.Stderr), "No such file") {
			return nil, nil
		}
		return nil, fmt.Errorf("stat %s: %s", p, remote.Excerpt(out.Stderr))
	}
	st, err := lua.ParseStat(string(out.Stdout))
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	return &st, nil
}

func fileRead(e *lua.Env, L *glua.LState) int {
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

func fileReadCommand(e *lua.Env, L *glua.LState) int {
	t := L.NewTable()
	for _, a := range shell.ReadFileArgv(L.CheckString(1)) {
		t.Append(glua.LString(a))
	}
	L.Push(t)
	return 1
}

func fileStat(e *lua.Env, L *glua.LState) int {
	st, err := stat(e, L.CheckString(1))
	if err != nil {
		e.Fail(err)
	}
	if st == nil {
		L.Push(glua.LNil)
		return 1
	}
	user, group, _ := strings.Cut(st.Owner, ":")
	t := L.NewTable()
	t.RawSetString("type", glua.LString(st.Kind))
	t.RawSetString("mode", glua.LString(st.Mode))
	t.RawSetString("owner", glua.LString(user))
	t.RawSetString("group", glua.LString(group))
	t.RawSetString("size", glua.LNumber(st.Size))
	L.Push(t)
	return 1
}

// writeOptions reads the options file.write and file.line share.
func writeOptions(o lua.Opts) change.File {
	w := change.File{
		Path:   o.Str("path", true),
		Mode:   o.Str("mode", false),
		Owner:  o.Str("owner", false),
		Backup: o.Bool("backup", true),
	}
	switch v := o.Get("validate").(type) {
	case glua.LString:
		w.Validate = strings.Fields(string(v))
	case *glua.LTable:
		w.Validate = lua.ListArg(o.L, v, o.Fn+": validate")
	case *glua.LNilType:
	default:
		o.Fail("validate must be a string or a list, not %s", v.Type())
	}
	return w
}

func fileWrite(e *lua.Env, L *glua.LState) int {
	o := lua.TableArg(L, 1, "file.write", false, "path", "content", "mode", "owner", "backup", "validate")
	w := writeOptions(o)
	w.Content = []byte(o.Str("content", true))
	return pushFileChange(e, L, w)
}

func fileLine(e *lua.Env, L *glua.LState) int {
	o := lua.TableArg(L, 1, "file.line", false, "path", "line", "regexp", "state", "insertafter", "insertbefore", "create", "mode", "owner", "backup", "validate")
	w := writeOptions(o)
	edit, err := lineEdit(o)
	if err != nil {
		lua.ArgError(L, "file.line", "%v", err)
	}
	cur, exists, err := e.ReadForEdit(w.Path)
	if err != nil {
		e.Fail(err)
	}
	if !exists && !o.Bool("create", false) {
		e.Fail(fmt.Errorf("file.line: %s does not exist (create = true makes it)", w.Path))
	}
	content, err := EditLines(string(cur), edit)
	if err != nil {
		lua.ArgError(L, "file.line", "%v", err)
	}
	if !exists && content == "" {
		return pushFileChangeResult(e, L, change.Result{})
	}
	w.Content = []byte(content)
	return pushFileChange(e, L, w)
}

func lineEdit(o lua.Opts) (LineEdit, error) {
	edit := LineEdit{
		Line:         o.Str("line", false),
		InsertAfter:  o.Str("insertafter", false),
		InsertBefore: o.Str("insertbefore", false),
	}
	switch state := o.Str("state", false); state {
	case "", "present":
		if edit.Line == "" {
			return edit, fmt.Errorf("line is required when state is present")
		}
	case "absent":
		edit.Absent = true
	default:
		return edit, fmt.Errorf("state %q must be present or absent", state)
	}
	if re := o.Str("regexp", false); re != "" {
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

func pushFileChange(e *lua.Env, L *glua.LState, w change.File) int {
	fc, err := e.Apply(w)
	if err != nil {
		e.Fail(err)
	}
	return pushFileChangeResult(e, L, fc)
}

func pushFileChangeResult(e *lua.Env, L *glua.LState, fc change.Result) int {
	t := L.NewTable()
	t.RawSetString("changed", glua.LBool(fc.Changed))
	t.RawSetString("diff", glua.LString(fc.Diff))
	if fc.Backup != "" {
		t.RawSetString("backup", glua.LString(fc.Backup))
	}
	L.Push(t)
	return 1
}
