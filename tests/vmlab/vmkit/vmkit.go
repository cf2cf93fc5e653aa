// Package vmkit boots real Debian machines under qemu for remedy's tests:
// systemd as PID 1, real reboots, SELinux, firewalls started by their
// units. Images are built from Debian's archive with mmdebstrap and cached,
// one per profile; VMs run on a bridge in an address block claimed through
// labkit, so VM labs and namespace labs never collide, and are reset
// between tests from a snapshot taken after their first boot.
package vmkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"remedy/tests/labstate"
)

// Options says what lab Up boots.
type Options struct {
	Dir string // where the state, inventory.ini, known_hosts, the lab key and the VMs' disks live
	// Profiles has one entry per VM (see Profiles); a "+egress" suffix
	// makes that VM egress-restricted. Empty means one VM per profile.
	Profiles []string
	Cache    string // where images are built and kept; DefaultCache when empty
	// Ephemeral labs die with the process that built them: its VMs with
	// it, the rest at the next Up. New sets it.
	Ephemeral bool
	// Log gets a line per step of a build or boot; nil discards them.
	Log io.Writer `json:"-"`
}

// MaxVMs bounds a lab: each VM takes half a GiB and, while it boots, a
// core of emulation.
const MaxVMs = 8

// VM is one lab machine as the inventory names it.
type VM struct {
	Name    string // as in inventory.ini: the profile, then -2, -3 for more of it
	Addr    string // in 198.18.0.0/15
	Profile string
	Egress  bool // egress-restricted: output dropped except DNS, loopback and established
}

// Lab is a VM lab that is up: its files, the licensing stand-in and the
// ops login (Access), and its VMs.
type Lab struct {
	labstate.Access
	VMs []VM

	st *state
}

// LicenseDomain is the licensing endpoint the stand-in replaces.
const LicenseDomain = labstate.LicenseDomain

// ErrNotUp is returned by Load when dir holds no complete lab.
var ErrNotUp = errors.New("no VM lab is up there")

// Up builds the images o needs, when their recipes changed, and boots the
// lab, or returns the lab already up in o.Dir when it was booted from the
// same options and still answers. A lab there booted differently, or
// broken, is taken down first. Bad options create nothing.
func Up(ctx context.Context, o Options) (*Lab, error) {
	o, err := o.normalize()
	if err != nil {
		return nil, err
	}
	if err := Preflight(); err != nil {
		return nil, err
	}
	if prev, err := readState(o.Dir); err == nil && prev != nil {
		if prev.Complete && sameOptions(prev.Options, o) && prev.lab().answers() == nil {
			return prev.lab(), nil
		}
	}
	if err := Down(o.Dir); err != nil {
		return nil, fmt.Errorf("take down the previous VM lab in %s: %w", o.Dir, err)
	}
	reclaimOrphans()
	l, err := boot(ctx, o)
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

// normalize checks o and fills its defaults; it touches nothing.
func (o Options) normalize() (Options, error) {
	dir, err := labstate.CheckDir("VM lab", o.Dir)
	if err != nil {
		return o, err
	}
	o.Dir = dir
	// A unix socket's path is at most 107 bytes: the monitor's, with the
	// longest VM name in it, must fit.
	if len(monitorPath(dir, "firewalld-egress-8")) > 107 {
		return o, fmt.Errorf("VM lab dir %q: too long for qemu's monitor sockets: use a shorter one", dir)
	}
	if len(o.Profiles) > MaxVMs {
		return o, fmt.Errorf("a VM lab has at most %d VMs, not %d", MaxVMs, len(o.Profiles))
	}
	return o.normalizeImages()
}

// normalizeImages checks and fills what o says about images: the cache and
// the profiles.
func (o Options) normalizeImages() (Options, error) {
	if o.Cache == "" {
		o.Cache = DefaultCache
	}
	cache, err := filepath.Abs(o.Cache)
	if err != nil {
		return o, fmt.Errorf("VM image cache %s: %w", o.Cache, err)
	}
	o.Cache = cache
	if len(o.Profiles) == 0 {
		o.Profiles = Profiles
	}
	for _, p := range o.Profiles {
		if _, _, err := parseProfile(p); err != nil {
			return o, err
		}
	}
	return o, nil
}

func (o Options) logger() io.Writer {
	if o.Log == nil {
		return io.Discard
	}
	return o.Log
}

func sameOptions(a, b Options) bool {
	return a.Dir == b.Dir && a.Cache == b.Cache && a.Ephemeral == b.Ephemeral && slices.Equal(a.Profiles, b.Profiles)
}

// prepareDir creates dir when missing and proves it writable, so a bad dir
// fails before anything else is made. It reports whether it created dir.
func prepareDir(dir string) (bool, error) { return labstate.PrepareDir("VM lab", dir) }
