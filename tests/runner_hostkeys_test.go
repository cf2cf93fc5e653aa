package tests

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func (r *remedyRunner) unknownKey(t *testing.T) {
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	args := []string{"run", pb, "-i", inventoryWithoutKnownHosts(t, r.lab.Inventory), "-l", "!hidden", "--known-hosts", kh}

	res := r.run(t, args...)
	if res.code != 4 || strings.Count(res.stdout, "--accept-new-host-keys") != len(r.visible()) {
		t.Fatalf("unknown keys: want exit 4 and every host saying how to accept its key: %s", res)
	}
	if _, err := os.Stat(kh); !os.IsNotExist(err) {
		t.Errorf("a refused key was recorded in %s (stat: %v)", kh, err)
	}

	if res = r.run(t, append(args, "--accept-new-host-keys")...); res.code != 0 {
		t.Fatalf("--accept-new-host-keys: want exit 0: %s", res)
	}
	data, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range r.visible() {
		if !strings.Contains(string(data), h.Addr+" ") {
			t.Errorf("%s (%s) not recorded in %s:\n%s", h.Name, h.Addr, kh, data)
		}
	}
	if res = r.run(t, args...); res.code != 0 {
		t.Fatalf("keys recorded on first use, then a plain run: want exit 0: %s", res)
	}
}

func (r *remedyRunner) changedKey(t *testing.T) {
	victim := r.visible()[1]
	real, err := os.ReadFile(r.lab.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	impostor := newPublicKey(t)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(real)), "\n") {
		if strings.HasPrefix(l, victim.Addr+" ") {
			l = victim.Addr + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(impostor)))
		}
		lines = append(lines, l)
	}
	kh := runnerFile(t, "known_hosts", strings.Join(lines, "\n")+"\n")
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)

	// Even with --accept-new-host-keys, a changed key is refused.
	res := r.run(t, "run", pb, "-i", inventoryWithoutKnownHosts(t, r.lab.Inventory), "-l", "!hidden", "--known-hosts", kh, "--accept-new-host-keys", "-o", "json")
	if res.code != 4 {
		t.Fatalf("want exit 4: %s", res)
	}
	doc := parseRunJSON(t, res)
	for _, lh := range r.visible() {
		h := doc.host(t, lh.Name)
		if lh.Name != victim.Name {
			if h.Unreachable || h.Stats.Failed != 0 {
				t.Errorf("%s failed beside the changed host: %+v", h.Name, h)
			}
			continue
		}
		if !h.Unreachable || !strings.Contains(h.Error, "HOST KEY CHANGED") || !strings.Contains(h.Error, victim.Name) ||
			!strings.Contains(h.Error, ssh.FingerprintSHA256(impostor)) {
			t.Errorf("%s: want a changed-key refusal naming the host and the fingerprint on record, got %q", h.Name, h.Error)
		}
	}
	after, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != strings.Join(lines, "\n")+"\n" {
		t.Errorf("known_hosts changed after a refused key:\n%s", after)
	}
}

func newPublicKey(t *testing.T) ssh.PublicKey {
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

// inventoryWithoutKnownHosts copies the lab's inventory without its
// -o UserKnownHostsFile=, which remedy honours: these tests choose the only
// known_hosts file remedy may trust with --known-hosts.
func inventoryWithoutKnownHosts(t *testing.T, inv string) string {
	t.Helper()
	data, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	stripped := regexp.MustCompile(`-o UserKnownHostsFile=\S+`).ReplaceAll(data, nil)
	if string(stripped) == string(data) {
		t.Fatalf("%s names no UserKnownHostsFile: the test would prove nothing new", inv)
	}
	return runnerFile(t, "inventory.ini", string(stripped))
}
