package labkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	keyFile       = "id_ed25519"
	knownHostFile = "known_hosts"
	inventoryFile = "inventory.ini"
	hostsDir      = "hosts" // per-host upper and home directories
	opsUser       = "ops"
)

// readState returns nil, nil when dir holds no state.
func readState(dir string) (*state, error) {
	b, err := os.ReadFile(labFile(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lab state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: parse lab state: %w", labFile(dir, stateFile), err)
	}
	return &st, nil
}

// write replaces the state file atomically, so a crash never leaves half of it.
func (st *state) write() error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode lab state: %w", err)
	}
	path := labFile(st.Options.Dir, stateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	return nil
}

func (st *state) lab() *Lab {
	dir := st.Options.Dir
	l := &Lab{
		Dir:         dir,
		Key:         labFile(dir, keyFile),
		KnownHosts:  labFile(dir, knownHostFile),
		Inventory:   labFile(dir, inventoryFile),
		License:     st.License,
		OpsUser:     opsUser,
		OpsPassword: st.OpsPassword,
		st:          st,
	}
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
