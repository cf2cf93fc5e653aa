package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// The first Ctrl-C cancels the run and nothing else; the second exits.
func TestOnInterruptTwice(t *testing.T) {
	sigs := make(chan os.Signal)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := make(chan struct{})
	go onInterrupt(sigs, cancel, func() { close(exited) })

	sigs <- os.Interrupt
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first Ctrl-C did not cancel the run")
	}
	select {
	case <-exited:
		t.Fatal("the first Ctrl-C exited at once")
	case <-time.After(50 * time.Millisecond):
	}
	sigs <- os.Interrupt
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the second Ctrl-C did not exit")
	}
}
