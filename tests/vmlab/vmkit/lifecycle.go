package vmkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// bootTimeout bounds a boot or a reboot: 35-80 s under emulation on an
// idle machine, several times that beside other work (3m34s seen while a
// 500-host lab ran), so a loaded machine does not fail a healthy boot.
const bootTimeout = 7 * time.Minute

const bootIDCommand = "cat /proc/sys/kernel/random/boot_id"

// Start boots a VM that is not running (after PowerOff) from its disk as
// it is, and waits until SSH answers on one of ports (SSHPort when none
// are given); the first of ports that answers then becomes its SSHPort.
func (l *Lab) Start(ctx context.Context, name string, ports ...int) error {
	v, done, err := l.vmWithTurn(ctx, name)
	if err != nil {
		return err
	}
	defer done()
	return l.start(ctx, v, ports)
}

// vmWithTurn finds the VM called name and waits for a turn to boot it.
func (l *Lab) vmWithTurn(ctx context.Context, name string) (*vmState, func(), error) {
	v, err := l.st.vm(name)
	if err != nil {
		return nil, nil, err
	}
	done, err := bootTurn(ctx)
	return v, done, err
}

func (l *Lab) start(ctx context.Context, v *vmState, ports []int) error {
	name := v.Name
	if isQemuOf(v.Pid, l.Dir) {
		return fmt.Errorf("%s: already running (qemu %d)", name, v.Pid)
	}
	pid, err := startQemu(l.Dir, *v, l.st.Options.Ephemeral)
	if err != nil {
		return err
	}
	if err := l.st.update(func() { v.Pid = pid }); err != nil {
		return err
	}
	return l.awaitBoot(ctx, v, ports, "")
}

// PowerOff pulls the plug: it kills the VM's qemu, whatever the VM was
// doing, as a power cut would.
func (l *Lab) PowerOff(name string) error {
	v, err := l.st.vm(name)
	if err != nil {
		return err
	}
	if err := killQemu(l.Dir, v.Pid); err != nil {
		return fmt.Errorf("%s: power off: %w", name, err)
	}
	return nil
}

// Reboot runs a real reboot inside the VM and waits until it has booted
// again and SSH answers on one of ports (SSHPort when none are given);
// the first of ports that answers then becomes its SSHPort.
func (l *Lab) Reboot(ctx context.Context, name string, ports ...int) error {
	v, done, err := l.vmWithTurn(ctx, name)
	if err != nil {
		return err
	}
	defer done()
	c, err := l.dial(ctx, v, v.Port)
	if err != nil {
		return err
	}
	defer c.Close()
	var id bytes.Buffer
	s, err := c.NewSession()
	if err == nil {
		s.Stdout = &id
		err = s.Start(bootIDCommand + " && reboot")
	}
	if err != nil {
		return fmt.Errorf("%s: reboot: %w", name, err)
	}
	// The session ends when sshd goes down, without reboot's exit status.
	ended := make(chan error, 1)
	go func() { ended <- s.Wait() }()
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		c.Close()
		<-ended // the session's output is complete
	case <-ctx.Done():
		c.Close()
		<-ended
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: reboot: %w", name, ctx.Err())
	}
	if len(bytes.TrimSpace(id.Bytes())) == 0 {
		return fmt.Errorf("%s: reboot: no boot id before it", name)
	}
	return l.awaitBoot(ctx, v, ports, strings.TrimSpace(id.String()))
}

// Reset returns the VM to its snapshot, taken right after its first boot,
// and sets its clock, which the snapshot stopped. A VM that is not running
// starts from the snapshot.
func (l *Lab) Reset(ctx context.Context, name string) error {
	v, err := l.st.vm(name)
	if err != nil {
		return err
	}
	if isQemuOf(v.Pid, l.Dir) {
		err = snapshot(ctx, l.Dir, name, "loadvm")
	} else {
		var pid int
		pid, err = startQemu(l.Dir, *v, l.st.Options.Ephemeral, "-loadvm", snapTag)
		if err == nil {
			err = l.st.update(func() { v.Pid = pid })
		}
	}
	if err != nil {
		return err
	}
	if err := l.st.update(func() { v.Port = 22 }); err != nil {
		return err
	}
	now := time.Now()
	_, err = l.execOn(ctx, v, v.Port, fmt.Sprintf("date -u -s @%d.%09d >/dev/null", now.Unix(), now.Nanosecond()))
	if err != nil {
		return fmt.Errorf("%s: set the clock after restoring the snapshot: %w", name, err)
	}
	return nil
}

