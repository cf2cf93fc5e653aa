package labkit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/sync/errgroup"
)

// build brings up the lab o describes in a fresh slot. The state is written
// before anything is created, so a failure anywhere leaves Down able to
// clean up.
func build(ctx context.Context, o Options, createdDir bool) (*Lab, error) {
	slot, err := allocSlot(o.Dir, os.Getpid())
	if err != nil {
		return nil, err
	}
	st := &state{
		Slot:        slot,
		Options:     o,
		CreatedDir:  createdDir,
		OpsPassword: rand.Text()[:16],
		License:     addrAt(slot, licenseOff).String(),
		Hosts:       plan(o, slot),
	}
	if err := st.write(); err != nil {
		return nil, errors.Join(err, releaseSlot(slot))
	}
	if err := makeNSDir(slot); err != nil {
		return nil, err
	}
	m, err := readMachine(ctx, st.OpsPassword)
	if err != nil {
		return nil, err
	}
	labKey, err := writeLabKey(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := createNetwork(ctx, st); err != nil {
		return nil, err
	}
	if err := startLicense(ctx, st.Slot, st.License, hostNeighbours(st)); err != nil {
		return nil, err
	}
	known, err := startHosts(ctx, st, m, labKey)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(labFile(o.Dir, knownHostFile), knownHosts(known), 0o644); err != nil {
		return nil, fmt.Errorf("write known_hosts: %w", err)
	}
	l := st.lab()
	if err := os.WriteFile(l.Inventory, inventory(l), 0o644); err != nil {
		return nil, fmt.Errorf("write inventory: %w", err)
	}
	st.Complete = true
	if err := st.write(); err != nil {
		return nil, err
	}
	return l, nil
}

// startHosts prepares and starts every host, several at a time: most of a
// host's time is spent waiting for processes, so more workers than cores pay.
func startHosts(ctx context.Context, st *state, m *machine, labKey keyPair) (map[string][]keyPair, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4 * runtime.NumCPU())
	var mu sync.Mutex
	known := map[string][]keyPair{}
	for _, h := range st.Hosts {
		g.Go(func() error {
			keys, err := prepareHost(st, h, m, labKey)
			if err != nil {
				return err
			}
			if err := startHost(gctx, st, h, m); err != nil {
				return err
			}
			if err := waitSSH(gctx, h); err != nil {
				return err
			}
			mu.Lock()
			known[h.Addr] = keys
			mu.Unlock()
			return nil
		})
	}
	return known, g.Wait()
}

// writeLabKey writes the key that logs in as root and ops on every host.
func writeLabKey(dir string) (keyPair, error) {
	k, err := newKeyPair("ed25519", "remedy-lab")
	if err != nil {
		return k, err
	}
	path := filepath.Join(dir, keyFile)
	if err := os.WriteFile(path, k.private, 0o600); err != nil {
		return k, fmt.Errorf("write lab key: %w", err)
	}
	if err := os.WriteFile(path+".pub", k.public, 0o644); err != nil {
		return k, fmt.Errorf("write lab key: %w", err)
	}
	return k, nil
}
