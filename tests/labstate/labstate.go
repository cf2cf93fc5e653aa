// Package labstate is what the namespace lab (labkit) and the VM lab
// (vmkit) keep in a lab's directory: the checks on the directory, the
// state file written before anything is made, so that Down can undo an
// Up that crashed half-way, and the files a person or a test reaches the
// lab with.
package labstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The files every lab writes to its directory, and the user with sudo.
const (
	KeyFile        = "id_ed25519"
	KnownHostsFile = "known_hosts"
	InventoryFile  = "inventory.ini"
	OpsUser        = "ops"
)

// LicenseDomain is the licensing endpoint the labs' stand-in replaces.
const LicenseDomain = "api.ibmaspera.com"

// Access is how a person or a test reaches a lab that is up.
type Access struct {
	Dir, Key, KnownHosts, Inventory string
	// License is the licensing stand-in's address (answers TCP/443); every
	// host resolves LicenseDomain to it through its hosts file.
	License string
	// OpsUser logs in with the lab key and needs OpsPassword for sudo.
	OpsUser, OpsPassword string
}

// AccessTo is the Access of the lab in dir.
func AccessTo(dir, license, opsPassword string) Access {
	return Access{
		Dir:         dir,
		Key:         filepath.Join(dir, KeyFile),
		KnownHosts:  filepath.Join(dir, KnownHostsFile),
		Inventory:   filepath.Join(dir, InventoryFile),
		License:     license,
		OpsUser:     OpsUser,
		OpsPassword: opsPassword,
	}
}

// CheckDir makes a lab's dir absolute and refuses one the lab cannot
// use; what names the lab in errors ("lab", "VM lab"). It touches
// nothing.
func CheckDir(what, dir string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("%s dir is required", what)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%s dir %s: %w", what, dir, err)
	}
	// The dir ends up in inventory lines, in overlayfs mount options and
	// in qemu's -drive and -monitor options, all split on these.
	if strings.ContainsAny(abs, ",: \t\n'\"\\") {
		return "", fmt.Errorf("%s dir %q: must not contain commas, colons, quotes or white space", what, abs)
	}
	return abs, nil
}

// PrepareDir creates dir when missing and proves it writable, so a bad
// dir fails before anything else is made; a dir it created for nothing
// goes again. It reports whether it created dir.
func PrepareDir(what, dir string) (bool, error) {
	_, err := os.Stat(dir)
	created := errors.Is(err, fs.ErrNotExist)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("%s dir: %w", what, err)
	}
	probe, err := os.CreateTemp(dir, ".write-probe-")
	if err != nil {
		if created {
			os.Remove(dir)
		}
		return false, fmt.Errorf("%s dir %s is not writable: %w", what, dir, err)
	}
	probe.Close()
	return created, os.Remove(probe.Name())
}

// Read reads the state file at path; nil, nil when there is none.
func Read[T any](what, path string) (*T, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s state: %w", what, err)
	}
	var st T
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: parse %s state: %w", path, what, err)
	}
	return &st, nil
}

// Write replaces the state file at path atomically, so a crash never
// leaves half of it.
func Write(what, path string, st any) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s state: %w", what, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s state: %w", what, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s state: %w", what, err)
	}
	return nil
}
