package labkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// One lab serves the whole package: every profile, each firewall also
// egress-restricted, and a hidden host behind h1.
var (
	sharedOnce sync.Once
	sharedLab  *Lab
)

var sharedProfiles = []string{
	"nftables", "iptables-legacy", "iptables-nft", "firewalld", "ufw", "none",
	"nftables+egress", "iptables-legacy+egress", "iptables-nft+egress", "firewalld+egress", "ufw+egress",
}

func labForTest(t *testing.T) *Lab {
	t.Helper()
	RequireLab(t)
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "labkit-test-")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		sharedLab, err = Up(ctx, Options{Dir: dir + "/lab", Hosts: len(sharedProfiles), Profiles: sharedProfiles, Hidden: 1, Ephemeral: true})
		if err != nil {
			t.Fatalf("lab up: %v", err)
		}
	})
	if sharedLab == nil {
		t.Fatal("the shared lab failed to come up")
	}
	return sharedLab
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedLab != nil {
		if err := Down(sharedLab.Dir); err != nil {
			fmt.Fprintln(os.Stderr, "lab down:", err)
			code = 1
		}
		os.Remove(strings.TrimSuffix(sharedLab.Dir, "/lab"))
	}
	os.Exit(code)
}

// clientConfig logs in like remedy will: the lab key, and host keys
// checked against the lab's known_hosts.
func clientConfig(l *Lab, user string) (*ssh.ClientConfig, error) {
	key, err := os.ReadFile(l.Key)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return nil, err
	}
	check, err := knownhosts.New(l.KnownHosts)
	if err != nil {
		return nil, err
	}
	return &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: check,
		Timeout:         10 * time.Second,
	}, nil
}

// sshClient logs in to h with clientConfig. A hidden host is dialled
// through h1.
func sshClient(t *testing.T, l *Lab, user string, h Host) *ssh.Client {
	t.Helper()
	cfg, err := clientConfig(l, user)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(h.Addr, "22")
	if !h.Hidden {
		c, err := ssh.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatalf("%s: ssh %s@%s: %v", h.Name, user, addr, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	jump := sshClient(t, l, "root", l.Hosts[0])
	conn, err := jump.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("%s: dial %s through %s: %v", h.Name, addr, l.Hosts[0].Name, err)
	}
	cc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		t.Fatalf("%s: ssh %s@%s through %s: %v", h.Name, user, addr, l.Hosts[0].Name, err)
	}
	c := ssh.NewClient(cc, chans, reqs)
	t.Cleanup(func() { c.Close() })
	return c
}

func sshRun(t *testing.T, c *ssh.Client, cmd string) (string, error) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return strings.TrimSpace(string(out)), err
}

func TestEveryHostAnswersSSHWithTheLabKey(t *testing.T) {
	l := labForTest(t)
	for _, h := range l.Hosts {
		t.Run(h.Name, func(t *testing.T) {
			t.Parallel()
			out, err := sshRun(t, sshClient(t, l, "root", h), "hostname && id -u")
			if err != nil || out != h.Name+"\n0" {
				t.Fatalf("%s (%s): hostname && id -u = %q, %v; want %q", h.Name, h.Profile, out, err, h.Name+"\n0")
			}
		})
	}
}

func TestPlainSSHChecksHostKeysStrictly(t *testing.T) {
	l := labForTest(t)
	for _, h := range l.Hosts {
		if h.Hidden {
			continue
		}
		t.Run(h.Name, func(t *testing.T) {
			t.Parallel()
			args := append(l.sshOptions(), "-o", "BatchMode=yes", "-i", l.Key, "root@"+h.Addr, "true")
			if out, err := exec.Command("ssh", args...).CombinedOutput(); err != nil {
				t.Fatalf("ssh %s: %v: %s", strings.Join(args, " "), err, out)
			}
		})
	}
	t.Run("unknown host key is refused", func(t *testing.T) {
		empty := t.TempDir() + "/known_hosts"
		if err := os.WriteFile(empty, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"-F", "/dev/null", "-o", "UserKnownHostsFile=" + empty, "-o", "StrictHostKeyChecking=yes",
			"-o", "BatchMode=yes", "-i", l.Key, "root@" + l.Hosts[0].Addr, "true"}
		out, err := exec.Command("ssh", args...).CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte("Host key verification failed")) {
			t.Fatalf("ssh with an empty known_hosts: %v: %s; want host key verification to fail", err, out)
		}
	})
}

