package labkit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A slot claimed for a lab labkit does not build (the VM lab) is that
// lab's while its owner lives, and once the owner has died the next claim
// takes down its bridge, links, route and licensing stand-in: a killed VM
// test leaves nothing a namespace lab would collide with.
func TestClaimedSlotIsReclaimedAfterItsOwner(t *testing.T) {
	RequireLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	owner := exec.Command("sleep", "60")
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "vmlab")
	s, err := ClaimSlot(dir, owner.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Remove(dir) })
	if err := s.Network(ctx); err != nil {
		t.Fatal(err)
	}
	// A tap, as the VM lab gives each VM, with the slot's link name.
	tap := s.Link(1)
	if out, err := exec.Command("ip", "tuntap", "add", "dev", tap, "mode", "tap").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if err := Reach(s.License().String(), "tcp", 443, 2*time.Second); err != nil {
		t.Fatalf("licensing stand-in: %v", err)
	}

	other, err := allocSlot(filepath.Join(t.TempDir(), "other"), os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	releaseSlot(other)
	if other == int(s) {
		t.Fatalf("slot %d was given out again while its owner lives", other)
	}
	if links := slotLinks(int(s)); !slices.Contains(links, s.Bridge()) || !slices.Contains(links, tap) {
		t.Fatalf("the live lab's links are %v, want its bridge and %s among them", links, tap)
	}

	owner.Process.Kill()
	owner.Wait()
	other, err = allocSlot(filepath.Join(t.TempDir(), "next"), os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer releaseSlot(other)
	if links := slotLinks(int(s)); len(links) > 0 {
		t.Errorf("the dead owner's links %v survive the next claim", links)
	}
	if ns, err := slotNetns(ctx, int(s)); err != nil || len(ns) > 0 {
		t.Errorf("the dead owner's namespaces %v survive the next claim (%v)", ns, err)
	}
	if has, err := unreachableRoute(ctx, s.Gateway().String()+"/22"); err != nil || has {
		t.Errorf("the dead owner's unreachable route survives the next claim (%v)", err)
	}
}

// Remove leaves alone a slot that another lab has claimed since.
func TestRemoveLeavesAnotherLabsSlot(t *testing.T) {
	RequireLab(t)
	dir := filepath.Join(t.TempDir(), "now")
	s, err := ClaimSlot(dir, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Remove(dir)
	if err := s.Remove(filepath.Join(t.TempDir(), "stale")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(slotFile(int(s))); err != nil {
		t.Errorf("a stale lab's Remove freed slot %d of the lab in %s: %v", s, dir, err)
	}
}
