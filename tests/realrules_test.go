package tests

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"remedy/lua/firewall"
	"remedy/tests/lab/labkit"
)

// asperaProbes are probed on every ruleset: the ports an Aspera server
// needs in (ASPERA.md), the FASP range whole, and those a client and the
// licensing check need out.
var asperaProbes = func() []realProbe {
	ps := []realProbe{{"in", "tcp", 22}, {"in", "tcp", 33001}, {"in", "tcp", 8443}, {"in", "tcp", 8080}, {"in", "udp", 55001},
		{"out", "tcp", 22}, {"out", "tcp", 33001}, {"out", "tcp", 443}, {"out", "udp", 33001}, {"out", "udp", 33010}}
	for p := 33001; p <= 33010; p++ {
		ps = append(ps, realProbe{"in", "udp", p})
	}
	return ps
}()

// maxNamedPorts bounds the ports of a ruleset probed besides Aspera's,
// each in and out over TCP and UDP, to keep a ruleset's probes to one
// round.
const maxNamedPorts = 24

type realProbe struct {
	dir, proto string
	port       int
}

func (p realProbe) String() string { return fmt.Sprintf("%s %s/%d", p.dir, p.proto, p.port) }

// realCase is one ruleset of tests/realrules loaded one way, or a few
// loaded together.
type realCase struct {
	name  string // "nft/archlinux-default", "ipt/vagrantshell (iptables-legacy)"
	loads []realLoad
}

// realLoad is one ruleset and the command that loads it.
type realLoad struct {
	text   string
	loader string // the command that loads text from standard input
	prep   string // what its "# rw-" header lines ask of the host
}

// realMixes load two rulesets at once, as a host holds them when a
// distribution's nftables ruleset meets Docker's, ufw's or fail2ban's
// iptables rules: legacy and nftables hooks both see every packet.
var realMixes = [][2]string{
	{"nft/archlinux-default", "ipt/docker-usernet-portmap (iptables-legacy)"},
	{"nft/fail2ban-nftables-generated", "ipt/ufw-fail2ban-generated (iptables-legacy)"},
	{"nft/debian-he-hardened", "ipt/docker-new-daemon (iptables-nft)"},
	{"nft/catatsuy-org", "ipt/oracle-cloud-default (iptables-legacy)"},
}

