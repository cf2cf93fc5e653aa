package runner

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError is a connection refused because of the host's key:
// unknown without --accept-new-host-keys, changed, or revoked.
type HostKeyError struct {
	Addr    string
	Changed bool // the host offered a key other than the one on record
	msg     string
}

func (e *HostKeyError) Error() string { return e.msg }

// HostKeys checks every host key against known_hosts files, hashed and
// [host]:port entries included. It is the only host key check remedy has:
// there is no way to turn it off.
type HostKeys struct {
	files     []string // read, in order; missing ones are skipped
	recordTo  string   // where trust on first use appends new keys
	acceptNew bool

	mu sync.Mutex
	db ssh.HostKeyCallback
}

// NewHostKeys reads files (a missing file holds no keys). With acceptNew,
// an unknown key is appended to record and trusted; a changed key is
// refused either way.
func NewHostKeys(files []string, record string, acceptNew bool) (*HostKeys, error) {
	k := &HostKeys{files: files, recordTo: record, acceptNew: acceptNew}
	if err := k.load(); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *HostKeys) load() error {
	var present []string
	for _, f := range k.files {
		if _, err := os.Stat(f); err == nil {
			present = append(present, f)
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("known hosts %s: %w", f, err)
		}
	}
	db, err := knownhosts.New(present...)
	if err != nil {
		return fmt.Errorf("known hosts: %w", err)
	}
	k.db = db
	return nil
}

// callback checks the key that host (an inventory name, for messages)
// offers at addr ("host:port", as dialled).
func (k *HostKeys) callback(host string) ssh.HostKeyCallback {
	return func(addr string, remote net.Addr, key ssh.PublicKey) error {
		k.mu.Lock()
		defer k.mu.Unlock()
		err := k.db(addr, remote, key)
		var keyErr *knownhosts.KeyError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &keyErr) && len(keyErr.Want) > 0:
			return changedKeyError(host, addr, key, keyErr.Want)
		case errors.As(err, &keyErr) && k.acceptNew:
			return k.record(addr, key)
		case errors.As(err, &keyErr):
			return &HostKeyError{Addr: addr, msg: fmt.Sprintf("unknown host key: %s (%s) offered %s key %s, which no known_hosts file lists; "+
				"check it and add it to %s, or run again with --accept-new-host-keys to trust it on first use",
				host, addr, key.Type(), ssh.FingerprintSHA256(key), k.recordTo)}
		default:
			return &HostKeyError{Addr: addr, msg: fmt.Sprintf("host key of %s (%s): %v", host, addr, err)}
		}
	}
}

func changedKeyError(host, addr string, key ssh.PublicKey, want []knownhosts.KnownKey) error {
	return &HostKeyError{Addr: addr, Changed: true, msg: fmt.Sprintf(
		"HOST KEY CHANGED for %s (%s): it offered %s key %s, but %s:%d holds %s; "+
			"refusing to connect, this could be a man-in-the-middle attack. If the host was reinstalled, remove that line",
		host, addr, key.Type(), ssh.FingerprintSHA256(key),
		want[0].Filename, want[0].Line, ssh.FingerprintSHA256(want[0].Key))}
}

// pinned accepts only pin, the key host showed on a connection already
// verified, and records it for addr (the same host on a new port) so later
// runs find it; a different key on record for addr is still refused.
func (k *HostKeys) pinned(host string, pin ssh.PublicKey) ssh.HostKeyCallback {
	return func(addr string, remote net.Addr, key ssh.PublicKey) error {
		if !bytes.Equal(key.Marshal(), pin.Marshal()) {
			return &HostKeyError{Addr: addr, Changed: true, msg: fmt.Sprintf(
				"%s (%s) offered %s key %s, not the key %s it showed on the connection already open; refusing to connect",
				host, addr, key.Type(), ssh.FingerprintSHA256(key), ssh.FingerprintSHA256(pin))}
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		err := k.db(addr, remote, key)
		var keyErr *knownhosts.KeyError
		switch {
		case errors.As(err, &keyErr) && len(keyErr.Want) > 0:
			return changedKeyError(host, addr, key, keyErr.Want)
		case errors.As(err, &keyErr):
			return k.record(addr, key)
		}
		return err
	}
}

// record appends a key for addr to the record file and reloads, so a
// second connection to the host, like a Probe, finds it. The caller holds
// k.mu.
func (k *HostKeys) record(addr string, key ssh.PublicKey) error {
	if err := os.MkdirAll(filepath.Dir(k.recordTo), 0o700); err != nil {
		return fmt.Errorf("record host key of %s: %w", addr, err)
	}
	f, err := os.OpenFile(k.recordTo, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("record host key of %s: %w", addr, err)
	}
	_, err = fmt.Fprintln(f, knownhosts.Line([]string{knownhosts.Normalize(addr)}, key))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("record host key of %s in %s: %w", addr, k.recordTo, err)
	}
	if !k.hasFile(k.recordTo) {
		k.files = append(k.files, k.recordTo)
	}
	return k.load()
}

func (k *HostKeys) hasFile(name string) bool {
	for _, f := range k.files {
		if f == name {
			return true
		}
	}
	return false
}

// probeKey is a throwaway key no host has: checking it lists every key
// known for an address.
var probeKey = func() ssh.PublicKey {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		panic(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return k
}()

// algorithms lists the host key algorithms to ask addr for: those of the
// keys already known for it, so a host that also has a key of another
// type is not mistaken for one whose key changed. Nil lets the server
// choose, for a host not known yet.
func (k *HostKeys) algorithms(addr string) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var keyErr *knownhosts.KeyError
	remote := &net.TCPAddr{IP: net.IPv4zero}
	if !errors.As(k.db(addr, remote, probeKey), &keyErr) {
		return nil
	}
	var algs []string
	seen := map[string]bool{}
	for _, w := range keyErr.Want {
		for _, a := range algorithmsFor(w.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algs = append(algs, a)
			}
		}
	}
	return algs
}

// algorithmsFor maps a key type to the signature algorithms that use it:
// an RSA key signs with SHA-2 too.
func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}
