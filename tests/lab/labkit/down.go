package labkit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Down removes every process, namespace, mount, link, route and file the lab
// in dir made, also when its Up crashed half-way. A dir without a lab is
// left alone.
func Down(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("lab dir %s: %w", dir, err)
	}
	st, err := readState(dir)
	if err != nil || st == nil {
		return err
	}
	if ownsSlot(st.Slot, dir) {
		if err := removeSlot(st.Slot); err != nil {
			return fmt.Errorf("lab %s: %w", dir, err)
		}
	}
	return removeFiles(st)
}

// ownsSlot reports whether slot n is dir's, or nobody's: after a reboot
// another lab may have taken the slot a stale state names.
func ownsSlot(n int, dir string) bool {
	b, err := os.ReadFile(slotFile(n))
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	_, owner, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	return err == nil && owner == dir
}

// removeSlot takes down whatever slot n has in the machine, found by name,
// and frees the slot.
func removeSlot(n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	netns, err := slotNetns(ctx, n)
	if err != nil {
		return err
	}
	pins, _ := filepath.Glob(filepath.Join(nsDir(n), "*"))
	for _, ns := range netns {
		pins = append(pins, "/run/netns/"+ns)
	}
	if err := killIn(pins); err != nil {
		return err
	}
	if err := removeNSDir(n); err != nil {
		return err
	}
	if err := removeNetwork(ctx, n); err != nil {
		return err
	}
	if err := waitGone(ctx, n); err != nil {
		return err
	}
	return releaseSlot(n)
}

// makeNSDir creates slot n's private directory for namespace pins.
func makeNSDir(n int) error {
	d := nsDir(n)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", d, err)
	}
	if err := unix.Mount(d, d, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", d, err)
	}
	if err := unix.Mount("", d, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s private: %w", d, err)
	}
	return nil
}

// removeNSDir unpins the hosts' mount and UTS namespaces and removes the
// directory. Unmounting until EINVAL also undoes a directory bound twice.
func removeNSDir(n int) error {
	d := nsDir(n)
	pins, _ := filepath.Glob(filepath.Join(d, "*"))
	for _, p := range append(pins, d) {
		if err := unmountAll(p); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(d); err != nil {
		return fmt.Errorf("remove %s: %w", d, err)
	}
	return nil
}

func unmountAll(p string) error {
	for {
		err := unix.Unmount(p, unix.MNT_DETACH)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unmount %s: %w", p, err)
		}
	}
}

// removeFiles deletes what the lab wrote to its dir, and the dir when Up
// created it.
func removeFiles(st *state) error {
	dir := st.Options.Dir
	var errs []error
	if err := os.RemoveAll(filepath.Join(dir, hostsDir)); err != nil {
		errs = append(errs, err)
	}
	for _, f := range []string{keyFile, keyFile + ".pub", knownHostFile, inventoryFile, stateFile} {
		if err := os.Remove(labFile(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	// A dir the lab made goes too, unless the user put files of their own
	// in it: those are theirs to keep, and the lab is down all the same.
	if st.CreatedDir {
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) && !isNotEmpty(err) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lab %s: remove files: %w", dir, err)
	}
	return nil
}

func isNotEmpty(err error) bool {
	return errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)
}
