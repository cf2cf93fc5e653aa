package runner

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// bastions shares one connection per chain of bastions among all the
// hosts of a run. sshd's MaxStartups (10 unauthenticated connections, by
// default) drops handshakes beyond it, so fifty hosts behind one bastion
// must not mean fifty logins to it at once; they open channels on one
// connection instead.
type bastions struct {
	mu   sync.Mutex
	open map[string]*bastion
}

// bastion is one shared connection; ready is closed once it is dialled
// (client set) or failed (err set).
type bastion struct {
	ready  chan struct{}
	client *ssh.Client
	err    error
	users  int
}

// chainKey names the bastions up to and including the last of hops, with
// the known_hosts files each was checked against: hosts whose inventory
// names other files share no bastion connection, so none rides on a
// bastion key only another host's files vouched for.
func chainKey(hops []Endpoint) string {
	parts := make([]string, len(hops))
	for i, h := range hops {
		parts[i] = fmt.Sprintf("%q@%s %q", h.User, h.hostPort(), h.KnownHosts)
	}
	return strings.Join(parts, ",")
}

// acquire returns the connection for key, dialling it with dial when no
// host holds it; concurrent callers wait for the same dial. Each
// successful acquire needs a release.
func (b *bastions) acquire(ctx context.Context, key string, dial func() (*ssh.Client, error)) (*ssh.Client, error) {
	b.mu.Lock()
	if b.open == nil {
		b.open = map[string]*bastion{}
	}
	e, found := b.open[key]
	if !found {
		e = &bastion{ready: make(chan struct{})}
		b.open[key] = e
	}
	e.users++
	b.mu.Unlock()
	if !found {
		e.client, e.err = dial()
		close(e.ready)
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		b.release(key)
		return nil, ctx.Err()
	}
	if e.err != nil {
		b.release(key)
		return nil, e.err
	}
	return e.client, nil
}

// release drops one user of key's connection and closes it after the
// last one. A failed dial is forgotten too, so a later batch tries again.
func (b *bastions) release(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.open[key]
	if e == nil {
		return
	}
	e.users--
	if e.users > 0 {
		return
	}
	delete(b.open, key)
	if e.client != nil {
		e.client.Close()
	}
}
