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

// allocSlot claims the first free slot for the lab in dir, reclaiming slots
// whose owner crashed and whose lab dir is gone.
func allocSlot(dir string) (int, error) {
	for n := 0; n < slots; n++ {
		claimed, err := claimSlot(n, dir)
		if err != nil {
			return 0, err
		}
		if claimed {
			return n, nil
		}
		if orphanSlot(n) {
			if err := removeSlot(n); err != nil {
				return 0, fmt.Errorf("reclaim orphaned lab slot %d: %w", n, err)
			}
			if claimed, err = claimSlot(n, dir); err != nil || claimed {
				return n, err
			}
		}
	}
	return 0, fmt.Errorf("all %d lab slots in %s are taken: take some labs down", slots, runDir)
}

// claimSlot creates slot n's file exclusively; it records who owns the slot.
func claimSlot(n int, dir string) (bool, error) {
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
		_, err = fmt.Fprintf(f, "%d %s\n", os.Getpid(), dir)
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

// orphanSlot reports whether slot n's owner is gone and left no lab state
// that Down could use: its process is dead and its dir's state names
// another slot or none.
func orphanSlot(n int) bool {
	b, err := os.ReadFile(slotFile(n))
	if err != nil {
		return false
	}
	pidText, dir, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	pid, err := strconv.Atoi(pidText)
	if !ok || err != nil {
		return false
	}
	if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
		return false
	}
	st, err := readState(dir)
	return err == nil && (st == nil || st.Slot != n)
}

// releaseSlot frees slot n; runDir goes too once no lab uses it.
func releaseSlot(n int) error {
	if err := os.Remove(slotFile(n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("release lab slot %d: %w", n, err)
	}
	os.Remove(runDir) // fails, as it should, while another lab holds a slot
	return nil
}
