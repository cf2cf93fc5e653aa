package vmkit

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"remedy/tests/lab/labkit"
)

// Under emulation: /dev/kvm here is not hardware virtualisation, and a
// Debian kernel under it crawls. qemu64 is about twice as fast as "max"
// under TCG; tb-size caps the translation cache, otherwise about 1 GiB.
const (
	accel   = "tcg,tb-size=256"
	cpu     = "qemu64"
	memory  = "512"
	snapTag = "boot" // the snapshot Reset restores, taken after the first boot
)

// qemuArgs is the command line of vm: always the same for one VM, because
// loadvm restores a snapshot only into the command line that took it.
func qemuArgs(dir string, vm vmState) []string {
	return []string{
		"-name", vm.Name,
		"-nodefaults", "-no-user-config", "-display", "none",
		"-machine", "pc", "-accel", accel, "-cpu", cpu, "-smp", "1", "-m", memory,
		"-kernel", vm.Kernel, "-initrd", vm.Initrd, "-append", kernelCmdline(vm),
		"-drive", "file=" + overlayPath(dir, vm.Name) + ",if=virtio,format=qcow2",
		"-netdev", "tap,id=net0,ifname=" + vm.Tap + ",script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=net0,mac=" + vm.MAC,
		// Entropy for the guest's first seconds: sshd waits for it.
		"-device", "virtio-rng-pci",
		"-serial", "file:" + consolePath(dir, vm.Name),
		"-monitor", "unix:" + monitorPath(dir, vm.Name) + ",server=on,wait=off",
	}
}

// kernelCmdline boots the image's whole-disk root and gives the VM its
// address without DHCP: systemd-network-generator turns ip= into a
// systemd-networkd unit. No gateway: lab hosts have no default route.
func kernelCmdline(vm vmState) string {
	mask := net.IP(net.CIDRMask(labkit.HostPrefix, 32)).String()
	args := []string{"root=/dev/vda", "rw", "console=ttyS0", "net.ifnames=0",
		fmt.Sprintf("ip=%s:::%s:%s:eth0:off", vm.Addr, mask, vm.Name)}
	return strings.Join(append(args, profiles[vm.Profile].kernelArgs...), " ")
}

func overlayPath(dir, name string) string { return filepath.Join(dir, name+".qcow2") }
func consolePath(dir, name string) string { return filepath.Join(dir, name+".console") }
func monitorPath(dir, name string) string { return filepath.Join(dir, name+".monitor") }
func qemuLogPath(dir, name string) string { return filepath.Join(dir, name+".qemu.log") }

// createOverlay makes vm's disk: a qcow2 overlay over its image's raw disk,
// which qemu opens read-only, so VMs never change the cached image.
func createOverlay(dir string, vm vmState) error {
	out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", vm.Disk,
		overlayPath(dir, vm.Name)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: create its disk: %w: %s", vm.Name, err, bytes.TrimSpace(out))
	}
	return nil
}

// startQemu starts vm's qemu with extra arguments after its usual ones. An
// ephemeral lab's qemu dies with this process; a lasting lab's runs in a
// session of its own, for Down to kill. It returns the qemu's pid.
func startQemu(dir string, vm vmState, ephemeral bool, extra ...string) (int, error) {
	logFile, err := os.OpenFile(qemuLogPath(dir, vm.Name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", vm.Name, err)
	}
	defer logFile.Close()
	cmd := exec.Command("qemu-system-x86_64", append(qemuArgs(dir, vm), extra...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if ephemeral {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("%s: start qemu: %w", vm.Name, err)
	}
	go cmd.Wait() // reaps it whenever it ends, while this process lives
	return cmd.Process.Pid, nil
}

// isQemuOf reports whether pid is a live qemu of the lab in dir: pids are
// reused, and a qemu another lab or person started is never killed.
func isQemuOf(pid int, dir string) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.HasPrefix(b, []byte("qemu-system-")) {
		return false
	}
	return bytes.Contains(b, []byte("unix:"+dir+"/")) && !isZombie(pid)
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z'
}

// killQemu pulls the plug on vm's qemu, if it is still the lab's, and
// waits until it is gone.
func killQemu(dir string, pid int) error {
	if !isQemuOf(pid, dir) {
		return nil
	}
	syscall.Kill(pid, syscall.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	// Until it is a zombie or gone, not merely until its command line
	// reads empty: an exiting process drops its memory, and with it its
	// command line, before it closes its files, and qemu's lock on the
	// disk goes with those. A Start right after PowerOff found the disk
	// still locked ("Failed to get "write" lock").
	for !isZombie(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("qemu %d survives SIGKILL", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// consoleTail is the end of vm's serial console, for errors about a VM
// that does not come up.
func consoleTail(dir, name string) string {
	return "console (" + consolePath(dir, name) + ") ends:\n" + tail(consolePath(dir, name), 15)
}
