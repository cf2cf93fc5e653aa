package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sample is what one run of one tool cost the controller.
type sample struct {
	Wall    time.Duration // start to exit of the command itself
	CPU     time.Duration // user+sys of every process of its tree
	MaxRSS  int64         // bytes: the largest single process
	TreeRSS int64         // bytes: the largest sum over the tree at once, sampled
	// Machine is the CPU time the whole machine spent while the command
	// ran (/proc/stat): on a lab, the hosts' work and the tool's. Less
	// CPU, it is what the run cost the hosts, and whatever else ran.
	Machine time.Duration
}

// treeTick is how often the tree's memory is sampled. Often enough for a
// run of a second; rare enough not to slow down what it measures.
const treeTick = 50 * time.Millisecond

// becomeSubreaper makes processes that outlive their parent (Ansible's
// ControlPersist masters daemonize) our children, so their CPU time is
// counted when we reap them and no run leaves one behind.
func becomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("become child subreaper: %w", err)
	}
	return nil
}

// measure runs argv with env added, its output going to logPath, and
// reports its cost. ok lists the exit codes that mean the run worked.
func measure(argv, env []string, logPath string, ok []int) (sample, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w", argv[0], err)
	}
	defer log.Close()
	var before unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_CHILDREN, &before); err != nil {
		return sample{}, fmt.Errorf("getrusage: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	stopSampler, treePeak := sampleTree()
	busyBefore, busyErr := machineBusy()
	start := time.Now()
	runErr := cmd.Run()
	wall := time.Since(start)
	stopSampler()
	reapOrphans()
	busyAfter, err := machineBusy()
	if busyErr != nil || err != nil {
		return sample{}, errors.Join(busyErr, err)
	}
	var after unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_CHILDREN, &after); err != nil {
		return sample{}, fmt.Errorf("getrusage: %w", err)
	}
	if err := exitOK(runErr, ok); err != nil {
		return sample{}, fmt.Errorf("%s: %w (output in %s)", filepath.Base(argv[0]), err, logPath)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return sample{
		Wall:    wall,
		CPU:     cpuTime(after) - cpuTime(before),
		MaxRSS:  ru.Maxrss * 1024,
		TreeRSS: max(*treePeak, ru.Maxrss*1024),
		Machine: busyAfter - busyBefore,
	}, nil
}

// machineBusy is the CPU time every core has spent on anything but idle
// and I/O wait since boot, from /proc/stat's first line, in USER_HZ
// ticks (100 a second on Linux).
func machineBusy() (time.Duration, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("machine CPU: %w", err)
	}
	return parseBusy(data)
}

// parseBusy reads /proc/stat's "cpu" line: user nice system idle iowait
// irq softirq steal ...; guest time is inside user already.
func parseBusy(stat []byte) (time.Duration, error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("machine CPU: unexpected /proc/stat line %q", line)
	}
	var ticks int64
	for i, v := range f[1:9] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("machine CPU: unexpected /proc/stat line %q", line)
		}
		if i != 3 && i != 4 { // idle, iowait
			ticks += n
		}
	}
	return time.Duration(ticks) * (time.Second / 100), nil
}

func exitOK(err error, ok []int) error {
	var exit *exec.ExitError
	switch {
	case err == nil && slices.Contains(ok, 0):
		return nil
	case errors.As(err, &exit) && slices.Contains(ok, exit.ExitCode()):
		return nil
	case err == nil:
		return fmt.Errorf("exit 0, want one of %v", ok)
	}
	return err
}

func cpuTime(ru unix.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sampleTree sums the resident memory of our descendants every treeTick
// until stop is called; *peak is the largest sum seen. Shared pages (the
// same binary in many processes) count once per process.
func sampleTree() (stop func(), peak *int64) {
	peak = new(int64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(treeTick)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				*peak = max(*peak, treeRSS())
			}
		}
	}()
	return func() { close(done); wg.Wait() }, peak
}

// treeRSS is the resident memory of every descendant of this process.
func treeRSS() int64 {
	var total int64
	page := int64(os.Getpagesize())
	pids := children(os.Getpid())
	for len(pids) > 0 {
		pid := pids[0]
		pids = append(pids[1:], children(pid)...)
		total += residentPages(pid) * page
	}
	return total
}

// children lists pid's child processes, whichever of its threads forked
// them (Go forks from any thread).
func children(pid int) []int {
	lists, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var pids []int
	for _, l := range lists {
		data, err := os.ReadFile(l)
		if err != nil {
			continue // the thread or process has just exited
		}
		for _, f := range bytes.Fields(data) {
			if n, err := strconv.Atoi(string(f)); err == nil {
				pids = append(pids, n)
			}
		}
	}
	return pids
}

func residentPages(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	fields := bytes.Fields(data)
	if len(fields) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(string(fields[1]), 10, 64)
	return n
}

// reapOrphans ends what a run left behind (ControlPersist masters, which
// would otherwise serve the next run warm) and reaps it, so its CPU time
// joins RUSAGE_CHILDREN.
func reapOrphans() {
	for _, pid := range children(os.Getpid()) {
		unix.Kill(pid, unix.SIGTERM)
	}
	for {
		var ws unix.WaitStatus
		if _, err := unix.Wait4(-1, &ws, 0, nil); err != nil {
			return // ECHILD: nothing left
		}
	}
}
