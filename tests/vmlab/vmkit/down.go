package vmkit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"remedy/tests/lab/labkit"
)

// Down removes every qemu, link, route, process and file the lab in dir
// made, also when its Up crashed half-way. A dir without a lab is left
// alone.
func Down(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("VM lab dir %s: %w", dir, err)
	}
	st, err := readState(dir)
	if err != nil || st == nil {
		return err
	}
	var errs []error
	// By command line, not by the state's pids: a qemu started just before
	// a crash may not be in the state yet.
	for _, pid := range labQemus(dir) {
		if err := killQemu(dir, pid); err != nil {
			errs = append(errs, err)
		}
	}
	if err := labkit.Slot(st.Slot).Remove(dir); err != nil {
		errs = append(errs, err)
	}
	// Only now: the keeper owns the slot, and any lab's Up reclaims the
	// slot of a dead owner, racing this Down for the same links.
	killKeeper(dir, st.Keeper)
	errs = append(errs, removeFiles(st))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("VM lab %s: %w", dir, err)
	}
	return nil
}

// labQemus lists the live qemu processes of the lab in dir.
func labQemus(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && isQemuOf(pid, dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// removeFiles deletes what the lab wrote to its dir, and the dir when Up
// created it and nothing else is in it.
func removeFiles(st *state) error {
	dir := st.Options.Dir
	files := []string{keyFile, keyFile + ".pub", knownHostFile, inventoryFile}
	for _, v := range st.VMs {
		for _, p := range []string{overlayPath(dir, v.Name), consolePath(dir, v.Name), monitorPath(dir, v.Name), qemuLogPath(dir, v.Name)} {
			files = append(files, filepath.Base(p))
		}
	}
	var errs []error
	for _, f := range append(files, stateFile) {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if st.CreatedDir {
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) &&
			!errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// runRoot holds the labs New makes, each in a directory named after the
// test process, so that the next Up reclaims the labs of a process that
// died without taking them down (killed, or its qemu outlived it).
const runRoot = "/var/tmp/remedy-vmlab"

func runDirPrefix(pid int) string { return fmt.Sprintf("lab-%d-", pid) }

// reclaimOrphans takes down the labs of test processes that are gone. A
// lab that stays up (make vm-up) is not here: it lasts until vm-down.
func reclaimOrphans() {
	dirs, _ := filepath.Glob(filepath.Join(runRoot, "lab-*"))
	for _, d := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), "lab-"), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || alive(pid) {
			continue
		}
		if Down(d) == nil {
			os.RemoveAll(d)
		}
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
