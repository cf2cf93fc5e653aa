package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// ignoredEntry is what Ansible skips in an inventory directory: hidden
// files, group_vars, host_vars, vars_plugins, and its default
// INVENTORY_IGNORE_EXTS (note .ini: an inventory directory's *.ini files are
// not read, by Ansible nor by us).
var ignoredEntry = regexp.MustCompile(`^\.|^host_vars$|^group_vars$|^vars_plugins$|` +
	`(?:\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.ini|\.cfg|\.retry)$`)

// loadSource reads one -i argument.
func (inv *Inventory) loadSource(src string) error {
	info, err := os.Stat(src)
	if errors.Is(err, fs.ErrNotExist) && strings.Contains(src, ",") {
		inv.loadHostList(src)
		return nil
	}
	if err != nil {
		return &Error{File: src, Msg: fmt.Sprintf("read inventory: %v", unwrapPathError(err))}
	}
	if info.IsDir() {
		return inv.loadDir(src)
	}
	return inv.loadFile(src)
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// loadHostList reads the "h1,h2:2222," form: ungrouped hosts, no ranges.
func (inv *Inventory) loadHostList(list string) {
	for _, h := range strings.Split(list, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		name, port, ok := parseAddress(h)
		if !ok || strings.Contains(name, "[") {
			name, port = h, 0
		}
		if _, exists := inv.hosts[name]; !exists {
			inv.addHost(name, inv.groups[groupUngrouped], port, hostListOrigin(list))
		}
	}
}

func (inv *Inventory) loadDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return &Error{File: dir, Msg: fmt.Sprintf("read inventory directory: %v", unwrapPathError(err))}
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		if ignoredEntry.MatchString(name) {
			continue
		}
		if err := inv.loadSource(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// loadFile parses one inventory file. Like Ansible, a file named *.yml,
// *.yaml, *.json or without extension is tried as YAML first, and anything
// that is not a YAML mapping as INI.
func (inv *Inventory) loadFile(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return &Error{File: file, Msg: fmt.Sprintf("read inventory: %v", unwrapPathError(err))}
	}
	inv.reading = file
	defer func() { inv.reading = "" }()
	ext := filepath.Ext(file)
	yamlName := ext == "" || ext == ".yml" || ext == ".yaml" || ext == ".json"
	if !yamlName {
		return parseINI(inv, file, data)
	}
	yerr := parseYAMLInventory(inv, file, data)
	var notMapping *notYAMLInventory
	if !errors.As(yerr, &notMapping) {
		return yerr
	}
	ierr := parseINI(inv, file, data)
	if ierr != nil && ext != "" {
		return notMapping.err
	}
	return ierr
}
