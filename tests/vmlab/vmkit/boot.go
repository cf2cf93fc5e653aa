package vmkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"remedy/lua/shell"
	"remedy/tests/lab/labkit"
)

// bootsAtOnce bounds the VMs booting at a time on the machine (see
// bootTurn): each takes a core of emulation while it boots, and the
// machine has two.
const bootsAtOnce = 2

// boot builds what o needs and brings the lab up. The state is written
// before anything is created, so a failure anywhere leaves Down able to
// clean up.
func boot(ctx context.Context, o Options) (*Lab, error) {
	created, err := prepareDir(o.Dir)
	if err != nil {
		return nil, err
	}
	c := &cache{dir: o.Cache, log: o.logger()}
	images, err := c.images(ctx, o.Profiles)
	if err != nil {
		return nil, err
	}
	_, password, err := c.secrets()
	if err != nil {
		return nil, err
	}
	st := &state{Options: o, CreatedDir: created, OpsPassword: password, Owner: os.Getpid()}
	if !o.Ephemeral {
		if st.Keeper, err = startKeeper(o.Dir); err != nil {
			return nil, err
		}
		st.Owner = st.Keeper
	}
	slot, err := labkit.ClaimSlot(o.Dir, st.Owner)
	if err != nil {
		killKeeper(o.Dir, st.Keeper)
		return nil, err
	}
	st.Slot, st.License = int(slot), slot.License().String()
	st.VMs = plan(o.Profiles, slot, images)
	if err := st.write(); err != nil {
		err = errors.Join(err, slot.Remove(o.Dir))
		killKeeper(o.Dir, st.Keeper) // after: the keeper holds the slot
		return nil, err
	}
	if err := writeLabFiles(st, c); err != nil {
		return nil, err
	}
	if err := slot.Network(ctx); err != nil {
		return nil, err
	}
	if err := createTaps(ctx, slot, st.VMs); err != nil {
		return nil, err
	}
	l := st.lab()
	if err := l.bootAll(ctx); err != nil {
		return nil, err
	}
	st.Complete = true
	if err := st.write(); err != nil {
		return nil, err
	}
	return st.lab(), nil
}

// images builds or finds the image of every profile in names, two at a
// time. The first image of each suite goes first, so that the suites' base
// systems build at once rather than one build waiting for the other's.
func (c *cache) images(ctx context.Context, names []string) (map[string]*image, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	var mu sync.Mutex
	images := map[string]*image{}
	for _, p := range suitesFirst(names) {
		name, egress, _ := parseProfile(p)
		iname := imageName(name, egress)
		mu.Lock()
		_, seen := images[iname]
		images[iname] = nil
		mu.Unlock()
		if seen {
			continue
		}
		g.Go(func() error {
			im, err := c.image(gctx, name, egress)
			mu.Lock()
			images[iname] = im
			mu.Unlock()
			return err
		})
	}
	return images, g.Wait()
}

// suitesFirst orders profiles so that each suite's first comes before
// any suite's second.
func suitesFirst(names []string) []string {
	var first, rest []string
	seen := map[string]bool{}
	for _, p := range names {
		name, _, _ := parseProfile(p)
		if suite := profiles[name].suite; !seen[suite] {
			seen[suite] = true
			first = append(first, p)
			continue
		}
		rest = append(rest, p)
	}
	return append(first, rest...)
}

// plan names and addresses the VMs: each after its profile ("nftables",
// "nftables-egress"), with -2, -3 for more of the same.
func plan(names []string, slot labkit.Slot, images map[string]*image) []vmState {
	var vms []vmState
	count := map[string]int{}
	for i, p := range names {
		name, egress, _ := parseProfile(p)
		im := images[imageName(name, egress)]
		vmName := strings.ReplaceAll(imageName(name, egress), egressSuffix, "-egress")
		count[vmName]++
		if n := count[vmName]; n > 1 {
			vmName = fmt.Sprintf("%s-%d", vmName, n)
		}
		vms = append(vms, vmState{
			VM:       VM{Name: vmName, Addr: slot.Host(i + 1).String(), Profile: name, Egress: egress},
			Port:     22,
			Disk:     im.disk(),
			Kernel:   im.kernel(),
			Initrd:   im.initrd(),
			HostKeys: im.HostKeys,
			Tap:      slot.Link(i + 1),
			MAC:      fmt.Sprintf("52:54:00:4c:%02x:%02x", int(slot), i+1),
		})
	}
	return vms
}

