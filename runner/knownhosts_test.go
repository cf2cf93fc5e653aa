package runner

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
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
	return k.check("h1", Endpoint{}, nil).verify(addr, &net.TCPAddr{IP: net.ParseIP("198.18.0.5"), Port: 22}, key)
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
	got := k.check("h1", Endpoint{}, nil).algorithms("198.18.0.5:22")
	if !slices.Equal(got, []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}) {
		t.Errorf("algorithms for a host known by its RSA key = %v", got)
	}
	if got := k.check("h1", Endpoint{}, nil).algorithms("198.18.0.6:22"); got != nil {
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
	if err := k.check("h1", Endpoint{}, key).verify("198.18.0.5:33001", remote, key); err != nil {
		t.Fatalf("the pinned key on a new port: %v", err)
	}
	if err := check(k, "198.18.0.5:33001", key); err != nil {
		t.Errorf("the new port's key was not recorded: %v", err)
	}
	// Another key on the new port is refused.
	var hkErr *HostKeyError
	if err := k.check("h1", Endpoint{}, key).verify("198.18.0.5:2222", remote, newEd25519(t)); !errors.As(err, &hkErr) || !hkErr.Changed {
		t.Errorf("another key on a new port: %v", err)
	}
	// So is the pinned key where known_hosts holds a different one.
	other := writeKnownHosts(t, "[198.18.0.5]:2222 "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(newEd25519(t)))))
	k, err = NewHostKeys([]string{other}, other, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.check("h1", Endpoint{}, key).verify("198.18.0.5:2222", remote, key); !errors.As(err, &hkErr) || !hkErr.Changed {
		t.Errorf("the pinned key against a different known key: %v", err)
	}
}

func verifyAt(k *HostKeys, t Target, e Endpoint, key ssh.PublicKey) error {
	return k.check(t.Name, e, nil).verify(e.hostPort(), &net.TCPAddr{IP: net.ParseIP(e.Addr), Port: e.Port}, key)
}

// A UserKnownHostsFile vouches for the host whose variables name it, and
// its bastions, as OpenSSH scopes it to one ssh command; never for another
// host of the inventory.
func TestHostKeysScopedToTheHostThatNamesThem(t *testing.T) {
	keyA, keyB, keyJ := newEd25519(t), newEd25519(t), newEd25519(t)
	fileB := writeKnownHosts(t, knownhosts.Line([]string{"198.18.0.5"}, keyA), knownhosts.Line([]string{"198.18.0.6"}, keyB),
		knownhosts.Line([]string{"198.18.0.9"}, keyJ))
	hosts := resolveInventory(t, decodeSSHConfig(t, ""), fmt.Sprintf(`a ansible_host=198.18.0.5
b ansible_host=198.18.0.6 ansible_ssh_common_args='-o UserKnownHostsFile=%[1]s -J 198.18.0.9'
c ansible_host=198.18.0.7 ansible_ssh_common_args='-J 198.18.0.9'
d ansible_host=198.18.0.8 ansible_ssh_common_args='-o ProxyCommand="ssh -o UserKnownHostsFile=%[1]s -W %%h:%%p 198.18.0.9"'
`, fileB))
	k, err := NewHostKeys([]string{filepath.Join(t.TempDir(), "operator")}, filepath.Join(t.TempDir(), "record"), false)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c, d := hosts["a"], hosts["b"], hosts["c"], hosts["d"]
	var hkErr *HostKeyError
	if err := verifyAt(k, a, a.Endpoint, keyA); !errors.As(err, &hkErr) || hkErr.Changed {
		t.Errorf("a's key, listed only in b's file: err = %v, want it unknown", err)
	}
	if err := verifyAt(k, b, b.Endpoint, keyB); err != nil {
		t.Errorf("b's key in b's own file: %v", err)
	}
	if err := verifyAt(k, b, b.Jumps[0], keyJ); err != nil {
		t.Errorf("b's bastion, in b's file: %v", err)
	}
	if err := verifyAt(k, c, c.Jumps[0], keyJ); !errors.As(err, &hkErr) {
		t.Errorf("the same bastion for c, which names no file: err = %v, want it unknown", err)
	}
	// A ProxyCommand's own UserKnownHostsFile is for its bastion alone.
	if err := verifyAt(k, d, d.Jumps[0], keyJ); err != nil {
		t.Errorf("d's bastion, in its ProxyCommand's file: %v", err)
	}
	if len(d.KnownHosts) != 0 {
		t.Errorf("d's ProxyCommand file vouches for d itself: %v", d.KnownHosts)
	}
	// Bastion connections are shared only among hosts with the same files.
	if chainKey(b.Jumps) == chainKey(c.Jumps) {
		t.Errorf("b and c share a bastion connection: %s", chainKey(b.Jumps))
	}
}

