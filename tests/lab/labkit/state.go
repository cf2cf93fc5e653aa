package labkit

import (
	"fmt"
	"path/filepath"

	"remedy/tests/labstate"
)

// state is everything a lab made, written to Dir before the first thing is
// created so that Down can undo a crashed Up.
type state struct {
	Slot        int
	Options     Options
	CreatedDir  bool // Up created Dir, so Down removes it
	OpsPassword string
	License     string
	Hosts       []hostState
	Complete    bool // Up finished
}

type hostState struct {
	Host
	Netns  string // network namespace name (ip netns)
	Veth   string // the host's link: in the machine, or in the first host for hidden hosts
	Prefix int    // prefix length of Addr
}

const (
	stateFile     = "lab.json"
	keyFile       = labstate.KeyFile
	knownHostFile = labstate.KnownHostsFile
	inventoryFile = labstate.InventoryFile
	hostsDir      = "hosts" // per-host upper and home directories
	opsUser       = labstate.OpsUser
)

// readState returns nil, nil when dir holds no state.
func readState(dir string) (*state, error) {
	return labstate.Read[state]("lab", labFile(dir, stateFile))
}

// write replaces the state file atomically, so a crash never leaves half of it.
func (st *state) write() error {
	return labstate.Write("lab", labFile(st.Options.Dir, stateFile), st)
}

func (st *state) lab() *Lab {
	l := &Lab{Access: labstate.AccessTo(st.Options.Dir, st.License, st.OpsPassword), st: st}
	for _, h := range st.Hosts {
		l.Hosts = append(l.Hosts, h.Host)
	}
	return l
}

func (st *state) host(name string) (*hostState, error) {
	for i := range st.Hosts {
		if st.Hosts[i].Name == name {
			return &st.Hosts[i], nil
		}
	}
	return nil, fmt.Errorf("lab %s: no host %q", st.Options.Dir, name)
}

// hostDir holds a host's overlay upper and work dirs and its /root and /home.
func (st *state) hostDir(name string) string {
	return filepath.Join(st.Options.Dir, hostsDir, name)
}

// mountNS and utsNS are the files the host's kept namespaces are bound to.
func (st *state) mountNS(name string) string { return filepath.Join(nsDir(st.Slot), name+".mnt") }
func (st *state) utsNS(name string) string   { return filepath.Join(nsDir(st.Slot), name+".uts") }
