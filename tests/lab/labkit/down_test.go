package labkit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An Up that dies half-way (the network made, the stand-in and one host
// with its firewalld running, the rest never started) must leave nothing
// behind once Down has run: no process, namespace, link, route, mount, slot
// or file.
func TestDownAfterACrashedUp(t *testing.T) {
	labForTest(t) // the same preconditions; also shows Down sparing another lab
	dir := filepath.Join(t.TempDir(), "crashed")
	o, err := Options{Dir: dir, Hosts: 2, Profiles: []string{"firewalld", "ufw"}, Ephemeral: true}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	st := crashedUp(t, o)
	pins, _ := filepath.Glob(filepath.Join(nsDir(st.Slot), "*"))
	pins = append(pins, "/run/netns/"+st.Hosts[0].Netns, "/run/netns/"+netnsName(st.Slot, licenseName))
	ids := map[string]bool{}
	for _, p := range pins {
		if id, ok := nsID(p); ok {
			ids[id] = true
		}
	}
	if len(procsIn(ids)) < 3 {
		t.Fatalf("the crashed lab should have left sshd, dbus, firewalld and socat running; found %v", procsIn(ids))
	}

	if err := Down(dir); err != nil {
		t.Fatal(err)
	}

	if pids := procsIn(ids); len(pids) > 0 {
		t.Errorf("processes %v survive Down", pids)
	}
	ctx := context.Background()
	if ns, err := slotNetns(ctx, st.Slot); err != nil || len(ns) > 0 {
		t.Errorf("namespaces %v survive Down (%v)", ns, err)
	}
	if links := slotLinks(st.Slot); len(links) > 0 {
		t.Errorf("links %v survive Down", links)
	}
	if r, err := unreachableRoute(ctx, addrAt(st.Slot, 0).String()+"/22"); err != nil || r {
		t.Errorf("the lab's route survives Down (%v)", err)
	}
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), nsDir(st.Slot)+" ") {
		t.Errorf("%s is still mounted after Down", nsDir(st.Slot))
	}
	for _, p := range []string{nsDir(st.Slot), slotFile(st.Slot), dir} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s survives Down", p)
		}
	}
	if err := sharedLab.answers(); err != nil {
		t.Errorf("Down of one lab broke another: %v", err)
	}
}

// crashedUp runs the first steps of build and stops as a crash would.
func crashedUp(t *testing.T, o Options) *state {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	created, err := prepareDir(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	slot, err := allocSlot(o.Dir, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	st := &state{Slot: slot, Options: o, CreatedDir: created, OpsPassword: "crash",
		License: addrAt(slot, licenseOff).String(), Hosts: plan(o, slot)}
	t.Cleanup(func() { Down(o.Dir) })
	if err := st.write(); err != nil {
		t.Fatal(err)
	}
	if err := makeNSDir(slot); err != nil {
		t.Fatal(err)
	}
	m, err := readMachine(ctx, st.OpsPassword)
	if err != nil {
		t.Fatal(err)
	}
	key, err := writeLabKey(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := createNetwork(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := startLicense(ctx, st.Slot, st.License, hostNeighbours(st)); err != nil {
		t.Fatal(err)
	}
	if _, err := prepareHost(st, st.Hosts[0], m, key); err != nil {
		t.Fatal(err)
	}
	if err := startHost(ctx, st, st.Hosts[0], m); err != nil {
		t.Fatal(err)
	}
	return st
}

// A crashed ephemeral lab whose process is gone is reclaimed by the next Up.
func TestUpReclaimsOrphanedLabs(t *testing.T) {
	labForTest(t)
	dir := filepath.Join(t.TempDir(), "orphan")
	o, err := Options{Dir: dir, Hosts: 1, Profiles: []string{"none"}, Ephemeral: true}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	st := crashedUp(t, o)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(slotFile(st.Slot), []byte(fmt.Sprintf("%d %s\n", dead.Process.Pid, dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other")
	slot, err := allocSlot(other, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer releaseSlot(slot)
	if ns, err := slotNetns(context.Background(), st.Slot); err != nil || len(ns) > 0 {
		t.Errorf("the orphan's namespaces %v survive (%v)", ns, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the orphan's dir %s survives", dir)
	}
}
