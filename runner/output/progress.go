package output

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// progress is what the live line on a terminal tells: how many hosts are
// done and how each ended, how many still run, and which of those have
// run longest. At 500 hosts a line per host would scroll away; one line
// of counts and the few hosts holding the run up stays readable.
type progress struct {
	total int
	// audit counts a host with drift as a finding, as the exit code
	// does (3, not 2): in an audit a failed check is what the run looks
	// for, not a failure to run it.
	audit                                      bool
	ok, changed, findings, failed, unreachable int
	// running are the hosts started and not done: those waiting for a
	// handshake slot in the order they started, the others in the order
	// they began to connect, so the first have run longest.
	running []runningHost
	// paced: the runner tells when a host begins to connect
	// (HostConnecting), so a host started and not yet connecting waits
	// for a handshake slot (--max-handshakes). Without it, every host
	// started counts as running.
	paced bool
}

type runningHost struct {
	name    string // as Visible shows it
	since   time.Time
	waiting bool // for a handshake slot
}

// slowestShown is how many of the longest-running hosts the line names:
// enough to tell one stuck host from a slow network, few enough to fit.
const slowestShown = 3

// hostNameWidth bounds one host's name on the line, so one long name
// cannot push the counts off it; a name is not cut below
// minHostNameWidth, where it would tell nothing.
const (
	hostNameWidth    = 24
	minHostNameWidth = 8
)

func (p *progress) started(host string, now time.Time) {
	p.running = append(p.running, runningHost{name: Visible(host), since: now, waiting: true})
}

// connecting counts host as connecting or running from now on: its time
// on the line starts when it got a handshake slot, not while it queued.
func (p *progress) connecting(host string, now time.Time) {
	p.paced = true
	name := Visible(host)
	for i, r := range p.running {
		if r.name == name && r.waiting {
			p.running = append(p.running[:i], p.running[i+1:]...)
			p.running = append(p.running, runningHost{name: name, since: now})
			return
		}
	}
}

// active are the hosts connecting or running, longest first.
func (p *progress) active() []runningHost {
	if !p.paced {
		return p.running
	}
	var out []runningHost
	for _, r := range p.running {
		if !r.waiting {
			out = append(out, r)
		}
	}
	return out
}

// done counts a finished host by its worst outcome, in the exit code's
// order: unreachable, else failed, else (in an audit) with findings,
// else changed, else ok. The counts add up to the hosts done.
func (p *progress) done(h recap.HostReport) {
	name := Visible(h.Host)
	for i, r := range p.running {
		if r.name == name {
			p.running = append(p.running[:i], p.running[i+1:]...)
			break
		}
	}
	switch code := hostExitCode(h, p.audit); {
	case code == ExitUnreachable:
		p.unreachable++
	case code == ExitFailed || failedWithoutResult(h):
		p.failed++
	case code == ExitDrift:
		p.findings++
	case h.Stats.Changed > 0:
		p.changed++
	default:
		p.ok++
	}
}

// failedWithoutResult: the host stopped on an error no failed result
// counts (the recap's counts miss it, the line must not).
func failedWithoutResult(h recap.HostReport) bool {
	if h.Err == nil {
		return false
	}
	for _, r := range h.Results {
		if r.Status == remote.StatusFailed && !r.Ignored {
			return false
		}
	}
	return true
}

// line renders the progress line at now, at most width-1 columns wide (a
// character in the last column makes some terminals wrap, and a wrapped
// line is no longer erased by one carriage return). The counts come
// first, in the PLAY RECAP's words; then the running hosts that have run
// longest, oldest first, as many of three as fit:
//
//	312/500 done: ok=280 changed=20 failed=10 unreachable=2 | 188 running: h17 41s, h203 39s
//
// In an audit, where a change is drift, hosts with findings take the
// place of changed ones, in the words of the exit line ("drift found:
// 20 of 500 hosts with findings"):
//
//	312/500 done: ok=280 findings=20 failed=10 unreachable=2 | 188 running: h17 41s
//
// Hosts waiting for a handshake slot are counted apart, and are not
// among the slowest: they have not begun.
//
//	12/500 done: ok=12 changed=0 failed=0 unreachable=0 | 16 running, 472 waiting: h1 3s
//
// Where those words leave no room for the slowest host (80 columns at
// 500 hosts), they are shortened, as the slowest host is what the line
// is for:
//
//	312/500 ok=280 ch=20 fail=10 unr=2 | 188 run: aspera-hsts-17.dc1.exa… 41s
func (p *progress) line(now time.Time, width int) string {
	if width <= 0 {
		width = bannerWidth
	}
	done := p.ok + p.changed + p.findings + p.failed + p.unreachable
	second, secondShort, n := "changed", "ch", p.changed
	if p.audit {
		second, secondShort, n = "findings", "find", p.findings
	}
	active := p.active()
	waiting, waitingShort := "", ""
	if n := len(p.running) - len(active); n > 0 {
		waiting, waitingShort = fmt.Sprintf(", %d waiting", n), fmt.Sprintf(", %d wait", n)
	}
	s := fmt.Sprintf("%d/%d done: ok=%d %s=%d failed=%d unreachable=%d | %d running%s",
		done, p.total, p.ok, second, n, p.failed, p.unreachable, len(active), waiting)
	if len(active) > 0 && room(s, ": ", active[0], now, width) < minHostNameWidth {
		s = fmt.Sprintf("%d/%d ok=%d %s=%d fail=%d unr=%d | %d run%s",
			done, p.total, p.ok, secondShort, n, p.failed, p.unreachable, len(active), waitingShort)
	}
	for i, r := range active[:min(slowestShown, len(active))] {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		// The name gets what room is left, down to a stub still worth
		// reading.
		room := room(s, sep, r, now, width)
		if room < minHostNameWidth {
			break
		}
		s += sep + clip(r.name, room) + took(r, now)
	}
	return clip(s, width-1)
}