// awaitBoot waits until v has booted (its boot id is not oldID) and SSH
// logs in on one of ports, and records as v's the first of ports that
// logs in once it has (firstAnswering).
func (l *Lab) awaitBoot(ctx context.Context, v *vmState, ports []int, oldID string) error {
	if len(ports) == 0 {
		ports = []int{v.Port}
	}
	ctx, cancel := context.WithTimeout(ctx, bootTimeout)
	defer cancel()
	var last error
	for {
		var missed []string
		for i, port := range ports {
			id, err := l.execOn(ctx, v, port, bootIDCommand)
			if err == nil && strings.TrimSpace(string(id)) != oldID {
				first := l.firstAnswering(ctx, v, ports[:i], port)
				note := ""
				if len(missed) > 0 {
					note = fmt.Sprintf("%s; then %d logged in, and %d first of %v", strings.Join(missed, "; "), port, first, ports)
				}
				return l.st.update(func() { v.Port, v.BootNote = first, note })
			}
			if err == nil {
				err = errors.New("still the boot before")
			}
			last = err
			missed = append(missed, fmt.Sprintf("%d: %v", port, err))
		}
		if !isQemuOf(v.Pid, l.Dir) {
			return fmt.Errorf("%s: qemu is gone: %s\n%s", v.Name, tail(qemuLogPath(l.Dir, v.Name), 5), consoleTail(l.Dir, v.Name))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: SSH does not answer on port %s after %s: %w\n%s", v.Name,
				strings.Trim(fmt.Sprint(ports), "[]"), bootTimeout, last, consoleTail(l.Dir, v.Name))
		case <-time.After(time.Second):
		}
	}
}

// firstAnswering is the first of preferred, the ports before found in
// awaitBoot's order, that logs in now that the VM answers on found, else
// found. Each failed a moment before found logged in, maybe only because
// the VM was still coming up (sshd not started yet, a vCPU starved for
// the seconds of a connect on a busy machine); which port the lab
// records must not depend on when in the boot it looked. A refused
// connection is final, as sshd listens on all its ports at once; another
// failure is tried again, preferredTries times in all.
func (l *Lab) firstAnswering(ctx context.Context, v *vmState, preferred []int, found int) int {
	for _, port := range preferred {
		for try := 1; ; try++ {
			_, err := l.execOn(ctx, v, port, "true")
			if err == nil {
				return port
			}
			if errors.Is(err, syscall.ECONNREFUSED) || try == preferredTries || ctx.Err() != nil {
				break
			}
			time.Sleep(time.Second)
		}
	}
	return found
}

const preferredTries = 3

// turnsDir holds the machine's boot turns, one lock file each.
const turnsDir = "/run/remedy-vmlab"

// bootTurn waits for one of the machine's bootsAtOnce turns to boot a VM:
// a VM booting under emulation takes a core, whichever lab or test process
// it belongs to. done gives the turn back.
func bootTurn(ctx context.Context) (done func(), err error) {
	if err := os.MkdirAll(turnsDir, 0o755); err != nil {
		return nil, fmt.Errorf("boot turns: %w", err)
	}
	for {
		for i := range bootsAtOnce {
			f, err := os.OpenFile(filepath.Join(turnsDir, fmt.Sprintf("boot-%d.lock", i)), os.O_CREATE|os.O_RDWR, 0o644)
			if err != nil {
				return nil, fmt.Errorf("boot turns: %w", err)
			}
			if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
				return func() { f.Close() }, nil
			}
			f.Close()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for a turn to boot: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