// realCases lists every ruleset of the corpus: nftables files once,
// iptables dumps through both iptables backends, and the mixes.
func realCases(t *testing.T) []realCase {
	t.Helper()
	var cases []realCase
	for _, dir := range []string{"nft", "ipt"} {
		files, err := filepath.Glob(filepath.Join("realrules", dir, "*"))
		if err != nil || len(files) == 0 {
			t.Fatalf("realrules/%s: no rulesets (%v)", dir, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			name := dir + "/" + strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
			prep := rwHeaders(string(b))
			if dir == "nft" {
				cases = append(cases, realCase{name, []realLoad{{string(b), "nft -f -", prep}}})
				continue
			}
			for _, v := range []string{"iptables-nft", "iptables-legacy"} {
				cases = append(cases, realCase{name + " (" + v + ")", []realLoad{{string(b), v + "-restore", prep}}})
			}
		}
	}
	for _, mix := range realMixes {
		c := realCase{name: mix[0] + " + " + mix[1]}
		for _, name := range mix {
			i := slices.IndexFunc(cases, func(c realCase) bool { return c.name == name })
			if i < 0 {
				t.Fatalf("mix %s: no such ruleset", name)
			}
			c.loads = append(c.loads, cases[i].loads...)
		}
		cases = append(cases, c)
	}
	if only := os.Getenv("REMEDY_REALRULES_ONLY"); only != "" {
		// A tester's own rulesets, or the ones a fix is about: the
		// cases whose name matches this regexp.
		re, err := regexp.Compile(only)
		if err != nil {
			t.Fatalf("REMEDY_REALRULES_ONLY: %v", err)
		}
		cases = slices.DeleteFunc(cases, func(c realCase) bool { return !re.MatchString(c.name) })
	}
	return cases
}

// rwHeaders turns a ruleset's "# rw-" lines into shell: users, groups and
// interfaces its rules name (veths: this kernel has no dummy driver), and
// ipsets its rules match.
func rwHeaders(text string) string {
	var sh []string
	for _, line := range strings.Split(text, "\n") {
		key, val, ok := strings.Cut(strings.TrimPrefix(line, "# rw-"), ":")
		if !ok || !strings.HasPrefix(line, "# rw-") {
			continue
		}
		for _, w := range strings.Fields(val) {
			switch key {
			case "users":
				sh = append(sh, fmt.Sprintf("getent passwd %[1]s >/dev/null || useradd -r -M -N -s /usr/sbin/nologin %[1]s", w))
			case "groups":
				sh = append(sh, fmt.Sprintf("getent group %[1]s >/dev/null || groupadd -r %[1]s", w))
			case "ifaces":
				sh = append(sh, fmt.Sprintf("ip link show %[1]s >/dev/null 2>&1 || { ip link add %[1]s type veth && ip link set %[1]s up; }", w))
			}
		}
		if key == "ipset" {
			sh = append(sh, "ipset -exist "+strings.TrimSpace(val))
		}
	}
	return strings.Join(sh, "\n")
}

// flushScript empties every table the host holds: nftables (with
// iptables-nft's tables), each legacy table with its built-in chains back
// to ACCEPT, then the ipsets. Dynamic state (recent lists, limits, set
// elements added by rules) goes with the rules that held it.
const flushScript = `nft flush ruleset
for v in "" 6; do
  n=/proc/net/ip${v}_tables_names
  grep -q . $n 2>/dev/null || continue
  for t in $(cat $n); do
    printf '*%s\n' $t
    ip${v}tables-legacy-save -t $t | sed -n 's/^\(:[^ ]*\) [A-Z][A-Z]* .*/\1 ACCEPT [0:0]/p'
    echo COMMIT
  done | ip${v}tables-legacy-restore
done
ipset destroy 2>/dev/null
true
`

// readScript prints, after marker lines, what the kernel holds and the
// host's addressing: what the firewall module reads, and what the
// controller builds a probe from.
const readScript = `echo ==nft; nft -j list ruleset
echo ==nft4; iptables-nft-save 2>/dev/null
echo ==nft6; ip6tables-nft-save 2>/dev/null
echo ==legacy4; grep -q . /proc/net/ip_tables_names 2>/dev/null && iptables-legacy-save
echo ==legacy6; grep -q . /proc/net/ip6_tables_names 2>/dev/null && ip6tables-legacy-save
echo ==ipset; ipset save
echo ==addr; ip -j addr
echo ==route; ip -j route get "$1"
true
`

// TestRealRulesOnLab loads each ruleset of tests/realrules (real rulesets
// people and tools wrote) on a lab host, reads back what the kernel holds
// as the firewall module does, and compares the verdict engine with real
// packets between the controller and the host, in and out: TCP
// connected, refused or timed out; UDP received, refused or unanswered.
// An answered verdict must agree; at most 5% may be unknown. See
// docs/firewall.md.
func TestRealRulesOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 6, Profiles: []string{"none"}})
	peer := newRealPeer(t, controllerAddr(t, lab.Hosts[0].Addr))
	var hosts []*realHost
	for _, h := range lab.Hosts {
		hosts = append(hosts, newRealHost(t, lab, h, peer))
	}
	tally := &realTally{}
	eachCase(hosts, realCases(t), func(rh *realHost, c realCase) { rh.run(t, c, tally) })
	tally.report(t)
}

// realTally counts how the engine's verdicts compare with the packets.
type realTally struct {
	mu                       sync.Mutex
	agree, disagree, unknown int
	notDecided               int // probes no firewall decided (the lab failed them)
	unloadable               []string
	unknowns                 map[string]int     // reason -> probes
	byCase                   map[string]*[3]int // ruleset -> agree, disagree, unknown
}

// addNotDecided counts a probe the lab, not a firewall, failed.
func (r *realTally) addNotDecided() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notDecided++
}

