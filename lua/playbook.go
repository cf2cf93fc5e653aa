package lua

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// LoadOptions says where require looks.
type LoadOptions struct {
	Shipped Dir      // the libraries shipped with remedy, searched first
	LuaPath []string // --lua-path directories; REMEDY_LUA_PATH's follow them
}

// Dir is a directory require searches, with the name messages give it.
type Dir struct {
	FS   fs.FS
	Name string
}

// Source is a playbook to load: its text, the name messages give it (its
// path, or "playbooks/NAME.lua" for a built-in), and its own directory,
// which require searches last.
type Source struct {
	Text []byte
	Name string
	Dir  Dir
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

// Load compiles a playbook once and evaluates it once to check its
// shape: unknown keys, missing run functions and notify names without a
// handler are errors that name the file and line. No host is contacted.
func Load(src Source, o LoadOptions) (*Playbook, error) {
	proto, err := compileChunk(src.Text, src.Name)
	if err != nil {
		return nil, err
	}
	p := &Playbook{file: src.Name, proto: proto, libs: newLibraries(o, src.Dir), sum: sha256.Sum256(src.Text)}
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
		return nil, fmt.Errorf("%s: %w", src.Name, err)
	}
	return p, nil
}

// ReadFile reads a playbook file. Its directory is opened as an os.Root:
// require finds modules inside it, and no symbolic link or ".." takes it
// out (a playbook directory is often shared; --lua-path directories are
// the operator's own choice and are read as they are).
func ReadFile(path string) (Source, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return Source{}, fmt.Errorf("read playbook: %w", err)
	}
	d := filepath.Dir(path)
	root, err := os.OpenRoot(d)
	if err != nil {
		return Source{}, fmt.Errorf("playbook directory: %w", err)
	}
	return Source{Text: text, Name: path, Dir: Dir{FS: root.FS(), Name: d}}, nil
}

func newLibraries(o LoadOptions, own Dir) *libraries {
	var dirs []Dir
	if o.Shipped.FS != nil {
		dirs = append(dirs, o.Shipped)
	}
	for _, d := range append(o.LuaPath, filepath.SplitList(os.Getenv(luaPathEnv))...) {
		if d != "" {
			dirs = append(dirs, Dir{FS: os.DirFS(d), Name: d})
		}
	}
	if own.FS != nil {
		dirs = append(dirs, own)
	}
	return &libraries{dirs: dirs, protos: map[string]*glua.FunctionProto{}}
}

// evaluate runs the playbook's top level in L and reads the table it
// returns.
func (p *Playbook) evaluate(L *glua.LState) (*spec, error) {
	ret, err := protectedCall(L, L.NewFunctionFromProto(p.proto))
	if err != nil {
		return nil, fmt.Errorf("%s", ErrorMessage(err))
	}
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

// File is the name its Source gave: its path, or "playbooks/NAME.lua".
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
