package output

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// At 500 hosts the progress line stays one line within the terminal's
// width at every width, its counts add up, it names the hosts that have
// run longest, and a host's name reaches the terminal only as Visible
// shows it.
func TestProgressLineAt500Hosts(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var p progress
	p.total = 500
	hostile := "evil\x1b[2J\x1b]0;owned\x07\u202e"
	for i := range 500 {
		name := fmt.Sprintf("host-%03d.fleet.example.com", i)
		if i == 0 {
			name = hostile
		}
		p.started(name, t0.Add(time.Duration(i)*100*time.Millisecond))
	}
	// 300 hosts done, each way; the first three started stay running.
	outcome := []recap.HostReport{
		{Stats: recap.Stats{OK: 3}},
		{Stats: recap.Stats{OK: 3, Changed: 1}},
		{Stats: recap.Stats{OK: 1, Failed: 1}, Results: []remote.Result{{Name: "t", Status: remote.StatusFailed}}},
		{Unreachable: true, Stats: recap.Stats{Unreachable: 1}},
	}
	for i := 3; i < 303; i++ {
		h := outcome[i%4]
		h.Host = fmt.Sprintf("host-%03d.fleet.example.com", i)
		p.done(h)
	}
	now := t0.Add(2 * time.Minute)
	wide := p.line(now, 200)
	want := "300/500 done: ok=75 changed=75 failed=75 unreachable=75 | 200 running: " +
		`evil\x1b[2J\x1b]0;owned… 2m0s, host-001.fleet.example.… 1m59s, host-002.fleet.example.… 1m59s`
	if wide != want {
		t.Errorf("at 200 columns:\n got %q\nwant %q", wide, want)
	}
	if got, want := p.line(now, 80), "300/500 ok=75 ch=75 fail=75 unr=75 | 200 run: evil\\x1b[2J\\x1b]0;owned… 2m0s"; got != want {
		t.Errorf("at 80 columns:\n got %q\nwant %q", got, want)
	}
	for _, width := range []int{0, 20, 40, 60, 80, 100, 132, 200, 400} {
		line := p.line(now, width)
		limit := width - 1
		if width == 0 {
			limit = 79
		}
		if n := columns(line); n > limit {
			t.Errorf("at %d columns the line is %d wide: %q", width, n, line)
		}
		if strings.ContainsAny(line, "\x1b\x07\r\n\u202e") {
			t.Errorf("at %d columns the line holds a control: %q", width, line)
		}
		if width >= 80 && !strings.HasPrefix(line, "300/500 ok=75 ch=75 fail=75 unr=75 | 200 run: evil") &&
			!strings.HasPrefix(line, "300/500 done: ok=75 changed=75 failed=75 unreachable=75 | 200 running: evil") {
			t.Errorf("at %d columns the counts are cut, or the slowest host is left out: %q", width, line)
		}
	}
}

// Wide characters count two columns, so a host name in CJK cannot push
// the line past the terminal's edge.
func TestProgressLineWideNames(t *testing.T) {
	var p progress
	p.total = 2
	p.started(strings.Repeat("主機", 20), time.Now())
	p.started("h2", time.Now())
	for _, width := range []int{60, 80, 100} {
		if line := p.line(time.Now(), width); columns(line) > width-1 {
			t.Errorf("at %d columns: %d wide: %q", width, columns(line), line)
		}
	}
}

// A host that stopped on an error no failed result counts is failed on
// the line, not ok.
func TestProgressCountsHostError(t *testing.T) {
	var p progress
	p.total = 1
	p.started("h1", time.Now())
	p.done(recap.HostReport{Host: "h1", Stats: recap.Stats{OK: 1}, Err: fmt.Errorf("lua: boom")})
	if line := p.line(time.Now(), 120); !strings.HasPrefix(line, "1/1 done: ok=0 changed=0 failed=1 unreachable=0 | 0 running") {
		t.Errorf("line = %q", line)
	}
}

// Ticking redraws the line while no host reports anything, so the
// slowest hosts' times keep counting, and draws nothing after the recap.
func TestTickingRedrawsWhileWaiting(t *testing.T) {
	var buf syncedBuffer
	text := NewText(&buf, TextOptions{Progress: true, Width: func() int { return 120 }})
	k := NewTicking(text, 20*time.Millisecond)
	k.Start(recap.Play{Name: "p", Hosts: []string{"slow1"}})
	k.HostStarted("slow1")
	time.Sleep(1200 * time.Millisecond)
	screen := terminal(buf.String())
	if last := screen[len(screen)-1]; last != "0/1 done: ok=0 changed=0 failed=0 unreachable=0 | 1 running: slow1 1s" {
		t.Errorf("after a second of silence the line is %q", last)
	}
	r := recap.Recap{Play: recap.Play{Name: "p", Hosts: []string{"slow1"}},
		Hosts: []recap.HostReport{{Host: "slow1", Results: []remote.Result{{Host: "slow1", Name: "t", Status: remote.StatusOK}}, Stats: recap.Stats{OK: 1}}}}
	k.HostDone(r.Hosts[0])
	k.End(r)
	n := buf.Len()
	time.Sleep(100 * time.Millisecond)
	if buf.Len() != n {
		t.Error("the ticker wrote after the end")
	}
	if !strings.HasSuffix(buf.String(), "\n\n") {
		t.Errorf("the output does not end with the recap: %q", buf.String())
	}
}

// syncedBuffer is a bytes.Buffer the ticker's goroutine and the test may
// use at once.
type syncedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncedBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }
func (b *syncedBuffer) Len() int       { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.Len() }

