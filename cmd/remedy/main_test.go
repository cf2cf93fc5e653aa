package main

import (
	"bytes"
	"context"
	"errors"
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

// An error may quote what a host or an inventory said: its controls are
// shown, not sent to the terminal.
func TestPrintErrorShowsControls(t *testing.T) {
	var buf bytes.Buffer
	printError(&buf, errors.New("h1: read /etc/x: \x1b[2J\x07\r\x9b\u009b\u202e"))
	if got, want := buf.String(), `remedy: h1: read /etc/x: \x1b[2J\x07\x0d\x9b\u009b\u202e`+"\n"; got != want {
		t.Errorf("printError wrote %q, want %q", got, want)
	}
}
