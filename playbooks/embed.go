// Package playbooks holds remedy's built-in playbooks (NAME.lua), the Lua
// libraries they and site playbooks require (lib/: aspera, policy), and
// the site-policy examples (examples/NAME.lua), embedded in the binary so
// `remedy run aspera-server` needs no files on the controller. The engine
// (package lua) does not import it: the CLI resolves a built-in name here
// and hands the engine the playbook's source and the libraries.
package playbooks

import (
	"embed"
	"io/fs"
	"path"
	"strings"
)

// files holds the whole directory because a pattern that matched no file
// would not compile, and built-ins arrive with their own issues; Go files
// in it are never resolved as playbooks.
//
//go:embed *
var files embed.FS

// libDir holds the libraries; nothing in it is a playbook.
const libDir = "lib"

// Lib holds the Lua libraries shipped with remedy, as require finds them
// ("aspera" is lib/aspera.lua).
var Lib = mustSub(libDir)

// LibName is how messages name Lib.
const LibName = "playbooks/" + libDir

// Builtin is a built-in playbook.
type Builtin struct {
	Name    string // "aspera-server", "examples/no-open-ports"
	File    string // how messages name it: "playbooks/aspera-server.lua"
	Source  []byte
	Dir     fs.FS  // its own directory, where require looks last
	DirName string // how messages name Dir: "playbooks", "playbooks/examples"
}

// Lookup returns the built-in playbook called name ("aspera-server", with
// or without ".lua").
func Lookup(name string) (Builtin, bool) {
	name = strings.TrimSuffix(name, ".lua")
	if !isPlaybook(name + ".lua") {
		return Builtin{}, false
	}
	src, err := fs.ReadFile(files, name+".lua")
	if err != nil {
		return Builtin{}, false
	}
	dir := path.Dir(name)
	return Builtin{Name: name, File: "playbooks/" + name + ".lua", Source: src, Dir: mustSub(dir), DirName: path.Join("playbooks", dir)}, true
}

// Names lists the built-in playbooks.
func Names() []string {
	var names []string
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && isPlaybook(p) {
			names = append(names, strings.TrimSuffix(p, ".lua"))
		}
		return nil
	})
	return names
}

// isPlaybook reports whether p, a clean path inside the directory, names a
// playbook: a .lua file outside lib/.
func isPlaybook(p string) bool {
	return fs.ValidPath(p) && strings.HasSuffix(p, ".lua") && p != libDir && !strings.HasPrefix(p, libDir+"/")
}

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