func TestOpsNeedsItsPasswordForSudo(t *testing.T) {
	l := labForTest(t)
	c := sshClient(t, l, l.OpsUser, l.Hosts[0])
	if out, err := sshRun(t, c, "sudo -n true"); err == nil {
		t.Fatalf("sudo -n as ops succeeded (%q); want a password prompt", out)
	}
	out, err := sshRun(t, c, "echo "+l.OpsPassword+" | sudo -S -p '' id -u")
	if err != nil || out != "0" {
		t.Fatalf("sudo with the ops password: %q, %v; want 0", out, err)
	}
}

// A file written over SSH under any of the host's own directories lands on
// that host alone.
func TestFilesArePrivateToEachHost(t *testing.T) {
	l := labForTest(t)
	probe := "remedy-lab-probe-" + rand.Text()[:8]
	writer := l.Hosts[0]
	c := sshClient(t, l, "root", writer)
	for _, dir := range []string{"/etc", "/etc/ssh/sshd_config.d", "/usr/local/bin", "/usr/lib/systemd/system", "/var/lib", "/opt", "/root", "/tmp"} {
		name := dir + "/" + probe
		if out, err := sshRun(t, c, "mkdir -p "+dir+" && echo probe > "+name); err != nil {
			t.Fatalf("%s: write %s: %v: %s", writer.Name, name, err, out)
		}
		if out, err := l.Exec(context.Background(), writer.Name, "cat", name); err != nil || string(out) != "probe\n" {
			t.Fatalf("%s: %s reads %q, %v after writing it", writer.Name, name, out, err)
		}
		if _, err := os.Stat(name); err == nil {
			t.Errorf("%s written on %s appeared on the machine", name, writer.Name)
		}
		for _, h := range l.Hosts[1:] {
			if _, err := l.Exec(context.Background(), h.Name, "test", "-e", name); err == nil {
				t.Errorf("%s written on %s appeared on %s", name, writer.Name, h.Name)
			}
		}
	}
}

func TestHostsRunTheirOwnIptables(t *testing.T) {
	l := labForTest(t)
	want := map[string]string{"iptables-legacy": "(legacy)", "iptables-nft": "(nf_tables)", "ufw": "(nf_tables)"}
	for _, h := range l.Hosts {
		if w, ok := want[h.Profile]; ok {
			out, err := l.Exec(context.Background(), h.Name, "iptables", "-V")
			if err != nil || !bytes.Contains(out, []byte(w)) {
				t.Errorf("%s (%s): iptables -V = %q, %v; want %s", h.Name, h.Profile, out, err, w)
			}
		}
	}
}

// openPort opens TCP port on h with h's own firewall tool, as an
// administrator would.
func openPort(t *testing.T, l *Lab, h Host, port int) {
	t.Helper()
	p := fmt.Sprint(port)
	cmds := map[string][]string{
		"nftables":        {"nft", "insert", "rule", "inet", "filter", "input", "tcp", "dport", p, "accept"},
		"iptables-legacy": {"iptables", "-I", "INPUT", "-p", "tcp", "--dport", p, "-j", "ACCEPT"},
		"iptables-nft":    {"iptables", "-I", "INPUT", "-p", "tcp", "--dport", p, "-j", "ACCEPT"},
		"firewalld":       {"firewall-cmd", "--add-port=" + p + "/tcp"},
		"ufw":             {"ufw", "allow", p + "/tcp"},
	}
	if out, err := l.Exec(context.Background(), h.Name, cmds[h.Profile]...); err != nil {
		t.Fatalf("%s: open %d: %v: %s", h.Name, port, err, out)
	}
}