// add counts one probe; false means an answered verdict disagrees.
func (r *realTally) add(c realCase, predicted firewall.Result, observed string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byCase == nil {
		r.byCase = map[string]*[3]int{}
	}
	n := r.byCase[c.name]
	if n == nil {
		n = &[3]int{}
		r.byCase[c.name] = n
	}
	switch {
	case predicted.Verdict == firewall.VerdictUnknown:
		n[2]++
		r.unknown++
		if r.unknowns == nil {
			r.unknowns = map[string]int{}
		}
		r.unknowns[c.name+": "+predicted.Reason]++
		return true
	case agrees(predicted.Verdict, observed):
		n[0]++
		r.agree++
		return true
	}
	n[1]++
	r.disagree++
	return false
}

// agrees compares a verdict with what a packet met. A packet the engine
// says is forwarded never reaches a listener here: lab hosts do not
// forward, and the addresses rulesets forward to are not on the lab.
func agrees(verdict, observed string) bool {
	if verdict == firewall.VerdictForward {
		return observed != firewall.VerdictAccept
	}
	return verdict == observed
}

func (r *realTally) report(t *testing.T) {
	total := r.agree + r.disagree + r.unknown
	if total == 0 {
		t.Fatal("no probe was answered")
	}
	rate := 100 * float64(r.unknown) / float64(total)
	reasons := make([]string, 0, len(r.unknowns))
	for k, n := range r.unknowns {
		reasons = append(reasons, fmt.Sprintf("%3d  %s", n, k))
	}
	sort.Sort(sort.Reverse(sort.StringSlice(reasons)))
	names := make([]string, 0, len(r.byCase))
	for name := range r.byCase {
		names = append(names, name)
	}
	sort.Strings(names)
	perCase := []string{"probes agree disagree unknown  ruleset"}
	for _, name := range names {
		n := r.byCase[name]
		perCase = append(perCase, fmt.Sprintf("%6d %5d %8d %7d  %s", n[0]+n[1]+n[2], n[0], n[1], n[2], name))
	}
	t.Logf("by ruleset:\n  %s", strings.Join(perCase, "\n  "))
	t.Logf("real rulesets: %d probes; %d agree, %d disagree, %d unknown (%.1f%%), %d met no verdict; %d rulesets cannot load here:\n  %s\nunknown, by ruleset and reason:\n  %s",
		total, r.agree, r.disagree, r.unknown, rate, r.notDecided, len(r.unloadable),
		strings.Join(r.unloadable, "\n  "), strings.Join(reasons, "\n  "))
	if rate > 5 {
		t.Errorf("%.1f%% of probes unknown, want at most 5%%", rate)
	}
}

// realHost is a lab host that takes one ruleset after another, with
// listeners on every port probed so far.
type realHost struct {
	lab  *labkit.Lab
	h    labkit.Host
	peer *realPeer
	mu   sync.Mutex
	open map[realProbe]bool // false: another socket holds the port
	seen map[[2]int]bool    // UDP source and destination ports of each datagram a listener received
	held closers
}

func newRealHost(t *testing.T, lab *labkit.Lab, h labkit.Host, peer *realPeer) *realHost {
	// Linux limits the ICMP errors a host sends; a reject must not look
	// like a drop.
	labSh(t, lab, h.Name, "sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=100000 net.ipv4.icmp_msgs_burst=100000")
	rh := &realHost{lab: lab, h: h, peer: peer, open: map[realProbe]bool{}, seen: map[[2]int]bool{}}
	t.Cleanup(rh.held.close)
	return rh
}

// realPeer is the controller's end: the source of probes in, and the
// listeners probes out reach, on its lab address.
type realPeer struct {
	addr netip.Addr
	mu   sync.Mutex
	open map[realProbe]bool // false: another socket holds the port
	seen map[[3]int]bool    // last byte of the sender, its port and the destination port of each datagram received
	held closers
}

// newRealPeer listens on addr, the controller's lab address, until the
// test ends: a later test on the same address needs the ports free.
func newRealPeer(t *testing.T, addr netip.Addr) *realPeer {
	peer := &realPeer{addr: addr, open: map[realProbe]bool{}, seen: map[[3]int]bool{}}
	t.Cleanup(peer.held.close)
	return peer
}

// closers are the listeners a test opened, closed when it ends.
type closers []io.Closer

func (c *closers) close() {
	for _, l := range *c {
		l.Close()
	}
	*c = nil
}

