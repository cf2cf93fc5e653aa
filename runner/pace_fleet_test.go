package runner

import (
	"context"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// slowFleet is one in-process sshd on the loopback that many inventory
// hosts share, whose handshakes cost work time on a machine of a few
// cores: each new connection waits for a core, keeps it for cost, and
// only then is answered, as sshd's fork and key exchange queue up on a
// loaded controller and lab.
type slowFleet struct {
	addr string
	port int
	key  ssh.Signer
}

func newSlowFleet(t *testing.T, cores int, cost time.Duration) *slowFleet {
	t.Helper()
	cfg, key := openSSHServer(t)
	cpu := make(chan struct{}, cores)
	a := loopbackServer(t, func(conn net.Conn) {
		defer conn.Close()
		cpu <- struct{}{}
		time.Sleep(cost)
		<-cpu
		serveTrue(conn, cfg)
	})
	return &slowFleet{addr: a.IP.String(), port: a.Port, key: key}
}

// serveTrue answers every command with exit status 0 and no output.
func serveTrue(conn net.Conn, cfg *ssh.ServerConfig) {
	sc, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, reqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			for req := range reqs {
				req.Reply(req.Type == "exec", nil)
				if req.Type == "exec" {
					ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, 0))
					ch.Close()
				}
			}
		}()
	}
}

// With many hosts at once and handshakes that queue for the machine's
// cores, every host is still audited: a host waits for its turn to
// handshake, and --timeout counts from the start of its own. Started all
// at once, 200 handshakes of 20 ms on 2 cores take 2 s, and every host
// queued past the first second was reported unreachable.
func TestQueuedHostsAreNotUnreachable(t *testing.T) {
	const hosts = 200
	fleet := newSlowFleet(t, 2, 20*time.Millisecond)
	line := knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort(fleet.addr, strconv.Itoa(fleet.port)))}, fleet.key.PublicKey())
	known := writeKnownHosts(t, line)
	keys, err := NewHostKeys([]string{known}, known, false)
	if err != nil {
		t.Fatal(err)
	}
	var targets []Host
	for i := range hosts {
		targets = append(targets, Host{Target: Target{Name: "h" + strconv.Itoa(i),
			Endpoint: Endpoint{Addr: fleet.addr, Port: fleet.port, User: "root"}}})
	}
	play := func(ctx context.Context, h remote.Host, p HostPlay) error {
		_, err := h.Exec(ctx, "true", nil)
		return err
	}
	o := Options{Forks: hosts, MaxFailPercent: -1, ConnectTimeout: time.Second, HostKeys: keys, Credentials: &Credentials{}}
	start := time.Now()
	r, _ := Run(t.Context(), recap.Play{Name: "slow fleet", Started: start}, targets, play, o, &countingObserver{})
	unreachable := 0
	for _, h := range r.Hosts {
		if h.Unreachable {
			if unreachable == 0 {
				t.Errorf("%s: %v", h.Host, h.Err)
			}
			unreachable++
		}
	}
	if unreachable > 0 || len(r.Hosts) != hosts {
		t.Fatalf("%d of %d hosts unreachable, %d reported, in %v: queued hosts must wait their turn, not time out",
			unreachable, hosts, len(r.Hosts), time.Since(start).Round(time.Millisecond))
	}
	t.Logf("%d hosts in %v", hosts, time.Since(start).Round(time.Millisecond))
}

// silentFirst is an sshd on the loopback that takes its first n
// connections and never answers them, as a host does whose CPU or
// network is swamped, and serves every later one.
func silentFirst(t *testing.T, n int) (*slowFleet, *atomic.Int32) {
	t.Helper()
	cfg, key := openSSHServer(t)
	var accepted atomic.Int32
	a := loopbackServer(t, func(conn net.Conn) {
		if accepted.Add(1) <= int32(n) {
			t.Cleanup(func() { conn.Close() })
			return
		}
		defer conn.Close()
		serveTrue(conn, cfg)
	})
	return &slowFleet{addr: a.IP.String(), port: a.Port, key: key}, &accepted
}

func (f *slowFleet) dialer(t *testing.T, timeout time.Duration) (*dialer, Target) {
	line := knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort(f.addr, strconv.Itoa(f.port)))}, f.key.PublicKey())
	known := writeKnownHosts(t, line)
	keys, err := NewHostKeys([]string{known}, known, false)
	if err != nil {
		t.Fatal(err)
	}
	d := &dialer{creds: &Credentials{}, keys: keys, timeout: timeout, pace: newPacer(DefaultMaxHandshakes)}
	return d, Target{Name: "h1", Endpoint: Endpoint{Addr: f.addr, Port: f.port, User: "root"}}
}

// Handshakes that time out together are the crowd's doing: each is tried
// once more, and gets through. One that times out alone is its host's,
// and is not tried again.
func TestCrowdedHandshakesAreTriedAgain(t *testing.T) {
	const timeout = time.Second // a handshake on a loaded machine takes well under it
	fleet, accepted := silentFirst(t, 4)
	d, target := fleet.dialer(t, timeout)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			l, err := d.dial(t.Context(), target)
			if err == nil {
				l.close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("a handshake that timed out with three others: %v", err)
		}
	}
	if n := accepted.Load(); n != 8 {
		t.Errorf("the server saw %d connections, want 8: four timed out, four tried again", n)
	}

	lone, accepted := silentFirst(t, 1)
	d, target = lone.dialer(t, timeout)
	if _, err := d.dial(t.Context(), target); err == nil || !strings.Contains(err.Error(), "--timeout") {
		t.Errorf("a lone silent host: %v, want its timeout", err)
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("a lone silent host was dialled %d times, want once", n)
	}
}
