// Package labkit builds throwaway SSH hosts on this machine for remedy's
// tests, demo and benchmarks: each host is a network namespace on a bridge the
// lab owns plus a kept mount namespace with its own /etc, /usr, /var, /root,
// /home, /run and /tmp, running a real OpenSSH sshd and a real firewall.
package labkit

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"remedy/tests/labstate"
)

// Options says what lab Up builds.
type Options struct {
	Dir   string // where inventory.ini, known_hosts, the lab key (id_ed25519) and the state live
	Hosts int    // hosts reachable from the machine
	// Profiles are assigned round-robin; a "+egress" suffix (e.g.
	// "nftables+egress") makes that host egress-restricted. Empty means all
	// six profiles.
	Profiles         []string
	EgressRestricted bool // every host egress-restricted
	Hidden           int  // extra hosts reachable only through the first host (for ProxyJump tests)
	// Ephemeral labs die with the process that built them: if it ends
	// without Down, a later Up reclaims the lab. New sets it.
	Ephemeral bool
}

// Host is one lab host as the inventory names it.
type Host struct {
	Name    string // as in inventory.ini
	Addr    string // in 198.18.0.0/15
	Profile string // nftables, iptables-legacy, iptables-nft, firewalld, ufw or none
	Egress  bool   // egress-restricted: output dropped except DNS, loopback and established
	Hidden  bool   // reachable only via the first host
}

// Lab is a lab that is up: its files, the licensing stand-in and the
// ops login (Access), and its hosts.
type Lab struct {
	labstate.Access
	Hosts []Host

	st *state
}

// LicenseDomain is the licensing endpoint the stand-in replaces.
const LicenseDomain = labstate.LicenseDomain

// ErrNotUp is returned by Load when dir holds no complete lab.
var ErrNotUp = errors.New("no lab is up there")

// Up builds the lab o describes, or returns the lab already up in o.Dir when
// it was built from the same options and still answers. A lab there built
// differently, or broken, is taken down first. Bad options create nothing.
func Up(ctx context.Context, o Options) (*Lab, error) {
	o, err := o.normalize()
	if err != nil {
		return nil, err
	}
	if err := Preflight(); err != nil {
		return nil, err
	}
	created, err := prepareDir(o.Dir)
	if err != nil {
		return nil, err
	}
	if prev, err := readState(o.Dir); err == nil && prev != nil {
		if l := prev.lab(); prev.Complete && sameOptions(prev.Options, o) && l.answers() == nil {
			return l, nil
		}
		created = prev.CreatedDir
	}
	if err := Down(o.Dir); err != nil {
		return nil, fmt.Errorf("take down the previous lab in %s: %w", o.Dir, err)
	}
	if _, err := prepareDir(o.Dir); err != nil { // Down removes a dir it created
		return nil, err
	}
	l, err := build(ctx, o, created)
	if err != nil {
		if derr := Down(o.Dir); derr != nil {
			err = errors.Join(err, fmt.Errorf("clean up: %w", derr))
		}
		return nil, err
	}
	return l, nil
}

// Load returns the lab that is up in dir.
func Load(dir string) (*Lab, error) {
	st, err := readState(dir)
	if err != nil {
		return nil, err
	}
	if st == nil || !st.Complete {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotUp)
	}
	return st.lab(), nil
}

// prepareDir creates dir when missing and proves it writable, so a bad --dir
// fails before anything else is made. It reports whether it created dir.
func prepareDir(dir string) (bool, error) { return labstate.PrepareDir("lab", dir) }

func sameOptions(a, b Options) bool {
	return a.Dir == b.Dir && a.Hosts == b.Hosts && a.Hidden == b.Hidden &&
		a.EgressRestricted == b.EgressRestricted && a.Ephemeral == b.Ephemeral &&
		slices.Equal(a.Profiles, b.Profiles)
}

func labFile(dir, name string) string { return filepath.Join(dir, name) }