// run loads c on the host and compares every probe.
func (rh *realHost) run(t *testing.T, c realCase, tally *realTally) {
	reads, err := rh.load(c)
	if err != nil {
		parseWithoutCrash(c)
		tally.mu.Lock()
		tally.unloadable = append(tally.unloadable, fmt.Sprintf("%s: %s", c.name, loadError(err)))
		tally.mu.Unlock()
		return
	}
	model, err := rh.model(reads)
	if err != nil {
		t.Errorf("%s: %v", c.name, err)
		return
	}
	texts := []string{reads["nft"], reads["nft4"] + reads["legacy4"]}
	for _, l := range c.loads {
		texts = append(texts, l.text)
	}
	probes := append(slices.Clone(asperaProbes), namedProbes(texts...)...)
	probes, err = rh.listen(probes)
	if err != nil {
		t.Errorf("%s: %s: %v", c.name, rh.h.Name, err)
		return
	}
	var wg sync.WaitGroup
	results := make([]string, len(probes))
	for i, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = rh.send(p, 700*time.Millisecond)
		}()
	}
	wg.Wait()
	for i, p := range probes {
		predicted, observed := model.verdict(p), results[i]
		if strings.HasPrefix(observed, noVerdict) {
			tally.addNotDecided()
			t.Errorf("%s, %s: the lab, not the firewall: %s", c.name, p, observed)
			continue
		}
		if !settled(predicted, observed) {
			if predicted, observed, err = rh.recheck(c, p); err != nil {
				t.Errorf("%s: recheck %s: %v", c.name, p, err)
				continue
			}
		}
		if strings.HasPrefix(observed, noVerdict) {
			tally.addNotDecided()
			t.Errorf("%s, %s: the lab, not the firewall, on a second look: %s (first look: %s)", c.name, p, observed, results[i])
			continue
		}
		if !tally.add(c, predicted, observed) {
			t.Errorf("%s, %s: engine says %s (%s), the packet was %s (first look: %s)",
				c.name, p, predicted.Verdict, predicted.Reason, observed, results[i])
		}
	}
}

// settled reports an unknown verdict or one the packet agrees with.
func settled(predicted firewall.Result, observed string) bool {
	return predicted.Verdict == firewall.VerdictUnknown || agrees(predicted.Verdict, observed)
}

// recheck looks again at a disagreement, slowly and alone, on the ruleset
// freshly loaded: a loaded machine can hold an answer past the short
// timeout, and the other probes may have changed what a rule remembers
// (a recent list, a dynamic set, a rate limit).
func (rh *realHost) recheck(c realCase, p realProbe) (firewall.Result, string, error) {
	reads, err := rh.load(c)
	if err != nil {
		return firewall.Result{}, "", err
	}
	model, err := rh.model(reads)
	if err != nil {
		return firewall.Result{}, "", err
	}
	return model.verdict(p), rh.send(p, 3*time.Second), nil
}

// load empties the host, prepares what the ruleset's headers ask for,
// loads it and reads back what the kernel holds.
func (rh *realHost) load(c realCase) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	script := flushScript
	for _, l := range c.loads {
		script += l.prep + "\n" + l.loader + " <<'REMEDY_EOF'\n" + l.text + "\nREMEDY_EOF\n"
	}
	if out, err := rh.lab.Exec(ctx, rh.h.Name, "sh", "-c", script); err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	out, err := rh.lab.Exec(ctx, rh.h.Name, "sh", "-c", readScript, "sh", rh.peer.addr.String())
	if err != nil {
		return nil, err
	}
	return splitReads(string(out)), nil
}

func splitReads(out string) map[string]string {
	reads := map[string]string{}
	var cur string
	for _, line := range strings.SplitAfter(out, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "=="); ok && !strings.Contains(name, " ") {
			cur = name
			continue
		}
		reads[cur] += line
	}
	return reads
}

// realModel is a host's ruleset and addressing as the engine reads them.
type realModel struct {
	rs    *firewall.Ruleset
	host  firewall.Addressing
	route firewall.Route
	peer  netip.Addr
}