func machineFirewall(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, argv := range [][]string{{"nft", "list", "ruleset"}, {"iptables-save"}, {"iptables-legacy-save"}} {
		out, err := exec.Command(argv[0], argv[1:]...).Output()
		if err != nil {
			t.Fatalf("%s: %v", argv[0], err)
		}
		b.Write(out)
	}
	// iptables-save prints when it ran; that is not the firewall.
	var lines []string
	for _, line := range strings.Split(b.String(), "\n") {
		if !strings.HasPrefix(line, "#") {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

// A closed port fails because of the host's firewall: a listener is there,
// and opening the port in that firewall makes it reachable. The egress
// twin of each host runs the same firewall and must stay closed, and the
// machine's own firewall must not change.
func TestFirewallsGuardTheirOwnHostOnly(t *testing.T) {
	l := labForTest(t)
	const port = 8080
	before := machineFirewall(t)
	twins := map[string]Host{}
	for _, h := range l.Hosts {
		if h.Egress && !h.Hidden {
			twins[h.Profile] = h
		}
	}
	for _, h := range l.Hosts {
		if h.Egress || h.Hidden {
			continue
		}
		t.Run(h.Name+"-"+h.Profile, func(t *testing.T) {
			t.Parallel()
			for _, x := range []Host{h, twins[h.Profile]} {
				if x.Name == "" {
					continue
				}
				stop, err := l.Listen(x.Name, "tcp", port)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(stop)
				if err := l.Reach(x.Addr, "tcp", 22, 5*time.Second); err != nil {
					t.Errorf("%s: port 22: %v", x.Name, err)
				}
			}
			if h.Profile == "none" {
				if err := l.Reach(h.Addr, "tcp", port, 5*time.Second); err != nil {
					t.Fatalf("%s without a firewall: %v", h.Name, err)
				}
				return
			}
			twin := twins[h.Profile]
			for _, x := range []Host{h, twin} {
				if err := l.Reach(x.Addr, "tcp", port, time.Second); err == nil {
					t.Fatalf("%s (%s): port %d reachable before it was opened", x.Name, x.Profile, port)
				}
			}
			openPort(t, l, h, port)
			if err := l.Reach(h.Addr, "tcp", port, 5*time.Second); err != nil {
				t.Fatalf("%s (%s): port %d still closed after opening it: %v", h.Name, h.Profile, port, err)
			}
			if err := l.Reach(twin.Addr, "tcp", port, time.Second); err == nil {
				t.Fatalf("opening %d on %s opened it on %s too", port, h.Name, twin.Name)
			}
		})
	}
	t.Cleanup(func() {
		if after := machineFirewall(t); after != before {
			t.Errorf("the machine's firewall changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

// canReachLicense connects from inside h to the licensing domain, resolved
// through h's own hosts file, giving up after wait: short where the
// connection must fail, generous where it must succeed on a busy machine.
func canReachLicense(l *Lab, h Host, port int, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), wait+5*time.Second)
	defer cancel()
	_, err := l.Exec(ctx, h.Name, "timeout", fmt.Sprint(wait.Seconds()), "bash", "-c",
		fmt.Sprintf("exec 3<>/dev/tcp/%s/%d", LicenseDomain, port))
	return err
}

func TestEgressRestrictedHostsCannotReachTheStandIn(t *testing.T) {
	l := labForTest(t)
	for _, proto := range []string{"tcp", "udp"} {
		port := map[string]int{"tcp": 8443, "udp": 53}[proto]
		stop, err := l.PeerListen(proto, port)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
	}
	for _, h := range l.Hosts {
		if h.Hidden {
			continue
		}
		t.Run(h.Name+"-"+h.Profile, func(t *testing.T) {
			t.Parallel()
			for _, port := range []int{443, 8443} {
				wait := 10 * time.Second
				if h.Egress {
					wait = 2 * time.Second
				}
				err := canReachLicense(l, h, port, wait)
				if h.Egress && err == nil {
					t.Errorf("egress-restricted %s (%s) reached %s:%d", h.Name, h.Profile, LicenseDomain, port)
				}
				if !h.Egress && err != nil {
					t.Errorf("%s (%s) cannot reach %s:%d: %v", h.Name, h.Profile, LicenseDomain, port, err)
				}
			}
			if err := dnsEcho(l, h); err != nil {
				t.Errorf("%s (%s): DNS to the stand-in is blocked: %v", h.Name, h.Profile, err)
			}
			if err := loopback(t, l, h); err != nil {
				t.Errorf("%s (%s): loopback is blocked: %v", h.Name, h.Profile, err)
			}
		})
	}
}

// dnsEcho sends a datagram from h to UDP/53 at the stand-in (PeerListen
// echoes it): egress-restricted hosts must still let DNS out.
func dnsEcho(l *Lab, h Host) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := l.Exec(ctx, h.Name, "timeout", "10", "bash", "-c",
		fmt.Sprintf("exec 3<>/dev/udp/%s/53; echo dns-probe >&3; head -n1 <&3", LicenseDomain))
	if err == nil && strings.TrimSpace(string(out)) != "dns-probe" {
		err = fmt.Errorf("echo %q", out)
	}
	return err
}

// loopback connects from h to a listener of its own on 127.0.0.1.
func loopback(t *testing.T, l *Lab, h Host) error {
	port := 9000
	stop, err := l.Listen(h.Name, "tcp", port)
	if err != nil {
		return err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err = l.Exec(ctx, h.Name, "timeout", "10", "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d", port))
	return err
}

func TestListenAndReachUDP(t *testing.T) {
	l := labForTest(t)
	h := l.Hosts[slicesIndex(l.Hosts, "none")]
	stop, err := l.Listen(h.Name, "udp", 5353)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Reach(h.Addr, "udp", 5353, 5*time.Second); err != nil {
		t.Fatalf("udp echo on %s: %v", h.Name, err)
	}
	stop()
	if err := l.Reach(h.Addr, "udp", 5353, 500*time.Millisecond); err == nil {
		t.Fatalf("udp echo on %s answered after stop", h.Name)
	}
}

func slicesIndex(hosts []Host, profile string) int {
	for i, h := range hosts {
		if h.Profile == profile {
			return i
		}
	}
	return 0
}

func TestRepointLicense(t *testing.T) {
	l := labForTest(t)
	old := l.License
	addr, err := l.RepointLicense(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if addr == old || l.License != addr {
		t.Fatalf("RepointLicense = %s (was %s, Lab.License %s); want a new address", addr, old, l.License)
	}
	h := l.Hosts[0]
	out, err := l.Exec(context.Background(), h.Name, "getent", "hosts", LicenseDomain)
	if err != nil || !strings.HasPrefix(string(out), addr+" ") {
		t.Fatalf("%s resolves %s to %q, %v; want %s", h.Name, LicenseDomain, out, err, addr)
	}
	if err := canReachLicense(l, h, 443, 10*time.Second); err != nil {
		t.Fatalf("%s cannot reach the moved stand-in: %v", h.Name, err)
	}
	if err := l.Reach(old, "tcp", 443, 500*time.Millisecond); err == nil {
		t.Fatalf("the stand-in still answers on its old address %s", old)
	}
}

func TestUpTwiceKeepsTheLab(t *testing.T) {
	l := labForTest(t)
	known, err := os.ReadFile(l.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Up(context.Background(), l.st.Options)
	if err != nil {
		t.Fatal(err)
	}
	now, err := os.ReadFile(again.KnownHosts)
	if err != nil || !bytes.Equal(known, now) {
		t.Fatalf("a second Up rebuilt the lab (known_hosts changed, %v)", err)
	}
}
