package runner

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"remedy/inventory"
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
//
// The operator's files (~/.ssh/known_hosts, --known-hosts) vouch for every
// host. A file the inventory names with UserKnownHostsFile vouches for the
// host whose variables name it and that host's bastions, no other: OpenSSH
// too reads it only for the one ssh command that carries the option. One
// that ~/.ssh/config names for a Host block is read the same way, for the
// hosts that block matches. @cert-authority lines are honoured: a host
// certificate signed by a listed authority for the host's address (as
// dialled, the known_hosts pattern matching it) vouches for it, and
// @revoked lines refuse a key or certificate. New
// keys are recorded in the operator's file only. Passwords go only to a
// host whose key an operator's file held before this run.
type HostKeys struct {
	operator  []string // read for every host; missing ones are skipped
	recordTo  string   // where trust on first use appends new keys
	acceptNew bool

	mu  sync.Mutex
	dbs map[string]ssh.HostKeyCallback // by scope: the operator's files and an endpoint's own
	// withheld says, by key, why no password may go to a host that showed
	// it: accepted on first use in this run, or vouched for only by a file
	// the inventory names. A key absent or nil here was vouched for by an
	// operator's file.
	withheld map[string]error
}

// NewHostKeys reads the operator's files (a missing file holds no keys).
// With acceptNew, an unknown key is appended to record and trusted; a
// changed key is refused either way.
func NewHostKeys(operator []string, record string, acceptNew bool) (*HostKeys, error) {
	k := &HostKeys{operator: operator, recordTo: record, acceptNew: acceptNew,
		dbs: map[string]ssh.HostKeyCallback{}, withheld: map[string]error{}}
	if _, err := k.db(nil); err != nil {
		return nil, err
	}
	return k, nil
}

// Load reads every known_hosts file the hosts' inventory names, so a
// broken one is bad input before any host is contacted.
func (k *HostKeys) Load(hosts []Host) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, h := range hosts {
		for _, e := range append([]Endpoint{h.Target.Endpoint}, h.Target.Jumps...) {
			if _, err := k.db(e.KnownHosts); err != nil {
				return fmt.Errorf("%s: %w", h.Target.Name, err)
			}
		}
	}
	return nil
}

// db is the check against the operator's files and scope, read once. The
// caller holds k.mu, or is NewHostKeys.
func (k *HostKeys) db(scope []string) (ssh.HostKeyCallback, error) {
	id := strings.Join(scope, "\x00")
	if db, ok := k.dbs[id]; ok {
		return db, nil
	}
	var present []string
	for _, f := range append(slices.Clone(k.operator), scope...) {
		ok, err := knownHostsFile(f)
		if err != nil {
			return nil, err
		}
		if ok {
			present = append(present, f)
		}
	}
	db, err := knownhosts.New(present...)
	if err != nil {
		return nil, fmt.Errorf("known hosts: %w", err)
	}
	k.dbs[id] = db
	return db, nil
}

// knownHostsFile says whether f is a file to read: a missing one, and
// /dev/null (UserKnownHostsFile=/dev/null is a common idiom, and some
// link ~/.ssh/known_hosts there), hold no keys; a directory, another
// device or a FIFO is an error, as reading it could block or never end.
func knownHostsFile(f string) (bool, error) {
	info, err := os.Stat(f)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("known hosts %s: %w", f, err)
	case info.Mode().IsRegular():
		return true, nil
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(info, null) {
		return false, nil
	}
	return false, fmt.Errorf("known hosts %s: not a regular file (%s)", f, info.Mode().Type())
}

// keyCheck checks the key one endpoint shows in one handshake, and keeps
// whether a password may go there.
type keyCheck struct {
	keys  *HostKeys
	host  string   // the inventory name, for messages
	scope []string // the endpoint's own known_hosts files
	pin   ssh.PublicKey

	key      ssh.PublicKey // the key accepted
	withheld error         // why no password may go to the endpoint
}

// check starts the key check of one handshake with host (an inventory
// name, for messages) at e. With pin, only that key is accepted: the one
// the host showed on a connection already verified.
func (k *HostKeys) check(host string, e Endpoint, pin ssh.PublicKey) *keyCheck {
	return &keyCheck{keys: k, host: host, scope: e.KnownHosts, pin: pin}
}

