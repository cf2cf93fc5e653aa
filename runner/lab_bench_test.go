package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"remedy/lua"
	_ "remedy/lua/modules/all"
	"remedy/lua/remote"
	"remedy/lua/shell"
	"remedy/playbooks"
	"remedy/runner/recap"
	"remedy/tests/lab/labkit"
)

// Benchmarks on a lab (root and network namespaces; skipped without):
//
//	go test -run '^$' -bench . -benchtime 20x ./runner
//	go test -run '^$' -bench AuditAspera -benchtime 5x -cpuprofile cpu.out ./runner

// extraTasks is how many read-only tasks one playbook has over the other;
// the difference of their run times, divided by it, is one task's cost.
const extraTasks = 10

// readArgv is what each benchmark task reads: one small file, the cheapest
// command that still makes the host do something.
var readArgv = []string{"cat", "/etc/hostname"}

// BenchmarkOneMoreReadOnlyTask measures what one more read-only task
// costs a host's run, next to one bare SSH session running the same
// command on the same connection: the task must cost that session and
// no more (ns/extra-task ≈ ns/session, sessions/extra-task = 1).
func BenchmarkOneMoreReadOnlyTask(b *testing.B) {
	lab := labkit.New(b, labkit.Options{Hosts: 1, Profiles: []string{"none"}})
	var sessions atomic.Int64
	c := benchConn(b, lab, lab.Hosts[0], func(recap.Command) { sessions.Add(1) })
	ctx := b.Context()
	base, more := readPlaybook(b, 1), readPlaybook(b, 1+extraTasks)
	runOnce := func(pb *lua.Playbook) (time.Duration, int64) {
		before, start := sessions.Load(), time.Now()
		runChecked(ctx, b, pb, c)
		return time.Since(start), sessions.Load() - before
	}
	var extra, session time.Duration
	var extraSessions, n int64
	for b.Loop() {
		d0, s0 := runOnce(base)
		d1, s1 := runOnce(more)
		extra += d1 - d0
		extraSessions += s1 - s0
		start := time.Now()
		if out, err := c.Exec(ctx, shell.Join(readArgv...), nil); err != nil || out.ExitCode != 0 {
			b.Fatalf("bare session: exit %d, %v", out.ExitCode, err)
		}
		session += time.Since(start)
		n++
	}
	b.ReportMetric(float64(extra.Nanoseconds())/float64(n*extraTasks), "ns/extra-task")
	b.ReportMetric(float64(extraSessions)/float64(n*extraTasks), "sessions/extra-task")
	b.ReportMetric(float64(session.Nanoseconds())/float64(n), "ns/session")
}

// BenchmarkAuditAspera is one `remedy audit aspera-server -e alee=true`
// over a lab of every firewall profile, through the runner as the CLI
// drives it: the run to profile with -cpuprofile and -memprofile.
func BenchmarkAuditAspera(b *testing.B) {
	lab := labkit.New(b, labkit.Options{Hosts: len(labkit.Profiles)})
	keys, err := NewHostKeys([]string{lab.KnownHosts}, filepath.Join(b.TempDir(), "known_hosts"), false)
	if err != nil {
		b.Fatal(err)
	}
	aspera, _ := playbooks.Lookup("aspera-server")
	pb, err := lua.Load(lua.Source{Text: aspera.Source, Name: aspera.File, Dir: lua.Dir{FS: aspera.Dir, Name: aspera.DirName}},
		lua.LoadOptions{Shipped: lua.Dir{FS: playbooks.Lib, Name: playbooks.LibName}})
	if err != nil {
		b.Fatal(err)
	}
	play := func(ctx context.Context, h remote.Host, p HostPlay) error {
		return pb.Run(ctx, h, lua.RunOptions{Check: true, Diff: true, Vars: p.Vars, Gather: true, Start: p.Start,
			ExtraVars: map[string]any{"alee": true}}, p.Emit)
	}
	var hosts []Host
	for _, h := range lab.Hosts {
		hosts = append(hosts, Host{Target: labTarget(lab, h)})
	}
	o := Options{Forks: len(hosts), MaxFailPercent: -1, ConnectTimeout: 10 * time.Second,
		HostKeys: keys, Credentials: &Credentials{}}
	obs := &countingObserver{}
	for b.Loop() {
		recap, _ := Run(b.Context(), recap.Play{Name: pb.Name(), Check: true, Diff: true, Audit: true, Started: time.Now()}, hosts, play, o, obs)
		for _, h := range recap.Hosts {
			if h.Unreachable {
				b.Fatalf("%s unreachable: %v", h.Host, h.Err)
			}
		}
	}
	b.ReportMetric(float64(obs.commands)/float64(obs.hosts), "sessions/host")
}

func benchConn(b *testing.B, lab *labkit.Lab, h labkit.Host, trace func(recap.Command)) *Conn {
	b.Helper()
	keys, err := NewHostKeys([]string{lab.KnownHosts}, filepath.Join(b.TempDir(), "known_hosts"), false)
	if err != nil {
		b.Fatal(err)
	}
	d := &dialer{creds: &Credentials{}, keys: keys, timeout: 10 * time.Second}
	c, err := connect(b.Context(), labTarget(lab, h), d, nil, time.Minute, 0, trace)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func labTarget(lab *labkit.Lab, h labkit.Host) Target {
	return Target{Name: h.Name, Endpoint: Endpoint{Addr: h.Addr, Port: 22, User: "root",
		KeyFiles: []string{lab.Key}, explicitKey: true}}
}

// readPlaybook writes and loads a playbook of n read-only tasks.
func readPlaybook(b *testing.B, n int) *lua.Playbook {
	b.Helper()
	var src strings.Builder
	src.WriteString("return { name = \"bench\", hosts = \"all\", tasks = {\n")
	for i := range n {
		fmt.Fprintf(&src, "  { name = \"read %d\", run = function() return cmd.query({%q, %q}).stdout end },\n",
			i, readArgv[0], readArgv[1])
	}
	src.WriteString("} }\n")
	path := filepath.Join(b.TempDir(), fmt.Sprintf("read-%d.lua", n))
	if err := os.WriteFile(path, []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	file, err := lua.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	pb, err := lua.Load(file, lua.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return pb
}

// runChecked gathers facts and runs pb in check mode, and fails the
// benchmark unless every task was ok.
func runChecked(ctx context.Context, b *testing.B, pb *lua.Playbook, h remote.Host) {
	err := pb.Run(ctx, h, lua.RunOptions{Check: true, Gather: true}, func(r remote.Result) {
		if r.Status != remote.StatusOK {
			b.Fatalf("%s: %s: %s", r.Name, r.Status, r.Msg)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
}

// countingObserver counts hosts and remote commands, and shows nothing.
type countingObserver struct {
	hosts, commands int
}

func (o *countingObserver) Start(recap.Play)          {}
func (o *countingObserver) HostStarted(string)        { o.hosts++ }
func (o *countingObserver) Command(recap.Command)     { o.commands++ }
func (o *countingObserver) Log(string, string)        {}
func (o *countingObserver) Result(remote.Result)      {}
func (o *countingObserver) HostDone(recap.HostReport) {}
func (o *countingObserver) End(recap.Recap)           {}
