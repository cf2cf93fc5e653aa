package runner

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"syscall"
	"time"
)

// DefaultMaxHandshakes is how many SSH handshakes a run has in flight at
// most, unless --max-handshakes says otherwise. A handshake costs the
// controller and the host a key exchange each; started all at once on a
// busy controller (500 hosts, 2 cores), every one waited behind the
// others until the connect timeout ran out, and hosts that were merely
// queued were reported unreachable.
const DefaultMaxHandshakes = 32

// minHandshakes is as far down as overload takes the window: a few frozen
// hosts must not leave a fleet dialled one host at a time.
const minHandshakes = 4

// pacer bounds the SSH handshakes (the TCP connect and SSH handshake of
// one hop) in flight, and adapts the bound as TCP adapts its window:
// halved when handshakes time out or are reset, grown by one after a
// window's worth of handshakes succeeded, never past max. A handshake's
// --timeout starts when the pacer lets it start, so a queued host is
// never timed out for waiting. Sessions on established connections do
// not go through it.
type pacer struct {
	max int

	mu       sync.Mutex
	window   int
	inflight map[uint64]time.Time // when each handshake in flight started
	next     uint64               // the next ticket's id
	// epoch counts the times the window shrank: a handshake that started
	// before the last shrink ran under the larger window, so its failure
	// does not shrink it again.
	epoch     uint64
	successes int // since the window last grew or shrank
	// lastOverload is when a handshake last failed from overload.
	lastOverload time.Time
	waiting      []*paceWaiter // first in, first out
}

// paceTicket is one handshake let through by the pacer.
type paceTicket struct {
	id    uint64
	epoch uint64
	start time.Time
}

// paceWaiter is a handshake waiting for its turn; ready is closed once
// ticket is set.
type paceWaiter struct {
	ready  chan struct{}
	urgent bool
	ticket paceTicket
}

// handshakeOutcome is what a handshake's end tells the pacer.
type handshakeOutcome int

const (
	handshakeDone     handshakeOutcome = iota // connected
	handshakeOverload                         // timed out or reset after the TCP connect: maybe the load
	handshakeOther                            // refused, a bad key, cancelled: says nothing of the load
)

// newPacer bounds handshakes in flight by limit; below 1 is 1.
func newPacer(limit int) *pacer {
	limit = max(limit, 1)
	return &pacer{max: limit, window: limit, inflight: map[uint64]time.Time{}}
}

// acquire waits until a handshake may start, in the order hosts asked,
// or until ctx ends. An urgent handshake goes ahead of the others
// waiting: a host already connected that dials again (the lockout
// check's probe, MovePort) has a timed revert running on it, which must
// not run out while hosts not yet started take their turns. A nil pacer
// lets every handshake start at once.
func (p *pacer) acquire(ctx context.Context, urgent bool) (paceTicket, error) {
	if p == nil {
		return paceTicket{}, nil
	}
	p.mu.Lock()
	if len(p.inflight) < p.window && (urgent || len(p.waiting) == 0) {
		defer p.mu.Unlock()
		return p.admit(), nil
	}
	w := &paceWaiter{ready: make(chan struct{}), urgent: urgent}
	at := len(p.waiting)
	if urgent {
		at = 0
		for at < len(p.waiting) && p.waiting[at].urgent {
			at++
		}
	}
	p.waiting = slices.Insert(p.waiting, at, w)
	p.mu.Unlock()
	select {
	case <-w.ready:
		return w.ticket, nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-w.ready: // let through as ctx ended: hand the place on
		p.end(w.ticket, handshakeOther)
	default:
		for i, o := range p.waiting {
			if o == w {
				p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
				break
			}
		}
	}
	return paceTicket{}, context.Cause(ctx)
}

// admit starts a handshake; p.mu is held.
func (p *pacer) admit() paceTicket {
	t := paceTicket{id: p.next, epoch: p.epoch, start: time.Now()}
	p.next++
	p.inflight[t.id] = t.start
	return t
}

// release ends t's handshake and adapts the window to how it ended. It
// reports whether the handshake failed in a crowd: another one failed
// from overload while it ran, or another in flight has been going for
// more than half of timeout. Such a failure is the load's doing, not the
// host's, and is worth one more try.
func (p *pacer) release(t paceTicket, o handshakeOutcome, timeout time.Duration) (crowded bool) {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if o == handshakeOverload {
		crowded = p.lastOverload.After(t.start)
		for id, start := range p.inflight {
			if id != t.id && time.Since(start) > timeout/2 {
				crowded = true
			}
		}
		p.lastOverload = time.Now()
	}
	p.end(t, o)
	return crowded
}

// end is release without the verdict; p.mu is held.
func (p *pacer) end(t paceTicket, o handshakeOutcome) {
	delete(p.inflight, t.id)
	switch o {
	case handshakeDone:
		p.successes++
		if p.successes >= p.window && p.window < p.max {
			p.window++
			p.successes = 0
		}
	case handshakeOverload:
		if t.epoch == p.epoch {
			p.window = max(p.window/2, min(minHandshakes, p.max))
			p.epoch++
			p.successes = 0
		}
	}
	for len(p.inflight) < p.window && len(p.waiting) > 0 {
		w := p.waiting[0]
		p.waiting = p.waiting[1:]
		w.ticket = p.admit()
		close(w.ready)
	}
}

// overloaded says whether a handshake's error hints at load rather than
// at the host: it ran out of time, or the connection was reset or closed
// under it (sshd's MaxStartups drops handshakes so). Only errors after
// the TCP connect count: a connect that times out is a host that drops
// packets, whatever the load.
func overloaded(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
