package vmkit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// ConsoleOffset is how much the VM's serial console holds now: pass it to
// AwaitConsole to wait for what a VM prints from then on.
func (l *Lab) ConsoleOffset(name string) (int64, error) {
	v, err := l.st.vm(name)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(consolePath(l.Dir, v.Name))
	if err != nil {
		return 0, fmt.Errorf("%s: console: %w", name, err)
	}
	return fi.Size(), nil
}

// AwaitConsole waits until the VM's serial console shows text past
// offset from. A process in the VM prints there by writing to
// /dev/ttyS0, which reaches the controller with no network and no SSH: a
// VM can say "now" to a test that is about to pull its plug.
func (l *Lab) AwaitConsole(ctx context.Context, name string, from int64, text string) error {
	v, err := l.st.vm(name)
	if err != nil {
		return err
	}
	path := consolePath(l.Dir, v.Name)
	for {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("%s: console: %w", name, err)
		}
		_, err = f.Seek(from, io.SeekStart)
		var b []byte
		if err == nil {
			b, err = io.ReadAll(f)
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: console: %w", name, err)
		}
		if bytes.Contains(b, []byte(text)) {
			return nil
		}
		if !isQemuOf(v.Pid, l.Dir) {
			return fmt.Errorf("%s: qemu is gone before the console showed %q", name, text)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: the console does not show %q: %w", name, text, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
