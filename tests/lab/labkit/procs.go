package labkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// killIn kills every process living in one of the namespaces pinned at
// paths (ip netns files and the bound mount, UTS and PID namespace files)
// and waits until they are gone. sshd, dbus-daemon, firewalld and socat all detach from
// whoever started them, so the namespaces are the only handle on them.
func killIn(paths []string) error {
	ids := map[string]bool{}
	for _, p := range paths {
		if id, ok := nsID(p); ok {
			ids[id] = true
		}
	}
	if len(ids) == 0 {
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := procsIn(ids)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v survive SIGKILL", pids)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const nsfsMagic = 0x6e736673

// pinKinds are the namespaces a host's pin files hold besides its network
// namespace, named as /proc/PID/ns names them.
var pinKinds = []string{"mnt", "uts", "pid"}

// nsID returns the identity ("net:[4026532]") of the namespace pinned at p,
// as /proc/PID/ns links spell it; the pin's suffix says its kind (.mnt,
// .uts, .pid), and ip netns files are network namespaces.
func nsID(p string) (string, bool) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(p, &fs); err != nil || fs.Type != nsfsMagic {
		return "", false // not pinned (any more)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		return "", false
	}
	kind := "net"
	for _, k := range pinKinds {
		if strings.HasSuffix(p, "."+k) {
			kind = k
		}
	}
	return fmt.Sprintf("%s:[%d]", kind, st.Ino), true
}

// procsIn lists the live processes in any namespace of ids. A zombie's
// namespace links are gone, so it is not listed.
func procsIn(ids map[string]bool) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		for _, kind := range append([]string{"net"}, pinKinds...) {
			id, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns", kind))
			if err == nil && ids[id] {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