func (rh *realHost) model(reads map[string]string) (*realModel, error) {
	rs, _, err := firewall.ReadKernel(firewall.KernelReads{
		Nft:         []byte(reads["nft"]),
		NftSave:     []byte(reads["nft4"]),
		NftSave6:    []byte(reads["nft6"]),
		LegacySave:  []byte(reads["legacy4"]),
		LegacySave6: []byte(reads["legacy6"]),
		Ipset:       []byte(reads["ipset"]),
	})
	if err != nil {
		return nil, err
	}
	host, err := firewall.ReadIPAddr([]byte(reads["addr"]))
	if err != nil {
		return nil, err
	}
	route, err := firewall.ReadRouteGet([]byte(reads["route"]))
	if err != nil {
		return nil, err
	}
	return &realModel{rs: rs, host: host, route: route, peer: rh.peer.addr}, nil
}

// verdict asks the engine about p. The test's own sockets, the listeners
// in the host and the senders out, are root's.
func (m *realModel) verdict(p realProbe) firewall.Result {
	pkt := m.host.Packet(m.route, firewall.Probe{Dir: p.dir, Proto: p.proto, Port: p.port, Peer: m.peer})
	pkt.Owner = &firewall.Owner{}
	return firewall.Verdict(m.rs, pkt)
}

// parseWithoutCrash reads a ruleset the kernel would not load, as the
// readers would meet its text: an error is fine, a panic is not.
func parseWithoutCrash(c realCase) {
	for _, l := range c.loads {
		firewall.ReadNft([]byte(l.text))
		for _, fam := range []string{"ip", "ip6"} {
			firewall.ReadIptablesSave([]byte(l.text), fam)
		}
	}
}