// --accept-new-host-keys records into the operator's file, never into one
// the inventory names.
func TestHostKeysRecordInTheOperatorsFileOnly(t *testing.T) {
	invFile := writeKnownHosts(t, "# the inventory's")
	record := filepath.Join(t.TempDir(), ".ssh", "known_hosts")
	k, err := NewHostKeys([]string{record}, record, true)
	if err != nil {
		t.Fatal(err)
	}
	target := Target{Name: "h1", Endpoint: Endpoint{Addr: "198.18.0.5", Port: 22, KnownHosts: []string{invFile}}}
	if err := verifyAt(k, target, target.Endpoint, newEd25519(t)); err != nil {
		t.Fatalf("trust on first use: %v", err)
	}
	if data, _ := os.ReadFile(invFile); string(data) != "# the inventory's\n" {
		t.Errorf("the inventory's file was written:\n%s", data)
	}
	if data, _ := os.ReadFile(record); !strings.HasPrefix(string(data), "198.18.0.5 ssh-ed25519 ") {
		t.Errorf("the operator's file holds:\n%s", data)
	}
}

// The line recorded for an address is the one OpenSSH writes, [addr]:port
// for a port other than 22, and reads back as that address only; an
// address that could make the line vouch for others is never written.
func TestHostKeysRecordLine(t *testing.T) {
	tests := []struct{ addr, line string }{
		{"198.18.0.5:22", "198.18.0.5 "},
		{"198.18.0.5:2222", "[198.18.0.5]:2222 "},
		{"[2001:db8::1]:22", "2001:db8::1 "},
		{"[2001:db8::1]:2222", "[2001:db8::1]:2222 "},
		{"[fe80::1%eth0]:2222", "[fe80::1%eth0]:2222 "},
		{"web-1.example.com:33001", "[web-1.example.com]:33001 "},
	}
	for _, tt := range tests {
		record := filepath.Join(t.TempDir(), "known_hosts")
		k, err := NewHostKeys([]string{record}, record, true)
		if err != nil {
			t.Fatal(err)
		}
		key := newEd25519(t)
		if err := check(k, tt.addr, key); err != nil {
			t.Fatalf("%s: %v", tt.addr, err)
		}
		data, _ := os.ReadFile(record)
		if !strings.HasPrefix(string(data), tt.line) || strings.Count(string(data), "\n") != 1 {
			t.Errorf("%s recorded as %q, want a line starting %q", tt.addr, data, tt.line)
		}
		again, err := NewHostKeys([]string{record}, record, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := check(again, tt.addr, key); err != nil {
			t.Errorf("%s: the recorded line does not read back: %v", tt.addr, err)
		}
	}
	for _, addr := range []string{"198.18.0.5,*:22", "*:22", "[a\nb]:22", "[198.18.0.5 *]:22"} {
		record := filepath.Join(t.TempDir(), "known_hosts")
		k, err := NewHostKeys([]string{record}, record, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := check(k, addr, newEd25519(t)); err == nil {
			t.Errorf("%q: recorded", addr)
		}
		if _, err := os.Stat(record); !os.IsNotExist(err) {
			t.Errorf("%q: %s written (stat: %v)", addr, record, err)
		}
	}
}

// A password may follow only a key an operator's file held before the
// run; a pinned key carries the verdict of the key it pins.
func TestPasswordsOnlyAfterAVouchedKey(t *testing.T) {
	vouched, scoped := newEd25519(t), newEd25519(t)
	operator := writeKnownHosts(t, knownhosts.Line([]string{"198.18.0.5"}, vouched))
	invFile := writeKnownHosts(t, knownhosts.Line([]string{"198.18.0.6"}, scoped))
	k, err := NewHostKeys([]string{operator}, operator, true)
	if err != nil {
		t.Fatal(err)
	}
	tofu := newEd25519(t)
	remote := &net.TCPAddr{IP: net.ParseIP("198.18.0.5"), Port: 22}
	tests := []struct {
		name, addr string
		scope      []string
		key, pin   ssh.PublicKey
		refusal    string // "": a password may go
	}{
		{"operator's file", "198.18.0.5:22", nil, vouched, nil, ""},
		{"first use", "198.18.0.7:22", nil, tofu, nil, "accepted on first use"},
		{"first use, again in the same run", "198.18.0.7:22", nil, tofu, nil, "accepted on first use"},
		{"the inventory's file only", "198.18.0.6:22", []string{invFile}, scoped, nil, "which the inventory names"},
		{"pinned to a vouched key", "198.18.0.5:33001", nil, vouched, vouched, ""},
		{"pinned to a key accepted on first use", "198.18.0.7:33001", nil, tofu, tofu, "accepted on first use"},
	}
	for _, tt := range tests {
		c := k.check("h1", Endpoint{KnownHosts: tt.scope}, tt.pin)
		if err := c.password(); err == nil {
			t.Errorf("%s: a password may go before the key is checked", tt.name)
		}
		if err := c.verify(tt.addr, remote, tt.key); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		err := c.password()
		if tt.refusal == "" && err != nil || tt.refusal != "" && (err == nil || !strings.Contains(err.Error(), tt.refusal)) {
			t.Errorf("%s: password() = %v, want a refusal saying %q", tt.name, err, tt.refusal)
		}
	}
}

// After sshd moves, the new port's key goes into the operator's file only
// if the old port's key was vouched for there, or with
// --accept-new-host-keys: else a key only the inventory's file vouched for
// would be the operator's on the next run, and get passwords.
func TestPinnedKeyRecordedOnlyWhenTheOperatorVouched(t *testing.T) {
	for _, acceptNew := range []bool{false, true} {
		key := newEd25519(t)
		invFile := writeKnownHosts(t, knownhosts.Line([]string{"198.18.0.6"}, key))
		record := filepath.Join(t.TempDir(), "known_hosts")
		k, err := NewHostKeys([]string{record}, record, acceptNew)
		if err != nil {
			t.Fatal(err)
		}
		e := Endpoint{KnownHosts: []string{invFile}}
		remote := &net.TCPAddr{IP: net.ParseIP("198.18.0.6"), Port: 22}
		if err := k.check("h1", e, nil).verify("198.18.0.6:22", remote, key); err != nil {
			t.Fatal(err)
		}
		if err := k.check("h1", e, key).verify("198.18.0.6:33001", remote, key); err != nil {
			t.Errorf("acceptNew=%v: the pinned key on the new port: %v", acceptNew, err)
		}
		data, _ := os.ReadFile(record)
		if recorded := strings.Contains(string(data), "[198.18.0.6]:33001 "); recorded != acceptNew {
			t.Errorf("acceptNew=%v: the operator's file holds:\n%s", acceptNew, data)
		}
		if data, _ := os.ReadFile(invFile); strings.Count(string(data), "\n") != 1 {
			t.Errorf("the inventory's file was written:\n%s", data)
		}
	}
}

// A known_hosts file the inventory names is read before any host is
// contacted; one that could block or never end is refused.
func TestKnownHostsFileKinds(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	null := filepath.Join(dir, "null")
	if err := os.Symlink(os.DevNull, null); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		file string
		ok   bool
	}{{os.DevNull, true}, {null, true}, {filepath.Join(dir, "missing"), true}, {fifo, false}, {dir, false}, {"/dev/zero", false}} {
		k, err := NewHostKeys(nil, filepath.Join(dir, "record"), false)
		if err != nil {
			t.Fatal(err)
		}
		h := Host{Target: Target{Name: "h1", Endpoint: Endpoint{KnownHosts: []string{tt.file}}}}
		if err := k.Load([]Host{h}); (err == nil) != tt.ok {
			t.Errorf("%s: Load: %v, want ok=%v", tt.file, err, tt.ok)
		}
	}
}
