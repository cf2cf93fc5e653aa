package runner

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// PlayFunc runs the playbook on one connected host, gathering its facts
// first (lua.RunOptions.Gather). The CLI binds it to a loaded playbook and
// its options, so the runner needs nothing of how a playbook is run.
type PlayFunc func(ctx context.Context, h remote.Host, p HostPlay) error

// HostPlay is what a PlayFunc gets for one host besides its connection.
type HostPlay struct {
	Vars     map[string]any
	Start    time.Time // when connecting began
	Emit     func(remote.Result)
	Log      func(msg string)
	Gathered func(remote.Facts)
}

// Host is one host to run on.
type Host struct {
	Target Target
	Vars   map[string]any
	Become *Become // nil: commands run as the connection user
}

// Options bound and shape a run.
type Options struct {
	Forks          int           // hosts worked on at once; at least 1
	Serial         Serial        // rolling batches; zero: one batch
	MaxFailPercent float64       // stop once more than this share of a batch failed; negative: never
	ConnectTimeout time.Duration // per hop: TCP connect and SSH handshake, from when the pacing lets it start
	MaxHandshakes  int           // SSH handshakes in flight at most (fewer under overload); zero: DefaultMaxHandshakes
	CommandTimeout time.Duration // per remote command; zero: none
	MaxOutput      Size          // per remote command or file read; zero: DefaultMaxOutput
	HostKeys       *HostKeys
	Credentials    *Credentials
}

// Run runs play on hosts and returns the recap, with every host's error
// collected in a multierror. One host's failure never stops the others,
// unless MaxFailPercent says so. When ctx is cancelled (Ctrl-C) no more
// hosts start, running commands are signalled and their connections
// closed, and the recap covers what ran so far.
func Run(ctx context.Context, info recap.Play, hosts []Host, play PlayFunc, o Options, obs recap.Observer) (recap.Recap, error) {
	f := &fanout{
		opts:   o,
		play:   play,
		obs:    &syncObserver{o: obs},
		dialer: &dialer{creds: o.Credentials, keys: o.HostKeys, timeout: o.ConnectTimeout, pace: newPacer(cmp.Or(o.MaxHandshakes, DefaultMaxHandshakes))},
	}
	f.obs.Start(info)
	notRun := f.batches(ctx, hosts)
	slices.SortFunc(f.reports, func(a, b recap.HostReport) int { return strings.Compare(a.Host, b.Host) })
	recap := recap.Recap{
		Play:        info,
		Hosts:       f.reports,
		NotRun:      notRun,
		Interrupted: ctx.Err() != nil,
		Duration:    time.Since(info.Started),
	}
	f.obs.End(recap)
	return recap, hostErrors(recap)
}

// fanout is one run in progress.
type fanout struct {
	opts   Options
	play   PlayFunc
	obs    *syncObserver
	dialer *dialer

	mu      sync.Mutex
	reports []recap.HostReport
}

// batches runs the serial batches in turn and returns the hosts never
// started.
func (f *fanout) batches(ctx context.Context, hosts []Host) []string {
	next := 0
	for _, size := range f.opts.Serial.batches(len(hosts)) {
		batch := hosts[next : next+size]
		next += size
		if notStarted, stop := f.batch(ctx, batch); stop {
			return append(notStarted, hostNames(hosts[next:])...)
		}
	}
	return nil
}