// loadError is the loader's own complaint, first line.
func loadError(err error) string {
	s := err.Error()
	if _, rest, ok := strings.Cut(s, "exit status "); ok {
		_, s, _ = strings.Cut(rest, ": ")
	}
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// namedPort finds the ports a ruleset names: in its text, and in what the
// kernel shows of it (nft's JSON, iptables-save); "tcp . 3001" is a
// port in a concatenation's element (kube-proxy's NodePort map).
var namedPort = regexp.MustCompile(`(?:dports?|--dports?|--destination-ports?|--to-ports?|to-destination [0-9.]*:|redirect to :|to :|"port":|(?:tcp|udp) \.)\s*(\{[^}]*\}|[0-9][0-9,:\-]*)`)

// namedProbes are the ports a ruleset names besides Aspera's, over TCP and
// UDP: each port, and both ends of each range.
func namedProbes(texts ...string) []realProbe {
	ports := map[int]bool{}
	for _, text := range texts {
		for _, m := range namedPort.FindAllStringSubmatch(text, -1) {
			for _, n := range regexp.MustCompile(`[0-9]+`).FindAllString(m[1], -1) {
				if p, err := strconv.Atoi(n); err == nil && p > 0 && p < 65536 {
					ports[p] = true
				}
			}
		}
	}
	for _, a := range asperaProbes {
		delete(ports, a.port)
	}
	delete(ports, 2024) // the machine's own listener
	list := make([]int, 0, len(ports))
	for p := range ports {
		list = append(list, p)
	}
	sort.Ints(list)
	if len(list) > maxNamedPorts {
		// Keep ports across the whole list, not only the low ones.
		step := float64(len(list)) / maxNamedPorts
		var picked []int
		for i := range maxNamedPorts {
			picked = append(picked, list[int(float64(i)*step)])
		}
		list = picked
	}
	var out []realProbe
	for _, p := range list {
		for _, dir := range []string{"in", "out"} {
			out = append(out, realProbe{dir, "tcp", p}, realProbe{dir, "udp", p})
		}
	}
	return out
}

// listen opens a listener on every probed port that has none yet: inside
// the host for probes in, on the controller's lab address for probes out.
// TCP accepts; UDP notes each datagram's sender and echoes it. tcp/22 in
// is sshd's. It returns the probes that can be observed: not a port
// another socket holds (a probe's own connection, say).
func (rh *realHost) listen(probes []realProbe) ([]realProbe, error) {
	rh.mu.Lock()
	defer rh.mu.Unlock()
	var out []realProbe
	err := rh.lab.InHost(rh.h.Name, func() error {
		for _, p := range probes {
			_, tried := rh.open[p]
			if p.dir == "in" && !tried && (p != realProbe{"in", "tcp", 22}) {
				l, err := listenOn(netip.IPv4Unspecified(), p, func(from *net.UDPAddr) {
					rh.mu.Lock()
					rh.seen[[2]int{from.Port, p.port}] = true
					rh.mu.Unlock()
				})
				if rh.open[p] = err == nil; err == nil {
					rh.held = append(rh.held, l)
				}
			}
			if p.dir == "out" || rh.open[p] || (p == realProbe{"in", "tcp", 22}) {
				out = append(out, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rh.peer.listen(out), nil
}

func (peer *realPeer) listen(probes []realProbe) []realProbe {
	peer.mu.Lock()
	defer peer.mu.Unlock()
	var out []realProbe
	for _, p := range probes {
		if p.dir == "out" {
			if _, tried := peer.open[p]; !tried {
				l, err := listenOn(peer.addr, p, func(from *net.UDPAddr) {
					peer.mu.Lock()
					peer.seen[[3]int{int(from.IP.To4()[3]), from.Port, p.port}] = true
					peer.mu.Unlock()
				})
				if peer.open[p] = err == nil; err == nil {
					peer.held = append(peer.held, l)
				} // held by another socket (a connection's own port): not observable
			}
			if !peer.open[p] {
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// listenOn opens p's listener on addr.
func listenOn(addr netip.Addr, p realProbe, received func(*net.UDPAddr)) (io.Closer, error) {
	hostport := net.JoinHostPort(addr.String(), strconv.Itoa(p.port))
	if p.proto == "tcp" {
		l, err := net.Listen("tcp4", hostport)
		if err != nil {
			return nil, err
		}
		go acceptAll(l)
		return l, nil
	}
	c, err := net.ListenPacket("udp4", hostport)
	if err != nil {
		return nil, err
	}
	go echo(c, received)
	return c, nil
}

func acceptAll(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func echo(c net.PacketConn, received func(*net.UDPAddr)) {
	buf := make([]byte, 512)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		if u, ok := from.(*net.UDPAddr); ok {
			received(u)
		}
		c.WriteTo(buf[:n], from)
	}
}

// send sends one probe and says what it met (observe): a TCP connection
// or a UDP datagram the listener received is an accept. A probe out is
// sent from inside the host. The listeners are the test's own sockets,
// held from before the first probe to the test's end: a reset or a port
// unreachable is not a listener missing.
func (rh *realHost) send(p realProbe, timeout time.Duration) string {
	if p.dir == "in" {
		return sendProbe(rh.h.Addr, p, timeout, func(from int) bool { return rh.received(from, p.port) })
	}
	var observed string
	err := rh.lab.InHost(rh.h.Name, func() error {
		host := netip.MustParseAddr(rh.h.Addr).As4()
		observed = sendProbe(rh.peer.addr.String(), p, timeout, func(from int) bool { return rh.peer.received(host[3], from, p.port) })
		return nil
	})
	if err != nil {
		return noVerdict + err.Error()
	}
	return observed
}

// sendProbe connects, or sends a datagram and waits for its echo.
func sendProbe(addr string, p realProbe, timeout time.Duration, received func(from int) bool) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return noVerdict + err.Error()
	}
	to := netip.AddrPortFrom(ip, uint16(p.port))
	if p.proto == "tcp" {
		return observe(labkit.ProbeTCP(to, timeout))
	}
	_, local, err := labkit.ProbeUDP(to, []byte("remedy realrules probe"), timeout)
	if received(int(local.Port())) {
		return firewall.VerdictAccept
	}
	return observe(err)
}

// received reports, once, whether a listener in the host got the datagram.
func (rh *realHost) received(from, to int) bool {
	rh.mu.Lock()
	defer rh.mu.Unlock()
	k := [2]int{from, to}
	defer delete(rh.seen, k)
	return rh.seen[k]
}

// received reports, once, whether the controller got host's datagram.
func (peer *realPeer) received(host byte, from, to int) bool {
	peer.mu.Lock()
	defer peer.mu.Unlock()
	k := [3]int{int(host), from, to}
	defer delete(peer.seen, k)
	return peer.seen[k]
}