// While a question is asked mid-run the progress line is off the screen
// and not redrawn; it comes back when the answer is in.
func TestTickingHoldsForAQuestion(t *testing.T) {
	var buf syncedBuffer
	k := NewTicking(NewText(&buf, TextOptions{Progress: true, Width: func() int { return 120 }}), 10*time.Millisecond)
	k.Start(recap.Play{Name: "p", Hosts: []string{"h1", "h2"}})
	k.HostStarted("h1")
	release := k.Hold()
	held := buf.Len()
	if screen := terminal(buf.String()); screen[len(screen)-1] != "" {
		t.Errorf("while held the line shows %q", screen[len(screen)-1])
	}
	time.Sleep(100 * time.Millisecond)
	if buf.Len() != held {
		t.Errorf("redrawn while held: %q", buf.String()[held:])
	}
	release()
	if screen := terminal(buf.String()); !strings.HasPrefix(screen[len(screen)-1], "0/2 done: ") {
		t.Errorf("after the question the line is %q", screen[len(screen)-1])
	}
	k.End(recap.Recap{Play: recap.Play{Name: "p", Hosts: []string{"h1", "h2"}}})
}

// In an audit a host whose checks fail or whose tasks would change
// something has findings (exit 3), not a failure: the line counts it as
// the exit line does and keeps failed for a check that broke, a failed
// task and a host error.
func TestProgressAuditCountsFindings(t *testing.T) {
	drift := recap.HostReport{Host: "drift", Stats: recap.Stats{OK: 1, Failed: 1}, Results: []remote.Result{
		{Host: "drift", Name: "root login disabled", Kind: remote.KindCheck, Status: remote.StatusFailed},
	}}
	wouldChange := recap.HostReport{Host: "would", Stats: recap.Stats{OK: 1, Changed: 1}, Results: []remote.Result{
		{Host: "would", Name: "open port", Status: remote.StatusChanged},
	}}
	broke := recap.HostReport{Host: "broke", Stats: recap.Stats{Failed: 1}, Results: []remote.Result{
		{Host: "broke", Name: "root login disabled", Kind: remote.KindCheck, Status: remote.StatusFailed, Error: true},
	}}
	stopped := recap.HostReport{Host: "stopped", Stats: recap.Stats{OK: 1}, Err: fmt.Errorf("lua: boom")}
	down := recap.HostReport{Host: "down", Unreachable: true, Stats: recap.Stats{Unreachable: 1}}
	fine := recap.HostReport{Host: "fine", Stats: recap.Stats{OK: 2}}
	hosts := []recap.HostReport{drift, wouldChange, broke, stopped, down, fine}
	for _, tc := range []struct {
		audit bool
		want  string
	}{
		{audit: true, want: "6/6 done: ok=1 findings=2 failed=2 unreachable=1 | 0 running"},
		{audit: false, want: "6/6 done: ok=1 changed=1 failed=3 unreachable=1 | 0 running"},
	} {
		p := progress{total: len(hosts), audit: tc.audit}
		for _, h := range hosts {
			p.started(h.Host, time.Now())
			p.done(h)
		}
		if got := p.line(time.Now(), 120); got != tc.want {
			t.Errorf("audit=%v:\n got %q\nwant %q", tc.audit, got, tc.want)
		}
	}
	// Short form, and Text takes audit from the play.
	var buf bytes.Buffer
	text := NewText(&buf, TextOptions{Progress: true, Width: func() int { return 60 }})
	text.Start(recap.Play{Name: "p", Audit: true, Check: true, Hosts: []string{"drift", "slow-host-1"}})
	text.HostStarted("slow-host-1")
	text.HostStarted("drift")
	text.HostDone(drift)
	if screen := terminal(buf.String()); !strings.HasPrefix(screen[len(screen)-1], "1/2 ok=0 find=1 fail=0 unr=0 | 1 run: slow-host-1") {
		t.Errorf("audit line on 60 columns = %q", screen[len(screen)-1])
	}
}

// Hosts waiting for a handshake slot are counted apart from those
// connecting or running, and are not named among the slowest; a host's
// time counts from when it began to connect. Until the runner tells of
// a first connect, every host started counts as running.
func TestProgressWaitingForHandshake(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	p := progress{total: 500}
	for i := range 500 {
		p.started(fmt.Sprintf("h%d", i), t0)
	}
	if got, want := p.line(t0.Add(time.Second), 120), "0/500 done: ok=0 changed=0 failed=0 unreachable=0 | 500 running: h0 1s, h1 1s, h2 1s"; got != want {
		t.Errorf("before any connects:\n got %q\nwant %q", got, want)
	}
	p.connecting("h7", t0.Add(2*time.Second))
	p.connecting("h3", t0.Add(3*time.Second))
	p.connecting("h3", t0.Add(4*time.Second)) // once per host counts
	p.done(recap.HostReport{Host: "h7", Stats: recap.Stats{OK: 1}})
	p.done(recap.HostReport{Host: "h9", Stats: recap.Stats{OK: 1}}) // done while it waited: unreachable before a slot
	now := t0.Add(10 * time.Second)
	if got, want := p.line(now, 120), "2/500 done: ok=2 changed=0 failed=0 unreachable=0 | 1 running, 497 waiting: h3 7s"; got != want {
		t.Errorf("at 120 columns:\n got %q\nwant %q", got, want)
	}
	if got, want := p.line(now, 60), "2/500 ok=2 ch=0 fail=0 unr=0 | 1 run, 497 wait: h3 7s"; got != want {
		t.Errorf("at 60 columns:\n got %q\nwant %q", got, want)
	}
}
