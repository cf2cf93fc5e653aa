package labkit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// runDir holds one file per slot in use, so labs brought up at the same time
// (from different test packages) never share a name or an address.
const runDir = "/run/remedy-lab"

func slotFile(n int) string { return filepath.Join(runDir, fmt.Sprintf("slot-%d", n)) }

// nsDir holds the files the hosts' mount and UTS namespaces are bound to. It
// is a private mount: binding a mount namespace on a shared mount would let
// it propagate into the very namespace it pins, which the kernel refuses.
func nsDir(n int) string { return filepath.Join(runDir, fmt.Sprintf("slot-%d.ns", n)) }

// allocSlot claims the first free slot for the lab in dir, held while the
// process owner lives, after reclaiming the slots of labs whose owner died
// without taking them down.
func allocSlot(dir string, owner int) (int, error) {
	if err := reclaimOrphans(); err != nil {
		return 0, err
	}
	for n := 0; n < slots; n++ {
		claimed, err := claimSlot(n, dir, owner)
		if err != nil || claimed {
			return n, err
		}
	}
	return 0, fmt.Errorf("all %d lab slots in %s are taken: take some labs down", slots, runDir)
}

func reclaimOrphans() error {
	for n := 0; n < slots; n++ {
		if orphan, st := orphanSlot(n); orphan {
			if err := reclaim(n, st); err != nil {
				return fmt.Errorf("reclaim orphaned lab slot %d: %w", n, err)
			}
		}
	}
	return nil
}

// reclaim takes down what an orphaned lab left in slot n, and its files
// when its state is known. A lock file makes sure that of several Ups
// finding the same orphan at once, one takes it down and the others leave
// it alone; the slot stays taken until it is clean.
func reclaim(n int, st *state) error {
	lock := slotFile(n) + ".reclaim"
	f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lock lab slot %d: %w", n, err)
	}
	f.Close()
	defer func() {
		os.Remove(lock)
		os.Remove(runDir) // fails, as it should, while another lab holds a slot
	}()
	if err := removeSlot(n); err != nil {
		return err
	}
	if st == nil {
		return nil
	}
	return removeFiles(st)
}

// claimSlot creates slot n's file exclusively; it records who owns the slot.
func claimSlot(n int, dir string, owner int) (bool, error) {
	// Another lab's releaseSlot may remove runDir between MkdirAll and
	// OpenFile, hence the retries.
	for range 3 {
		if err := os.MkdirAll(runDir, 0o755); err != nil {
			return false, fmt.Errorf("lab slots: %w", err)
		}
		f, err := os.OpenFile(slotFile(n), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("lab slot %d: %w", n, err)
		}
		_, err = fmt.Fprintf(f, "%d %s\n", owner, dir)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return false, fmt.Errorf("lab slot %d: %w", n, err)
		}
		return true, nil
	}
	return false, fmt.Errorf("lab slot %d: %s keeps disappearing", n, runDir)
}

// orphanSlot reports whether slot n's owner is gone and nobody will take
// its lab down: its process is dead, and its dir's state names another slot
// or none, or records an Up that never finished, or an ephemeral lab.
func orphanSlot(n int) (bool, *state) {
	b, err := os.ReadFile(slotFile(n))
	if err != nil {
		return false, nil
	}
	pidText, dir, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	pid, err := strconv.Atoi(pidText)
	if !ok || err != nil {
		return false, nil
	}
	if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
		return false, nil
	}
	st, err := readState(dir)
	if err != nil {
		return false, nil
	}
	if st == nil || st.Slot != n {
		return true, nil
	}
	return !st.Complete || st.Options.Ephemeral, st
}

// releaseSlot frees slot n; runDir goes too once no lab uses it.
func releaseSlot(n int) error {
	if err := os.Remove(slotFile(n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("release lab slot %d: %w", n, err)
	}
	os.Remove(runDir) // fails, as it should, while another lab holds a slot
	return nil
}
