package runner

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func newEd25519(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeKnownHosts(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func check(k *HostKeys, addr string, key ssh.PublicKey) error {
	return k.callback("h1")(addr, &net.TCPAddr{IP: net.ParseIP("198.18.0.5"), Port: 22}, key)
}

func TestHostKeysUnknownRefused(t *testing.T) {
	k, err := NewHostKeys([]string{filepath.Join(t.TempDir(), "missing")}, "/x/known_hosts", false)
	if err != nil {
		t.Fatal(err)
	}
	key := newEd25519(t)
	err = check(k, "198.18.0.5:22", key)
	var hkErr *HostKeyError
	if !errors.As(err, &hkErr) || hkErr.Changed {
		t.Fatalf("unknown key: err = %v, want an unknown-key HostKeyError", err)
	}
	for _, want := range []string{"--accept-new-host-keys", ssh.FingerprintSHA256(key), "/x/known_hosts", "h1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
}

func TestHostKeysTrustOnFirstUse(t *testing.T) {
	record := filepath.Join(t.TempDir(), "ssh", "known_hosts")
	k, err := NewHostKeys([]string{record}, record, true)
	if err != nil {
		t.Fatal(err)
	}
	key := newEd25519(t)
	for _, addr := range []string{"198.18.0.5:22", "198.18.0.5:33001"} {
		if err := check(k, addr, key); err != nil {
			t.Fatalf("TOFU of %s: %v", addr, err)
		}
	}
	data, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "198.18.0.5 ssh-ed25519 ") || !strings.Contains(string(data), "[198.18.0.5]:33001 ssh-ed25519 ") {
		t.Errorf("recorded known_hosts:\n%s", data)
	}
	// A later run without --accept-new-host-keys trusts what was recorded,
	// and still refuses a different key for the same host.
	again, err := NewHostKeys([]string{record}, record, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := check(again, "198.18.0.5:22", key); err != nil {
		t.Errorf("recorded key refused: %v", err)
	}
	if err := check(again, "198.18.0.5:22", newEd25519(t)); err == nil {
		t.Error("a different key was accepted")
	}
}

func TestHostKeysChangedAlwaysRefused(t *testing.T) {
	old := newEd25519(t)
	file := writeKnownHosts(t, knownhosts.Line([]string{"198.18.0.5"}, old))
	k, err := NewHostKeys([]string{file}, file, true)
	if err != nil {
		t.Fatal(err)
	}
	offered := newEd25519(t)
	err = check(k, "198.18.0.5:22", offered)
	var hkErr *HostKeyError
	if !errors.As(err, &hkErr) || !hkErr.Changed {
		t.Fatalf("changed key with --accept-new-host-keys: err = %v, want a changed-key HostKeyError", err)
	}
	for _, want := range []string{"CHANGED", "h1", ssh.FingerprintSHA256(offered), ssh.FingerprintSHA256(old), file + ":1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
	data, _ := os.ReadFile(file)
	if strings.Count(string(data), "\n") != 1 {
		t.Errorf("a changed key was recorded:\n%s", data)
	}
}

func TestHostKeysEntryForms(t *testing.T) {
	key := newEd25519(t)
	blob := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	tests := []struct {
		name, line, addr string
		ok               bool
	}{
		{"plain", "198.18.0.5 " + blob, "198.18.0.5:22", true},
		{"hashed", knownhosts.HashHostname("198.18.0.5") + " " + blob, "198.18.0.5:22", true},
		{"port entry", "[198.18.0.5]:2222 " + blob, "198.18.0.5:2222", true},
		{"port entry, other port", "[198.18.0.5]:2222 " + blob, "198.18.0.5:22", false},
		{"pattern", "198.18.0.* " + blob, "198.18.0.5:22", true},
		{"other host", "198.18.0.6 " + blob, "198.18.0.5:22", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeKnownHosts(t, tt.line)
			k, err := NewHostKeys([]string{file}, file, false)
			if err != nil {
				t.Fatal(err)
			}
			if err := check(k, tt.addr, key); (err == nil) != tt.ok {
				t.Errorf("check %s against %q: err = %v, want ok=%v", tt.addr, tt.line, err, tt.ok)
			}
		})
	}
}

func TestHostKeyAlgorithmsFollowKnownKeys(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub, err := ssh.NewPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	file := writeKnownHosts(t, knownhosts.Line([]string{"198.18.0.5"}, rsaPub))
	k, err := NewHostKeys([]string{file}, file, false)
	if err != nil {
		t.Fatal(err)
	}
	got := k.algorithms("198.18.0.5:22")
	if !slices.Equal(got, []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}) {
		t.Errorf("algorithms for a host known by its RSA key = %v", got)
	}
	if got := k.algorithms("198.18.0.6:22"); got != nil {
		t.Errorf("algorithms for an unknown host = %v, want nil (server's choice)", got)
	}
}

func TestHostKeysPinnedToTheOpenConnection(t *testing.T) {
	key := newEd25519(t)
	record := writeKnownHosts(t, knownhosts.Line([]string{"198.18.0.5"}, key))
	k, err := NewHostKeys([]string{record}, record, false)
	if err != nil {
		t.Fatal(err)
	}
	remote := &net.TCPAddr{IP: net.ParseIP("198.18.0.5"), Port: 33001}
	// The same key on sshd's new port: accepted and recorded, without
	// --accept-new-host-keys, so later runs on that port find it.
	if err := k.pinned("h1", key)("198.18.0.5:33001", remote, key); err != nil {
		t.Fatalf("the pinned key on a new port: %v", err)
	}
	if err := check(k, "198.18.0.5:33001", key); err != nil {
		t.Errorf("the new port's key was not recorded: %v", err)
	}
	// Another key on the new port is refused.
	var hkErr *HostKeyError
	if err := k.pinned("h1", key)("198.18.0.5:2222", remote, newEd25519(t)); !errors.As(err, &hkErr) || !hkErr.Changed {
		t.Errorf("another key on a new port: %v", err)
	}
	// So is the pinned key where known_hosts holds a different one.
	other := writeKnownHosts(t, "[198.18.0.5]:2222 "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(newEd25519(t)))))
	k, err = NewHostKeys([]string{other}, other, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.pinned("h1", key)("198.18.0.5:2222", remote, key); !errors.As(err, &hkErr) || !hkErr.Changed {
		t.Errorf("the pinned key against a different known key: %v", err)
	}
}