// verify is the handshake's host key callback; addr is "host:port" as
// dialled.
func (c *keyCheck) verify(addr string, remote net.Addr, key ssh.PublicKey) error {
	k := c.keys
	k.mu.Lock()
	defer k.mu.Unlock()
	var err error
	if c.pin != nil {
		err = k.verifyPinned(c.host, c.scope, c.pin, addr, remote, key)
	} else {
		err = k.verifyKnown(c.host, c.scope, addr, remote, key)
	}
	if err != nil {
		return err
	}
	c.key, c.withheld = key, k.withheld[string(key.Marshal())]
	return nil
}

// password lets a password go to the endpoint, or says why not: it is
// asked only once the server has taken no key, after verify.
func (c *keyCheck) password() error {
	if c.key == nil {
		return errors.New("password not sent: the host key was not checked")
	}
	return c.withheld
}

// verifyKnown checks key against the operator's files and scope, and
// records for key whether a password may follow it. The caller holds k.mu.
func (k *HostKeys) verifyKnown(host string, scope []string, addr string, remote net.Addr, key ssh.PublicKey) error {
	unknown, err := k.lookup(host, scope, addr, remote, key)
	switch {
	case err != nil:
		return err
	case !unknown:
		k.withhold(key, k.vouchedFor(host, scope, addr, remote, key))
		return nil
	case !k.acceptNew:
		return &HostKeyError{Addr: addr, msg: fmt.Sprintf("unknown host key: %s (%s) offered %s key %s, which no known_hosts file lists; "+
			"check it and add it to %s, or run again with --accept-new-host-keys to trust it on first use",
			host, addr, key.Type(), ssh.FingerprintSHA256(key), k.recordTo)}
	}
	if err := k.record(addr, key); err != nil {
		return err
	}
	k.withhold(key, fmt.Errorf("password not sent to %s (%s): its host key %s was accepted on first use in this run "+
		"(--accept-new-host-keys), not verified; check that key, now in %s, and run again to log in with a password",
		host, addr, ssh.FingerprintSHA256(key), k.recordTo))
	return nil
}

// lookup finds key for addr in the operator's files and scope: known (nil,
// false), unknown (nil, true), or refused: another key on record, a
// revoked one, a file that does not read. The caller holds k.mu.
func (k *HostKeys) lookup(host string, scope []string, addr string, remote net.Addr, key ssh.PublicKey) (unknown bool, err error) {
	db, err := k.db(scope)
	if err == nil {
		err = db(addr, remote, key)
	}
	var keyErr *knownhosts.KeyError
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &keyErr) && len(keyErr.Want) > 0:
		return false, changedKeyError(host, addr, key, keyErr.Want)
	case errors.As(err, &keyErr):
		return true, nil
	}
	return false, &HostKeyError{Addr: addr, msg: fmt.Sprintf("host key of %s (%s): %v", host, addr, err)}
}

// vouchedFor is nil when an operator's file lists key for addr, else why
// a password must not follow it. The caller holds k.mu.
func (k *HostKeys) vouchedFor(host string, scope []string, addr string, remote net.Addr, key ssh.PublicKey) error {
	db, err := k.db(nil)
	if err == nil && db(addr, remote, key) == nil {
		return nil
	}
	return fmt.Errorf("password not sent to %s (%s): its host key is listed only in %s, which the inventory names or ssh config names (UserKnownHostsFile); "+
		"remedy sends passwords only to hosts whose key %s lists: add the key there to log in with a password",
		host, addr, strings.Join(scope, ", "), strings.Join(k.operator, " or "))
}

// withhold keeps why no password may follow key. A reason, once given,
// stays: a key one host showed unverified is not cleared because another
// host showed it verified.
func (k *HostKeys) withhold(key ssh.PublicKey, why error) {
	id := string(key.Marshal())
	if k.withheld[id] == nil {
		k.withheld[id] = why
	}
}

// withheldFrom says why no password may go to a host that showed key, as
// verify found; nil when one may.
func (k *HostKeys) withheldFrom(key ssh.PublicKey) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.withheld[string(key.Marshal())]
}

func changedKeyError(host, addr string, key ssh.PublicKey, want []knownhosts.KnownKey) error {
	return &HostKeyError{Addr: addr, Changed: true, msg: fmt.Sprintf(
		"HOST KEY CHANGED for %s (%s): it offered %s key %s, but %s:%d holds %s; "+
			"refusing to connect, this could be a man-in-the-middle attack. If the host was reinstalled, remove that line",
		host, addr, key.Type(), ssh.FingerprintSHA256(key),
		want[0].Filename, want[0].Line, ssh.FingerprintSHA256(want[0].Key))}
}

