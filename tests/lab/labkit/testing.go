package labkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Preflight says why a lab cannot be built here, or returns nil.
func Preflight() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("the lab needs root to create namespaces (running as uid %d)", os.Geteuid())
	}
	for _, ns := range []string{"net", "mnt", "uts"} {
		if _, err := os.Stat("/proc/self/ns/" + ns); err != nil {
			return fmt.Errorf("the lab needs %s namespaces: %w", ns, err)
		}
	}
	for _, tool := range []string{"ip", "unshare", "nsenter", "setsid", "mount", "socat", "openssl", "/usr/sbin/sshd", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("the lab needs %s (make deps installs it): %w", tool, err)
		}
	}
	if out, err := exec.Command("unshare", "--net", "--mount", "true").CombinedOutput(); err != nil {
		return fmt.Errorf("cannot create namespaces here: %w: %s", err, out)
	}
	return nil
}

// RequireTools skips the test when a tool it needs is not installed, and
// fails it under CI=true, where make test installs every tool.
func RequireTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed (make deps installs it): %v", tool, err)
			}
			t.Skipf("%s is needed (make deps installs it): %v", tool, err)
		}
	}
}

// RequireLab skips the test when a lab cannot be built here, or in -short
// mode (unit tests only); under CI=true a missing root or namespace support
// fails the test instead, because CI must run the lab tests.
func RequireLab(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("lab test skipped in -short mode")
	}
	if err := Preflight(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("lab test cannot run under CI: %v", err)
		}
		t.Skipf("lab test skipped: %v", err)
	}
}

// New brings a lab up for a test in a fresh directory and takes it down when
// the test ends; see RequireLab for when it skips or fails instead.
func New(t testing.TB, o Options) *Lab {
	t.Helper()
	RequireLab(t)
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	o.Ephemeral = true
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l, err := Up(ctx, o)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Cleanup(func() {
		if err := Down(l.Dir); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	return l
}