// batch runs hosts, at most Forks at a time. It stops starting hosts when
// ctx ends or too many of the batch have failed, and reports whether the
// run must stop there.
func (f *fanout) batch(ctx context.Context, hosts []Host) (notStarted []string, stop bool) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	slots := make(chan struct{}, max(f.opts.Forks, 1))
	for i, h := range hosts {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		mu.Lock()
		tooMany := f.tooManyFailed(failed, len(hosts))
		mu.Unlock()
		if ctx.Err() != nil || tooMany {
			notStarted = hostNames(hosts[i:])
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if rep := f.host(ctx, h); hostFailed(rep) {
				mu.Lock()
				failed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return notStarted, ctx.Err() != nil || f.tooManyFailed(failed, len(hosts))
}

// tooManyFailed applies --max-fail-percent to one batch, like Ansible's
// max_fail_percentage: strictly more than the share must fail.
func (f *fanout) tooManyFailed(failed, batch int) bool {
	p := f.opts.MaxFailPercent
	return p >= 0 && failed > 0 && float64(failed)*100 > p*float64(batch)
}

// hostFailed says whether a host counts against --max-fail-percent: it is
// unreachable, a task or handler failed, or a check broke. A check that
// fails is a finding about the host, not a failure to work on it.
func hostFailed(r recap.HostReport) bool {
	if r.Unreachable {
		return true
	}
	for _, res := range r.Results {
		if res.Status == remote.StatusFailed && !res.Ignored && (res.Kind != remote.KindCheck || res.Error) {
			return true
		}
	}
	return false
}

// host connects to one host, gathers its facts, runs the playbook on it
// and reports all of it.
func (f *fanout) host(ctx context.Context, h Host) recap.HostReport {
	start := time.Now()
	name := h.Target.Name
	f.obs.HostStarted(name)
	ctx = withConnecting(ctx, func() { f.obs.HostConnecting(name) })
	rep := recap.HostReport{Host: name}
	emit := func(r remote.Result) {
		r.Host = name
		r.Msg = withoutHost(r.Msg, name)
		rep.Results = append(rep.Results, r)
		countResult(&rep.Stats, r)
		f.obs.Result(r)
	}
	rep.Err = f.connectAndPlay(ctx, h, &rep, emit)
	if errors.Is(rep.Err, remote.ErrUnreachable) {
		rep.Unreachable = true
		rep.Stats.Unreachable = max(rep.Stats.Unreachable, 1)
	}
	rep.Duration = time.Since(start)
	f.mu.Lock()
	f.reports = append(f.reports, rep)
	f.mu.Unlock()
	f.obs.HostDone(rep)
	return rep
}

func (f *fanout) connectAndPlay(ctx context.Context, h Host, rep *recap.HostReport, emit func(remote.Result)) error {
	start := time.Now()
	conn, err := connect(ctx, h.Target, f.dialer, h.Become, f.opts.CommandTimeout, f.opts.MaxOutput, f.obs.Command)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		emit(remote.FactsResult(err, remote.Facts{}, start))
		return err
	}
	defer conn.Close()
	err = f.play(ctx, conn, HostPlay{
		Vars: h.Vars, Start: start, Emit: emit,
		Log:      func(msg string) { f.obs.Log(h.Target.Name, msg) },
		Gathered: func(facts remote.Facts) { rep.Facts = &facts },
	})
	if port := conn.Port(); port != h.Target.Port {
		rep.MovedPort = port
	}
	if err != nil && ctx.Err() == nil && !endedInFailure(rep.Results) {
		// The playbook stopped without a failed result to show for it
		// (a Lua error outside any task): record it so the host counts
		// as failed.
		emit(remote.Result{Kind: remote.KindTask, Name: "playbook", Status: remote.StatusFailed, Error: true, Msg: err.Error()})
	}
	return err
}

// endedInFailure: the host's last result already says it failed or became
// unreachable.
func endedInFailure(results []remote.Result) bool {
	n := len(results)
	return n > 0 && (results[n-1].Status == remote.StatusFailed || results[n-1].Status == remote.StatusUnreachable)
}

// countResult adds a result to the recap's counters the way Ansible
// 2.14 does: a changed task is also ok, and an ignored failure is ok and
// ignored, not failed (ansible-playbook: "ok=2 ... failed=0 ... ignored=1"
// for one ok task and one ignored failure).
func countResult(s *recap.Stats, r remote.Result) {
	switch r.Status {
	case remote.StatusOK:
		s.OK++
	case remote.StatusChanged:
		s.OK++
		s.Changed++
	case remote.StatusFailed:
		if r.Ignored {
			s.OK++
			s.Ignored++
		} else {
			s.Failed++
		}
	case remote.StatusSkipped:
		s.Skipped++
	case remote.StatusUnreachable:
		s.Unreachable++
	}
}

// hostErrors collects every host's error, interruptions aside.
func hostErrors(r recap.Recap) error {
	var all *multierror.Error
	for _, h := range r.Hosts {
		if h.Err == nil || errors.Is(h.Err, context.Canceled) {
			continue
		}
		all = multierror.Append(all, &HostError{Host: h.Host, Err: h.Err})
	}
	return all.ErrorOrNil()
}

// HostError is one host's error as the runner shows it: the host named
// once, in front.
type HostError struct {
	Host string
	Err  error
}

func (e *HostError) Error() string { return e.Host + ": " + withoutHost(e.Err.Error(), e.Host) }
func (e *HostError) Unwrap() error { return e.Err }

// withoutHost takes the host's name out of a message wherever a layer
// put it in front of what it wrapped ("h1: ..." at the start or after
// ": "): the runner shows the host beside every message, and lua and its
// modules name it too. "lookup h1: no such host" keeps its name.
func withoutHost(msg, host string) string {
	prefix := host + ": "
	for strings.HasPrefix(msg, prefix) {
		msg = msg[len(prefix):]
	}
	for strings.Contains(msg, ": "+prefix) {
		msg = strings.ReplaceAll(msg, ": "+prefix, ": ")
	}
	return msg
}

func hostNames(hosts []Host) []string {
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Target.Name
	}
	return names
}

// syncObserver serialises calls so an Observer needs no locking.
type syncObserver struct {
	mu sync.Mutex
	o  recap.Observer
}

func (s *syncObserver) Start(p recap.Play)      { s.mu.Lock(); defer s.mu.Unlock(); s.o.Start(p) }
func (s *syncObserver) HostStarted(h string)    { s.mu.Lock(); defer s.mu.Unlock(); s.o.HostStarted(h) }
func (s *syncObserver) Command(c recap.Command) { s.mu.Lock(); defer s.mu.Unlock(); s.o.Command(c) }
func (s *syncObserver) Log(host, msg string)    { s.mu.Lock(); defer s.mu.Unlock(); s.o.Log(host, msg) }
func (s *syncObserver) Result(r remote.Result)  { s.mu.Lock(); defer s.mu.Unlock(); s.o.Result(r) }

// HostConnecting is passed on to an observer that wants it.
func (s *syncObserver) HostConnecting(h string) {
	if c, ok := s.o.(recap.ConnectingObserver); ok {
		s.mu.Lock()
		defer s.mu.Unlock()
		c.HostConnecting(h)
	}
}

func (s *syncObserver) HostDone(r recap.HostReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.o.HostDone(r)
}
func (s *syncObserver) End(r recap.Recap) { s.mu.Lock(); defer s.mu.Unlock(); s.o.End(r) }
