package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"remedy/lua"
	"remedy/playbooks"
)

// playbookSource finds a playbook: a file, or a built-in name like
// "aspera-server". An existing file wins over a built-in name.
func playbookSource(path string) (lua.Source, error) {
	src, err := lua.ReadFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return src, err
	}
	b, ok := playbooks.Lookup(path)
	if !ok {
		return lua.Source{}, fmt.Errorf("playbook %s: no such file and no built-in playbook of that name (built-ins: %s)", path, strings.Join(playbooks.Names(), ", "))
	}
	return lua.Source{Text: b.Source, Name: b.File, Dir: lua.Dir{FS: b.Dir, Name: b.DirName}}, nil
}

// loadOptions is where require looks: the libraries shipped with the
// built-in playbooks first, then the --lua-path directories.
func loadOptions(luaPath []string) lua.LoadOptions {
	return lua.LoadOptions{Shipped: lua.Dir{FS: playbooks.Lib, Name: playbooks.LibName}, LuaPath: luaPath}
}

// loadPlaybook finds and loads a playbook.
func loadPlaybook(path string, luaPath []string) (*lua.Playbook, error) {
	src, err := playbookSource(path)
	if err != nil {
		return nil, err
	}
	return lua.Load(src, loadOptions(luaPath))
}

// lintPlaybook lints a playbook, or says why it cannot be found.
func lintPlaybook(path string, luaPath []string) []lua.LintIssue {
	src, err := playbookSource(path)
	if err != nil {
		return []lua.LintIssue{{File: path, Msg: err.Error()}}
	}
	return lua.Lint(src, loadOptions(luaPath))
}