// room is the columns left for r's name after s, sep and r's time.
func room(s, sep string, r runningHost, now time.Time, width int) int {
	return min(hostNameWidth, width-1-columns(s+sep+took(r, now)))
}

func took(r runningHost, now time.Time) string {
	return " " + now.Sub(r.since).Truncate(time.Second).String()
}

// clip cuts s to at most n columns, ending in an ellipsis when it cut.
func clip(s string, n int) string {
	if columns(s) <= n {
		return s
	}
	const ellipsis = "…"
	var b strings.Builder
	used := 0
	for _, r := range s {
		w := runeColumns(r)
		if used+w > n-columns(ellipsis) {
			break
		}
		b.WriteRune(r)
		used += w
	}
	return b.String() + ellipsis
}

func columns(s string) int {
	n := 0
	for _, r := range s {
		n += runeColumns(r)
	}
	return n
}

// wideRunes are the blocks of East Asian wide and fullwidth characters
// and emoji, which a terminal draws two columns wide.
var wideRunes = [][2]rune{
	{0x1100, 0x115f}, {0x2e80, 0x303e}, {0x3041, 0x33ff}, {0x3400, 0x4dbf}, {0x4e00, 0x9fff},
	{0xa000, 0xa4cf}, {0xac00, 0xd7a3}, {0xf900, 0xfaff}, {0xfe30, 0xfe4f}, {0xff00, 0xff60},
	{0xffe0, 0xffe6}, {0x1f300, 0x1f64f}, {0x1f900, 0x1f9ff}, {0x20000, 0x3fffd},
}

// runeColumns is how many columns a terminal gives r. Visible has
// already turned controls into escapes, so none is zero wide.
func runeColumns(r rune) int {
	for _, b := range wideRunes {
		if r >= b[0] && r <= b[1] {
			return 2
		}
	}
	return 1
}

// Ticking redraws a Text's progress line every interval, also while no
// host reports anything, so the times of the slowest hosts keep counting
// when the run waits on them. It is an Observer over the Text, which the
// ticker's goroutine and the runner's calls share under one lock.
type Ticking struct {
	mu    sync.Mutex
	t     *Text
	every time.Duration
	stop  chan struct{}
	ended sync.WaitGroup
}

// NewTicking returns an observer that passes every event to t and, from
// Start to End, redraws t's progress line every interval.
func NewTicking(t *Text, every time.Duration) *Ticking {
	return &Ticking{t: t, every: every, stop: make(chan struct{})}
}

func (k *Ticking) Start(p recap.Play) {
	k.mu.Lock()
	k.t.Start(p)
	k.mu.Unlock()
	k.ended.Add(1)
	go k.tick()
}

func (k *Ticking) tick() {
	defer k.ended.Done()
	ticker := time.NewTicker(k.every)
	defer ticker.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-ticker.C:
			k.mu.Lock()
			k.t.redraw()
			k.mu.Unlock()
		}
	}
}

func (k *Ticking) HostStarted(host string) { k.mu.Lock(); defer k.mu.Unlock(); k.t.HostStarted(host) }
func (k *Ticking) HostConnecting(host string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.t.HostConnecting(host)
}
func (k *Ticking) Command(c recap.Command)     { k.mu.Lock(); defer k.mu.Unlock(); k.t.Command(c) }
func (k *Ticking) Log(host, msg string)        { k.mu.Lock(); defer k.mu.Unlock(); k.t.Log(host, msg) }
func (k *Ticking) Result(r remote.Result)      { k.mu.Lock(); defer k.mu.Unlock(); k.t.Result(r) }
func (k *Ticking) HostDone(h recap.HostReport) { k.mu.Lock(); defer k.mu.Unlock(); k.t.HostDone(h) }

// End stops the ticker before the Text prints its end, so no redraw
// comes after the recap.
func (k *Ticking) End(r recap.Recap) {
	close(k.stop)
	k.ended.Wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.t.End(r)
}

// Hold erases the progress line and keeps it off the terminal until
// release is called: a question asked mid-run (a key's passphrase, on
// the first host that needs the key) must not be drawn over every
// second. Lines of results still print meanwhile, as they did before
// the line was redrawn on its own.
func (k *Ticking) Hold() (release func()) {
	k.mu.Lock()
	k.t.held = true
	k.t.redraw()
	k.mu.Unlock()
	return func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.t.held = false
		k.t.redraw()
	}
}

// Err is the Text's first write error.
func (k *Ticking) Err() error { k.mu.Lock(); defer k.mu.Unlock(); return k.t.Err() }
