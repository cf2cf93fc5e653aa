package vmkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Preflight says why a VM lab cannot be booted here, or returns nil.
func Preflight() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("the VM lab needs root for its bridge, taps and image builds (running as uid %d)", os.Geteuid())
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return fmt.Errorf("the VM lab needs /dev/net/tun for its taps: %w", err)
	}
	for _, tool := range []string{"qemu-system-x86_64", "qemu-img", "mmdebstrap", "mke2fs", "ip", "socat",
		"unshare", "nsenter", "setsid", "flock", "chroot", "ssh-keygen", "dpkg-architecture"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("the VM lab needs %s (make deps installs it): %w", tool, err)
		}
	}
	return nil
}

// RequireVM skips the test when a VM lab cannot be booted here, or in
// -short mode; under CI=true it fails the test instead, because CI must
// run the VM tier.
func RequireVM(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("VM test skipped in -short mode")
	}
	if err := Preflight(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("VM test cannot run under CI: %v", err)
		}
		t.Skipf("VM test skipped: %v", err)
	}
}

// upTimeout bounds New: building its images from a cold cache (minutes on
// a busy machine), then booting.
const upTimeout = 15 * time.Minute

// New boots a lab for a test and takes it down when the test ends, or when
// the test process is interrupted; see RequireVM for when it skips or
// fails instead. Progress (image builds, boot times) goes to the test log.
func New(t testing.TB, o Options) *Lab {
	t.Helper()
	RequireVM(t)
	if err := os.MkdirAll(runRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(runRoot, runDirPrefix(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	o.Dir, o.Ephemeral = dir, true
	if o.Log == nil {
		o.Log = testLog{t}
	}
	interrupts.track(dir)
	ctx, cancel := context.WithTimeout(context.Background(), upTimeout)
	defer cancel()
	l, err := Up(ctx, o)
	if err != nil {
		interrupts.done(dir)
		os.RemoveAll(dir)
		t.Fatalf("VM lab up: %v", err)
	}
	l.st.Options.Log = nil // the test's log closes with it
	t.Cleanup(func() {
		defer interrupts.done(dir)
		if err := Down(dir); err != nil {
			t.Errorf("VM lab down: %v", err)
		}
		os.RemoveAll(dir)
	})
	return l
}

type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

// interrupts takes the labs of this process down when it is interrupted
// (Ctrl-C) or terminated, then lets the signal end it.
var interrupts = &labsUp{dirs: map[string]bool{}}

type labsUp struct {
	mu   sync.Mutex
	once sync.Once
	dirs map[string]bool
}

func (u *labsUp) track(dir string) {
	u.once.Do(func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
		go u.takeDown(c)
	})
	u.mu.Lock()
	defer u.mu.Unlock()
	u.dirs[dir] = true
}

func (u *labsUp) done(dir string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.dirs, dir)
}

func (u *labsUp) takeDown(c chan os.Signal) {
	sig := <-c
	u.mu.Lock()
	for dir := range u.dirs {
		if err := Down(dir); err != nil {
			fmt.Fprintln(os.Stderr, "VM lab down:", err)
		}
		os.RemoveAll(dir)
	}
	signal.Reset(sig)
	syscall.Kill(os.Getpid(), sig.(syscall.Signal))
}