// writeLabFiles puts in the lab's dir what a person or remedy needs to log
// in: the lab key, known_hosts and the inventory.
func writeLabFiles(st *state, c *cache) error {
	l := st.lab()
	for _, f := range []string{keyFile, keyFile + ".pub"} {
		b, err := os.ReadFile(filepath.Join(c.dir, f))
		if err == nil {
			err = os.WriteFile(filepath.Join(l.Dir, f), b, 0o600)
		}
		if err != nil {
			return fmt.Errorf("VM lab key: %w", err)
		}
	}
	if err := os.WriteFile(l.KnownHosts, knownHosts(st.VMs), 0o644); err != nil {
		return fmt.Errorf("write known_hosts: %w", err)
	}
	if err := os.WriteFile(l.Inventory, inventory(l), 0o644); err != nil {
		return fmt.Errorf("write inventory: %w", err)
	}
	return nil
}

// createTaps makes each VM's tap on the slot's bridge. They outlive their
// qemu, so a VM powered off and started again finds its link; Down
// deletes them with the slot's links.
func createTaps(ctx context.Context, slot labkit.Slot, vms []vmState) error {
	var lines []string
	for _, v := range vms {
		lines = append(lines, "tuntap add dev "+v.Tap+" mode tap",
			"link set "+v.Tap+" master "+slot.Bridge()+" up")
	}
	cmd := exec.CommandContext(ctx, "ip", "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("create the VMs' taps: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// bootAll boots every VM, sets it up and takes its snapshot, a few at a
// time.
func (l *Lab) bootAll(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(bootsAtOnce)
	for _, v := range l.st.VMs {
		g.Go(func() error { return l.firstBoot(gctx, v.Name) })
	}
	return g.Wait()
}

// firstBoot boots a VM from its fresh overlay, waits for SSH and for
// systemd to finish booting, gives it its name and the licensing
// stand-in's, and takes the snapshot Reset returns to.
func (l *Lab) firstBoot(ctx context.Context, name string) error {
	v, done, err := l.vmWithTurn(ctx, name)
	if err != nil {
		return err
	}
	defer done()
	if err := createOverlay(l.Dir, *v); err != nil {
		return err
	}
	start := time.Now()
	if err := l.start(ctx, v, nil); err != nil {
		return err
	}
	setup := strings.Join([]string{
		"echo " + shell.Quote(name) + " >/etc/hostname",
		"hostname " + shell.Quote(name),
		fmt.Sprintf("printf '%%s\\t%%s\\n' %s %s %s %s >>/etc/hosts", v.Addr, shell.Quote(name), l.License, LicenseDomain),
		// "degraded" means a unit failed: the image is broken, say which.
		`state=$(systemctl is-system-running --wait) || { echo "systemd is $state:"; systemctl --failed --no-legend; exit 1; }`,
		"sync",
	}, "\n")
	if _, err := l.Exec(ctx, name, "sh", "-c", setup); err != nil {
		return err
	}
	booted := time.Since(start)
	if err := snapshot(ctx, l.Dir, name, "savevm"); err != nil {
		return err
	}
	fmt.Fprintf(l.st.Options.logger(), "vmlab: %s up in %s, snapshot in %s\n", name, booted.Round(time.Second),
		(time.Since(start) - booted).Round(100*time.Millisecond))
	return nil
}

// keeperTag names a lasting lab's keeper on its command line, so that Down
// kills only a keeper of its own.
const keeperTag = "remedy-vmlab-keeper"

// startKeeper starts the process that holds a lasting lab's slot after Up
// returns: the slot is reclaimed only once it is gone, and Down kills it.
func startKeeper(dir string) (int, error) {
	cmd := exec.Command("sh", "-c", "while :; do sleep 3600; done", keeperTag, dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start the VM lab's keeper: %w", err)
	}
	go cmd.Wait()
	return cmd.Process.Pid, nil
}

// killKeeper ends dir's keeper and its sleep, if pid is still that keeper.
func killKeeper(dir string, pid int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if pid > 0 && err == nil && strings.Contains(string(b), "\x00"+keeperTag+"\x00"+dir+"\x00") {
		syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// Build builds the images of o's profiles whose recipes changed or that
// were never built, and boots nothing: make test runs it beside the
// quicker tests, so that the VM tier finds its images ready.
func Build(ctx context.Context, o Options) error {
	o, err := o.normalizeImages()
	if err != nil {
		return err
	}
	if err := Preflight(); err != nil {
		return err
	}
	_, err = (&cache{dir: o.Cache, log: o.logger()}).images(ctx, o.Profiles)
	return err
}
