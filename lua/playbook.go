package lua

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"remedy/playbooks"
)

// LoadOptions says where require looks beyond the embedded lua/lib.
type LoadOptions struct {
	LuaPath []string // --lua-path directories; REMEDY_LUA_PATH's follow them
}

// luaPathEnv lists more directories for require, like --lua-path.
const luaPathEnv = "REMEDY_LUA_PATH"

// Playbook is a compiled, validated playbook. It is safe to Run on many
// hosts at once: each Run gets its own VM over the shared byte code.
type Playbook struct {
	file      string // chunk name in error messages
	proto     *glua.FunctionProto
	libs      *libraries
	name      string
	hosts     string
	sum       [sha256.Size]byte // of the source, for reports
	tasks     []TaskInfo
	checks    []TaskInfo
	handlers  []TaskInfo
	varNames  []string
	registers []string           // names tasks register results under
	vars      map[string]any     // the playbook's own vars, for CheckVars
	varTypes  map[string]varType // var_types
}

// TaskInfo describes a task without running it.
type TaskInfo struct {
	Name string
	Tags []string
	Line int // where its run function starts
}

// loadTimeout bounds evaluating a playbook's top level at load time, so a
// playbook that loops forever is a load error, not a hang.
var loadTimeout = 10 * time.Second

// Load finds a playbook (a file, or a built-in name like "aspera-server"),
// compiles it once and evaluates it once to check its shape: unknown keys,
// missing run functions and notify names without a handler are errors
// that name the file and line. No host is contacted.
func Load(path string, o LoadOptions) (*Playbook, error) {
	src, file, dir, err := resolve(path)
	if err != nil {
		return nil, err
	}
	proto, err := compileChunk(src, file)
	if err != nil {
		return nil, err
	}
	p := &Playbook{file: file, proto: proto, libs: newLibraries(o.LuaPath, dir), sum: sha256.Sum256(src)}
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	e := &Env{ctx: ctx}
	L := p.newVM(e)
	defer L.Close()
	L.SetContext(ctx)
	sp, err := p.evaluate(L)
	if err != nil {
		return nil, err
	}
	p.describe(sp)
	if p.vars, err = ownVars(sp.vars); err == nil {
		p.varTypes, err = parseVarTypes(sp.varTypes)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return p, nil
}

// resolve returns a playbook's source, its chunk name and the directory
// require searches last. An existing file wins over a built-in name. The
// playbook's own directory is opened as an os.Root: require finds modules
// inside it, and no symbolic link or ".." takes it out (a playbook
// directory is often shared; --lua-path directories are the operator's
// own choice and are read as they are).
func resolve(path string) (src []byte, file string, dir libDir, err error) {
	src, err = os.ReadFile(path)
	if err == nil {
		d := filepath.Dir(path)
		root, err := os.OpenRoot(d)
		if err != nil {
			return nil, "", libDir{}, fmt.Errorf("playbook directory: %w", err)
		}
		return src, path, libDir{fsys: root.FS(), prefix: d}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", libDir{}, fmt.Errorf("read playbook: %w", err)
	}
	name := strings.TrimSuffix(path, ".lua") + ".lua"
	src, berr := fs.ReadFile(playbooks.FS, name)
	if berr != nil || strings.HasPrefix(path, "/") || strings.HasPrefix(path, ".") {
		return nil, "", libDir{}, fmt.Errorf("playbook %s: no such file and no built-in playbook of that name (built-ins: %s)", path, strings.Join(BuiltinPlaybooks(), ", "))
	}
	sub, _ := fs.Sub(playbooks.FS, filepath.Dir(name))
	return src, "playbooks/" + name, libDir{fsys: sub, prefix: filepath.Dir("playbooks/" + name)}, nil
}

// BuiltinPlaybooks lists the names Load accepts without a file.
func BuiltinPlaybooks() []string {
	var names []string
	_ = fs.WalkDir(playbooks.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".lua") {
			names = append(names, strings.TrimSuffix(p, ".lua"))
		}
		return nil
	})
	return names
}

func newLibraries(luaPath []string, own libDir) *libraries {
	sub, _ := fs.Sub(libFS, "lib")
	dirs := []libDir{{fsys: sub, prefix: "lua/lib"}}
	for _, d := range append(luaPath, filepath.SplitList(os.Getenv(luaPathEnv))...) {
		if d != "" {
			dirs = append(dirs, libDir{fsys: os.DirFS(d), prefix: d})
		}
	}
	dirs = append(dirs, own)
	return &libraries{dirs: dirs, protos: map[string]*glua.FunctionProto{}}
}

// evaluate runs the playbook's top level in L and reads the table it
// returns.
func (p *Playbook) evaluate(L *glua.LState) (*spec, error) {
	L.Push(L.NewFunctionFromProto(p.proto))
	if err := L.PCall(0, 1, nil); err != nil {
		return nil, fmt.Errorf("%s", errorMessage(err))
	}
	ret := L.Get(-1)
	L.Pop(1)
	tbl, ok := ret.(*glua.LTable)
	if !ok {
		return nil, fmt.Errorf("%s: a playbook must return a table, not %s", p.file, ret.Type())
	}
	return readSpec(p.file, tbl)
}

func (p *Playbook) describe(sp *spec) {
	p.name, p.hosts = sp.name, sp.hosts
	p.tasks = infos(sp.tasks)
	p.checks, p.handlers = infos(sp.checks), infos(sp.handlers)
	for _, t := range sp.tasks {
		if t.register != "" {
			p.registers = append(p.registers, t.register)
		}
	}
	if sp.vars != nil {
		sp.vars.ForEach(func(k, _ glua.LValue) {
			if s, ok := k.(glua.LString); ok {
				p.varNames = append(p.varNames, string(s))
			}
		})
	}
}

func infos(items []*item) []TaskInfo {
	out := make([]TaskInfo, len(items))
	for i, it := range items {
		out[i] = TaskInfo{Name: it.name, Tags: it.tags, Line: it.line}
	}
	return out
}

// Name is the playbook's name field, or its file name.
func (p *Playbook) Name() string {
	if p.name != "" {
		return p.name
	}
	return p.file
}

// File is the playbook's path, or "playbooks/NAME.lua" for a built-in.
func (p *Playbook) File() string { return p.file }

// HostPattern is the playbook's hosts field ("" when it has none).
func (p *Playbook) HostPattern() string { return p.hosts }

// Tasks lists the tasks in order, for --list-tasks.
func (p *Playbook) Tasks() []TaskInfo { return p.tasks }

// SHA256 is the hex SHA-256 of the playbook's source as loaded.
func (p *Playbook) SHA256() string { return hex.EncodeToString(p.sum[:]) }

// Checks lists the checks in order, for --list-tasks.
func (p *Playbook) Checks() []TaskInfo { return p.checks }

// Handlers lists the handlers in order, for --list-tasks.
func (p *Playbook) Handlers() []TaskInfo { return p.handlers }

// VarNames are the keys of the playbook's own vars table.
func (p *Playbook) VarNames() []string { return p.varNames }
