package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// varsExts are the names Ansible tries for a group_vars or host_vars entry,
// in order; the first that exists is used.
var varsExts = []string{"", ".yml", ".yaml", ".json"}

// loadVarsDirs reads group_vars/ and host_vars/ beside one source: in the
// directory itself for a directory source, beside the file otherwise.
func (inv *Inventory) loadVarsDirs(src string) error {
	info, err := os.Stat(src)
	if err != nil {
		// A host list has no directory; other sources were read already.
		for _, g := range inv.groupOrder {
			g.fileVars = append(g.fileVars, varLayer{})
		}
		return nil
	}
	base := src
	if !info.IsDir() {
		base = filepath.Dir(src)
	}
	for _, g := range inv.groupOrder {
		vars, err := readVarsEntry(filepath.Join(base, "group_vars"), g.name)
		if err != nil {
			return err
		}
		g.fileVars = append(g.fileVars, vars)
	}
	for _, h := range inv.hostOrder {
		vars, err := readVarsEntry(filepath.Join(base, "host_vars"), h.Name)
		if err != nil {
			return err
		}
		h.fileVars.add(vars)
	}
	return nil
}

// readVarsEntry reads dir/name as a file (with or without a YAML or JSON
// extension) or as a directory of such files, merged in name order.
func readVarsEntry(dir, name string) (varLayer, error) {
	for _, ext := range varsExts {
		path := filepath.Join(dir, name+ext)
		info, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return varLayer{}, &Error{File: path, Msg: fmt.Sprintf("read vars: %v", unwrapPathError(err))}
		}
		if !info.IsDir() {
			return readVarsFile(path)
		}
		files, err := varsDirFiles(path)
		if err != nil {
			return varLayer{}, err
		}
		var vars varLayer
		for _, f := range files {
			v, err := readVarsFile(f)
			if err != nil {
				return varLayer{}, err
			}
			vars.add(v)
		}
		return vars, nil
	}
	return varLayer{}, nil
}

// varsDirFiles lists a vars directory recursively in name order, skipping
// hidden and backup files and files with an extension Ansible ignores.
func varsDirFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, &Error{File: dir, Msg: fmt.Sprintf("read vars directory: %v", unwrapPathError(err))}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var out []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
			continue
		}
		path, ext := filepath.Join(dir, name), filepath.Ext(name)
		info, err := os.Stat(path)
		if err != nil {
			return nil, &Error{File: path, Msg: fmt.Sprintf("read vars: %v", unwrapPathError(err))}
		}
		switch {
		case info.IsDir() && ext == "":
			more, err := varsDirFiles(path)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		case !info.IsDir() && (ext == "" || ext == ".yml" || ext == ".yaml" || ext == ".json"):
			out = append(out, path)
		}
	}
	return out, nil
}

func readVarsFile(path string) (varLayer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return varLayer{}, &Error{File: path, Msg: fmt.Sprintf("read vars: %v", unwrapPathError(err))}
	}
	return parseYAMLVars(path, data)
}
