package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// acquireNow takes a ticket that must be free at once.
func acquireNow(t *testing.T, p *pacer) paceTicket {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	tk, err := p.acquire(ctx, false)
	if err != nil {
		t.Fatalf("acquire with %d in flight of a window of %d: %v", len(p.inflight), p.window, err)
	}
	return tk
}

// blocked says whether acquire waits: it gives up after a short while.
func blocked(t *testing.T, p *pacer) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	tk, err := p.acquire(ctx, false)
	if err == nil {
		p.release(tk, handshakeOther, time.Minute)
		return false
	}
	return true
}

func TestPacerBoundsHandshakesInFlight(t *testing.T) {
	p := newPacer(3)
	var held []paceTicket
	for range 3 {
		held = append(held, acquireNow(t, p))
	}
	if !blocked(t, p) {
		t.Fatal("a 4th handshake started with 3 in flight and a window of 3")
	}
	if len(p.waiting) != 0 {
		t.Errorf("a waiter that gave up is still queued (%d)", len(p.waiting))
	}
	// Waiters start in the order they came, as places free up.
	order := make(chan int, 2)
	for i := range 2 {
		go func() {
			tk, err := p.acquire(t.Context(), false)
			if err != nil {
				t.Error(err)
				return
			}
			order <- i
			p.release(tk, handshakeDone, time.Minute)
		}()
		for waiting(p) < i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	p.release(held[0], handshakeDone, time.Minute)
	if a, b := <-order, <-order; a != 0 || b != 1 {
		t.Errorf("waiters started in order %d, %d, want 0, 1", a, b)
	}
}

func waiting(p *pacer) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiting)
}

// The window halves once per burst of overloaded handshakes (those that
// started under the larger window do not halve it again), stops at
// minHandshakes, and grows back by one per window of successes.
func TestPacerAdapts(t *testing.T) {
	p := newPacer(32)
	burst := make([]paceTicket, 32)
	for i := range burst {
		burst[i] = acquireNow(t, p)
	}
	for _, tk := range burst {
		p.release(tk, handshakeOverload, time.Minute)
	}
	if p.window != 16 {
		t.Fatalf("after one burst of 32 timeouts the window is %d, want 16", p.window)
	}
	for want := 8; want >= minHandshakes; want /= 2 {
		p.release(acquireNow(t, p), handshakeOverload, time.Minute)
		if p.window != max(want, minHandshakes) {
			t.Fatalf("window %d, want %d", p.window, want)
		}
	}
	p.release(acquireNow(t, p), handshakeOverload, time.Minute)
	if p.window != minHandshakes {
		t.Fatalf("window %d below the floor %d", p.window, minHandshakes)
	}
	// Failures that say nothing of the load leave the window alone.
	p.release(acquireNow(t, p), handshakeOther, time.Minute)
	if p.window != minHandshakes {
		t.Fatalf("a refused connection moved the window to %d", p.window)
	}
	// Slowly back: window successes for each step up.
	successes := 0
	for p.window < 8 {
		p.release(acquireNow(t, p), handshakeDone, time.Minute)
		successes++
	}
	if want := 4 + 5 + 6 + 7; successes != want {
		t.Errorf("the window grew from 4 to 8 in %d successes, want %d", successes, want)
	}
	for range 1000 {
		p.release(acquireNow(t, p), handshakeDone, time.Minute)
	}
	if p.window != 32 {
		t.Errorf("the window grew to %d, want the maximum 32", p.window)
	}
}

// A handshake that timed out alone is the host's doing; one among others
// failing or dragging on is the crowd's, and worth another try.
func TestPacerCrowded(t *testing.T) {
	p := newPacer(8)
	lone := acquireNow(t, p)
	if p.release(lone, handshakeOverload, time.Minute) {
		t.Error("a lone timeout counted as crowded")
	}
	a, b := acquireNow(t, p), acquireNow(t, p)
	p.release(a, handshakeOverload, time.Minute)
	if !p.release(b, handshakeOverload, time.Minute) {
		t.Error("a timeout after another, while both ran, is not crowded")
	}
	slow := acquireNow(t, p)
	time.Sleep(20 * time.Millisecond)
	c := acquireNow(t, p)
	if !p.release(c, handshakeOverload, 30*time.Millisecond) {
		t.Error("a timeout beside a handshake going for over half the timeout is not crowded")
	}
	p.release(slow, handshakeDone, time.Minute)
}

func TestOverloaded(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("ssh handshake with h:22: %w", fmt.Errorf("no answer within 10s (--timeout): %w", context.DeadlineExceeded)), true},
		{fmt.Errorf("ssh handshake with h:22 as root: ssh: handshake failed: %w", io.EOF), true},
		{fmt.Errorf("ssh: handshake failed: read tcp: %w", syscall.ECONNRESET), true},
		{fmt.Errorf("ssh: handshake failed: %w", errors.New("ssh: unable to authenticate")), false},
		{&HostKeyError{}, false},
		{context.Canceled, false},
	}
	for _, tt := range tests {
		if got := overloaded(tt.err); got != tt.want {
			t.Errorf("overloaded(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// A nil pacer paces nothing.
func TestNilPacer(t *testing.T) {
	var p *pacer
	tk, err := p.acquire(t.Context(), false)
	if err != nil || p.release(tk, handshakeOverload, time.Second) {
		t.Error("a nil pacer waits or judges")
	}
}

// A host already connected that dials again goes ahead of the hosts
// waiting for their first handshake, after other such hosts.
func TestPacerLetsRedialsGoFirst(t *testing.T) {
	p := newPacer(1)
	held := acquireNow(t, p)
	order := make(chan string, 3)
	for _, w := range []struct {
		name   string
		urgent bool
	}{{"first dial", false}, {"redial 1", true}, {"redial 2", true}} {
		queued := waiting(p)
		go func() {
			tk, err := p.acquire(t.Context(), w.urgent)
			if err != nil {
				t.Error(err)
				return
			}
			order <- w.name
			p.release(tk, handshakeDone, time.Minute)
		}()
		for waiting(p) == queued {
			time.Sleep(time.Millisecond)
		}
	}
	p.release(held, handshakeDone, time.Minute)
	got := []string{<-order, <-order, <-order}
	if want := []string{"redial 1", "redial 2", "first dial"}; !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
}

// A host's dial tells it began to connect only once the pacer let its
// handshake start, and once however many times it dials: until then it
// waits for a slot, which the progress line shows apart.
func TestDialTellsConnectingWhenAdmitted(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	d := &dialer{timeout: time.Second, pace: newPacer(1)}
	held := acquireNow(t, d.pace)
	var calls atomic.Int32
	ctx := withConnecting(t.Context(), func() { calls.Add(1) })
	done := make(chan error)
	go func() {
		for range 2 {
			_, _, err := d.dialVia(ctx, nil, "h1", Endpoint{Addr: "127.0.0.1", Port: port}, nil)
			if err == nil {
				done <- errors.New("dialled a closed port")
				return
			}
		}
		done <- nil
	}()
	time.Sleep(100 * time.Millisecond)
	if n := calls.Load(); n != 0 {
		t.Fatalf("told connecting %d times while the only slot was held", n)
	}
	d.pace.release(held, handshakeDone, time.Minute)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("told connecting %d times over two dials, want 1", n)
	}
}
