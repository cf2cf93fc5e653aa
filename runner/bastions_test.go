package runner

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestBastionsShareOneDial(t *testing.T) {
	var b bastions
	var dials atomic.Int32
	dial := func() (*ssh.Client, error) {
		dials.Add(1)
		return nil, nil
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := b.acquire(context.Background(), "root@gw:22", dial); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := dials.Load(); n != 1 {
		t.Fatalf("20 hosts behind one bastion dialled it %d times, want once", n)
	}
	if _, err := b.acquire(context.Background(), "root@gw:22,root@inner:22", dial); err != nil || dials.Load() != 2 {
		t.Fatalf("a longer chain is its own connection: %v, %d dials", err, dials.Load())
	}
	for range 20 {
		b.release("root@gw:22")
	}
	if _, open := b.open["root@gw:22"]; open {
		t.Error("the bastion stays open after its last host let go")
	}
	if _, err := b.acquire(context.Background(), "root@gw:22", dial); err != nil || dials.Load() != 3 {
		t.Errorf("after the last release a host dials afresh: %v, %d dials", err, dials.Load())
	}
}

func TestBastionsForgetFailures(t *testing.T) {
	var b bastions
	refused := errors.New("connection refused")
	if _, err := b.acquire(context.Background(), "gw", func() (*ssh.Client, error) { return nil, refused }); !errors.Is(err, refused) {
		t.Fatalf("a failed dial: %v", err)
	}
	if len(b.open) != 0 {
		t.Fatalf("a failed bastion is kept: %v", b.open)
	}
	if _, err := b.acquire(context.Background(), "gw", func() (*ssh.Client, error) { return nil, nil }); err != nil {
		t.Errorf("a later host could not dial again: %v", err)
	}
}