// verifyPinned accepts only pin, the key host showed on a connection
// already verified, and records it for addr (the same host on a new port)
// so later runs find it; a different key on record for addr is still
// refused. It is recorded in the operator's file only when an operator's
// file vouched for pin, or with --accept-new-host-keys: a key only the
// inventory's file vouched for would otherwise become one the operator's
// file vouches for, and a password would follow it on the next run. The
// caller holds k.mu.
func (k *HostKeys) verifyPinned(host string, scope []string, pin ssh.PublicKey, addr string, remote net.Addr, key ssh.PublicKey) error {
	if !bytes.Equal(key.Marshal(), pin.Marshal()) {
		return &HostKeyError{Addr: addr, Changed: true, msg: fmt.Sprintf(
			"%s (%s) offered %s key %s, not the key %s it showed on the connection already open; refusing to connect",
			host, addr, key.Type(), ssh.FingerprintSHA256(key), ssh.FingerprintSHA256(pin))}
	}
	unknown, err := k.lookup(host, scope, addr, remote, key)
	if err != nil || !unknown || k.withheld[string(pin.Marshal())] != nil && !k.acceptNew {
		return err
	}
	return k.record(addr, key)
}

// record appends a key for addr to the operator's record file, never to
// one the inventory names, and rereads the files, so a second connection
// to the host, like a Probe, finds it. The address is checked again first:
// a comma, '*' or newline in it would make the line vouch for other hosts.
// The caller holds k.mu.
func (k *HostKeys) record(addr string, key ssh.PublicKey) error {
	host, _, err := net.SplitHostPort(addr)
	if err == nil {
		err = inventory.CheckAddress(host)
	}
	if err != nil {
		return fmt.Errorf("record host key of %q: %w", addr, err)
	}
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
	if !slices.Contains(k.operator, k.recordTo) {
		k.operator = append(k.operator, k.recordTo)
	}
	clear(k.dbs)
	return nil
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

// algorithms lists the host key algorithms to ask addr for: with a pin,
// its own; else those of the keys already known for it, so a host that
// also has a key of another type is not mistaken for one whose key
// changed. Nil lets the server choose, for a host not known yet.
func (c *keyCheck) algorithms(addr string) []string {
	if c.pin != nil {
		return algorithmsFor(c.pin.Type())
	}
	k := c.keys
	k.mu.Lock()
	defer k.mu.Unlock()
	db, err := k.db(c.scope)
	if err != nil {
		return nil
	}
	var keyErr *knownhosts.KeyError
	remote := &net.TCPAddr{IP: net.IPv4zero}
	if !errors.As(db(addr, remote, probeKey), &keyErr) {
		return nil
	}
	var algs []string
	seen := map[string]bool{}
	for _, w := range keyErr.Want {
		if isHostAuthority(db, addr, w.Key) && !seen[certAlgorithms[0]] {
			// A host certificate signed by it vouches for the host: ask for
			// certificates first, of any key type, as the CA's own type says
			// nothing of the host key's.
			for _, a := range certAlgorithms {
				seen[a] = true
			}
			algs = append(certAlgorithms[:len(certAlgorithms):len(certAlgorithms)], algs...)
		}
		for _, a := range algorithmsFor(w.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algs = append(algs, a)
			}
		}
	}
	return algs
}

// certAlgorithms are the host certificate algorithms x/crypto/ssh
// verifies, strongest first.
var certAlgorithms = []string{ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA521v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA256v01,
	ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01}

// isHostAuthority says whether an @cert-authority line lists ca for addr.
// knownhosts keeps that to itself; a host certificate said to be signed
// by ca (and signed by nobody) tells: its check fails on the signature
// when ca is an authority for addr, and before, on the authority, when
// it is not.
func isHostAuthority(db ssh.HostKeyCallback, addr string, ca ssh.PublicKey) bool {
	cert := &ssh.Certificate{Key: probeKey, CertType: ssh.HostCert, SignatureKey: ca}
	err := db(addr, &net.TCPAddr{IP: net.IPv4zero}, cert)
	return err != nil && !strings.HasPrefix(err.Error(), "ssh: no authorities for hostname")
}

// algorithmsFor maps a key type to the signature algorithms that use it:
// an RSA key signs with SHA-2 too.
func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}
