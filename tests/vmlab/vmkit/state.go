package vmkit

import (
	"fmt"
	"path/filepath"
	"sync"

	"remedy/tests/labstate"
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
	// Reset, the first of the ports given that answered after a Reboot or
	// Start.
	Port int
	// BootNote says which of those ports failed in the round of tries
	// that found the VM up after the last Reboot or Start, and why: ""
	// when the first port answered at once.
	BootNote string
}

const (
	stateFile     = "vmlab.json"
	knownHostFile = labstate.KnownHostsFile
	inventoryFile = labstate.InventoryFile
)

// readState returns nil, nil when dir holds no state.
func readState(dir string) (*state, error) {
	return labstate.Read[state]("VM lab", filepath.Join(dir, stateFile))
}

// write replaces the state file atomically, so a crash never leaves half of it.
func (st *state) write() error {
	return labstate.Write("VM lab", filepath.Join(st.Options.Dir, stateFile), st)
}

// update changes the state with change and writes it.
func (st *state) update(change func()) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	change()
	return st.write()
}

func (st *state) lab() *Lab {
	l := &Lab{Access: labstate.AccessTo(st.Options.Dir, st.License, st.OpsPassword), st: st}
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
