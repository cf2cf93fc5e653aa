package vmkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// state is everything a lab made, written to Dir before the first thing is
// created so that Down can undo a crashed Up.
type state struct {
	Slot       int
	Options    Options
	CreatedDir bool // Up created Dir, so Down removes it
	// Owner is the process whose death orphans the lab: the one that ran
	// Up for an ephemeral lab, the keeper (Keeper) for a lasting one.
	Owner, Keeper int
	License       string
	OpsPassword   string
	VMs           []vmState
	Complete      bool // Up finished

	mu sync.Mutex // VMs boot at once
}

// vmState is a VM and what boots it.
type vmState struct {
	VM
	// The image's disk, kernel and initrd, in the cache.
	Disk, Kernel, Initrd string
	HostKeys             []string // the image's, as authorized_keys lines
	Tap, MAC             string
	Pid                  int // its qemu, while it runs
	// Port is where the lab last found sshd: 22 at first boot and after a
	// Reset, the port that answered after a Reboot or Start.
	Port int
}

const (
	stateFile     = "vmlab.json"
	knownHostFile = "known_hosts"
	inventoryFile = "inventory.ini"
	opsUser       = "ops"
)

// readState returns nil, nil when dir holds no state.
func readState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read VM lab state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: parse VM lab state: %w", filepath.Join(dir, stateFile), err)
	}
	return &st, nil
}

// write replaces the state file atomically, so a crash never leaves half of it.
func (st *state) write() error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode VM lab state: %w", err)
	}
	path := filepath.Join(st.Options.Dir, stateFile)
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		return fmt.Errorf("write VM lab state: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("write VM lab state: %w", err)
	}
	return nil
}

// update changes the state with change and writes it.
func (st *state) update(change func()) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	change()
	return st.write()
}

func (st *state) lab() *Lab {
	dir := st.Options.Dir
	l := &Lab{
		Dir:         dir,
		Key:         filepath.Join(dir, keyFile),
		KnownHosts:  filepath.Join(dir, knownHostFile),
		Inventory:   filepath.Join(dir, inventoryFile),
		License:     st.License,
		OpsUser:     opsUser,
		OpsPassword: st.OpsPassword,
		st:          st,
	}
	for _, v := range st.VMs {
		l.VMs = append(l.VMs, v.VM)
	}
	return l
}

func (st *state) vm(name string) (*vmState, error) {
	for i := range st.VMs {
		if st.VMs[i].Name == name {
			return &st.VMs[i], nil
		}
	}
	return nil, fmt.Errorf("VM lab %s: no VM %q", st.Options.Dir, name)
}
