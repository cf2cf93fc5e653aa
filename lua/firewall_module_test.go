package lua

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"remedy/lua/firewall"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

// fwFixtureHost answers the firewall module's read with captured output
// of the real tools and records every other command; only check mode and
// reads run on it, so nothing it would change needs simulating.
type fwFixtureHost struct {
	t     *testing.T
	read  []byte
	ran   []string
	execs int // every command, reads too
	// oldFirewalld: firewalld answers without getZoneSettings2 (before 0.9).
	oldFirewalld bool
	// boot is the nft script boot loads (the .nft the JSON fixture was
	// captured from) and bootJSON what it makes, read as the fixture was.
	boot, bootJSON string
	// disabled units do not start at boot; the others are Debian 12's,
	// enabled.
	disabled map[string]bool
}

func (h *fwFixtureHost) fixture(name string) remote.Output {
	b, err := os.ReadFile(filepath.Join("firewall", "testdata", name))
	if err != nil {
		h.t.Fatal(err)
	}
	return remote.Output{Stdout: b}
}

func newFwFixtureHost(t *testing.T, nft, v4 string) *fwFixtureHost {
	t.Helper()
	load := func(name string) string {
		if name == "" {
			return ""
		}
		b, err := os.ReadFile(filepath.Join("firewall", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// As readScript prints on a host with both iptables variants, whose
	// plain iptables is the nft one; firewalld answers only on its hosts.
	out := "==cmd\niptables-nft\niptables-legacy\n==default\niptables v1.8.9 (nf_tables)\n==zone\n==nft\n" + load(nft) +
		"\n==v4-nft\n" + load(v4) + "==v6-nft\n==v4-legacy\n==v6-legacy\n==ipset\n"
	h := &fwFixtureHost{t: t, read: []byte(out), bootJSON: load(nft)}
	if script := strings.TrimSuffix(nft, ".json") + ".nft"; nft != "" {
		if _, err := os.Stat(filepath.Join("firewall", "testdata", script)); err == nil {
			h.boot = load(script)
		}
	}
	return h
}

// bootRead reports whether cmd is one of the firewall's reads of a boot
// file.
func (h *fwFixtureHost) bootRead(cmd string) bool {
	for _, f := range firewall.DefaultBootFiles {
		if cmd == catLine(f.Path) || cmd == shell.Join(nftScratchLoad(f.Path)...) {
			return true
		}
	}
	return false
}

// units answers the read of the boot units as a host without systemd
// would: each unit file Debian 12 ships (none for RHEL's) and whether
// boot starts it.
func (h *fwFixtureHost) units(names []string) remote.Output {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "==unit %s\n", n)
		if text, err := os.ReadFile(filepath.Join("firewall", "testdata", "units", "debian12-"+n)); err == nil {
			fmt.Fprintf(&b, "# /lib/systemd/system/%s\n%s\n", n, text)
		}
		fmt.Fprintf(&b, "==enabled %s\n%s\n", n, map[bool]string{false: "enabled", true: "disabled"}[h.disabled[n]])
	}
	b.WriteString("==ufwconf\nENABLED=yes\n")
	return remote.Output{Stdout: []byte(b.String())}
}

func (h *fwFixtureHost) Name() string { return "fixture" }

func (h *fwFixtureHost) Exec(ctx context.Context, cmd string, stdin []byte) (remote.Output, error) {
	h.execs++
	if words, ok := strings.CutPrefix(cmd, shell.Join("sh", "-c", batchScript, "sh")+" "); ok {
		w := unquoteWords(h.t, words)
		return h.batch(w[0], w[1:]), nil
	}
	return h.answer(cmd), nil
}

// batch answers a prefetch as batchScript would, each line from the
// fixtures.
func (h *fwFixtureHost) batch(boundary string, lines []string) remote.Output {
	var b bytes.Buffer
	for _, line := range lines {
		out := h.answer(line)
		fmt.Fprintf(&b, "%s\n%s %d\n%s\n%s\n", out.Stdout, boundary, out.ExitCode, bytes.TrimRight(out.Stderr, "\n"), boundary)
	}
	return remote.Output{Stdout: b.Bytes()}
}

// unquoteWords reads back a line of words made by shell.Join.
func unquoteWords(t *testing.T, line string) []string {
	var words []string
	for line != "" {
		if rest, ok := strings.CutPrefix(line, "'"); ok {
			var w strings.Builder
			for {
				i := strings.IndexByte(rest, '\'')
				if i < 0 {
					t.Fatalf("unterminated quote in %q", line)
				}
				w.WriteString(rest[:i])
				rest = rest[i+1:]
				if next, ok := strings.CutPrefix(rest, `\''`); ok {
					w.WriteByte('\'')
					rest = next
					continue
				}
				break
			}
			words = append(words, w.String())
			line = strings.TrimPrefix(rest, " ")
			continue
		}
		w, rest, _ := strings.Cut(line, " ")
		words = append(words, w)
		line = rest
	}
	return words
}

func (h *fwFixtureHost) answer(cmd string) remote.Output {
	switch {
	case cmd == shell.Join(readArgv...) && bytes.Contains(h.read, []byte(`"family": "inet", "name": "firewalld"`)):
		zone := "==zone\npublic\n"
		if !h.oldFirewalld {
			zone += "==zoneinfo\n" + string(h.fixture("firewalld/public-ssh.zone-settings").Stdout)
		}
		return remote.Output{Stdout: bytes.Replace(h.read, []byte("==zone\n"), []byte(zone), 1)}
	case cmd == shell.Join(readArgv...):
		return remote.Output{Stdout: h.read}
	case strings.HasPrefix(cmd, "firewall-cmd --list-all"):
		return h.fixture("firewalld/public-ssh.list-all")
	case cmd == shell.Join(bootUnitsArgv...):
		return h.units(firewall.KnownUnits)
	case cmd == shell.Join(nftScratchLoad("/etc/nftables.conf")...) && h.boot != "":
		return remote.Output{Stdout: []byte(h.bootJSON)}
	case cmd == catLine("/etc/nftables.conf") && h.boot != "":
		return remote.Output{Stdout: []byte(h.boot)}
	case h.bootRead(cmd):
		return remote.Output{ExitCode: 1, Stderr: []byte("No such file or directory")}
	case strings.HasPrefix(cmd, "ufw status verbose"):
		return h.fixture("ufw/remedy-fasp.status")
	case slices.Contains(sshdReads(h.t), cmd):
		return remote.Output{ExitCode: 127, Stderr: []byte("not in the fixture")}
	}
	h.ran = append(h.ran, cmd)
	return remote.Output{}
}

// sshdReads are the sshd module's warm reads, which ride along with the
// firewall's first read.
func sshdReads(t *testing.T) []string {
	m, ok := LookupModule("sshd")
	if !ok {
		t.Fatal("no sshd module")
	}
	return warmLines([]Module{m})
}

func (h *fwFixtureHost) ReadFile(ctx context.Context, path string) ([]byte, error) {
	if path == "/etc/nftables.conf" && h.boot != "" {
		return []byte(h.boot), nil
	}
	return nil, os.ErrNotExist
}

func (h *fwFixtureHost) Probe(ctx context.Context, port int) error    { return nil }
func (h *fwFixtureHost) MovePort(ctx context.Context, port int) error { return nil }
func (h *fwFixtureHost) Port() int                                    { return 22 }

func TestFirewallModuleOnFixtures(t *testing.T) {
	tests := []struct {
		name, nft, v4, backend, body string
		status                       remote.Status
		msg                          string
		planned                      string
	}{
		{"verdict explains the stopping rule", "iptables/lab-iptables.nft.json", "iptables/lab-iptables.nft.save", "iptables-nft",
			`local v = firewall.verdict { dir = "in", proto = "udp", port = 33001 }
return v.verdict .. " | " .. v.chain .. " | " .. v.rule`, remote.StatusOK, "reject | ip filter INPUT | -A INPUT -j REJECT --reject-with icmp-port-unreachable", ""},
		{"verdict unknown names what it depends on", "nftables/generated.json", "", "nftables",
			`return firewall.verdict { dir = "in", proto = "udp", port = 162 }.verdict`, remote.StatusOK, "unknown", ""},
		{"allow in check mode reports the exact commands", "nftables/lab-nftables.json", "", "nftables",
			`firewall.allow { dir = "in", proto = "udp", range = "33001-33010", comment = "fasp" }`, remote.StatusChanged, "/etc/nftables.conf: remedy's rule kept for boot",
			`nft add rule inet filter input 'udp dport 33001-33010 accept comment "remedy: fasp"'
write /etc/nftables.conf, checked first with: unshare -n nft -f %s`},
		{"allow refuses what a reboot would undo", "nftables/lab-nftables.json", "", "nftables",
			`firewall.allow { dir = "in", proto = "udp", port = 33001, comment = "fasp" }`, remote.StatusFailed, "site.lua:2: fixture: firewall: refusing to allow in udp/33001: a reboot would not keep it: nftables.service is disabled: a reboot loads no nftables rules; persist = true enables it", ""},
		{"persist = true enables the unit", "nftables/lab-nftables.json", "", "nftables",
			`firewall.allow { dir = "in", proto = "udp", port = 33001, comment = "fasp", persist = true }`, remote.StatusChanged, "/etc/nftables.conf: remedy's rule kept for boot; nftables.service enabled at boot",
			`nft add rule inet filter input 'udp dport 33001 accept comment "remedy: fasp"'
write /etc/nftables.conf, checked first with: unshare -n nft -f %s
mkdir -p /etc/systemd/system/sysinit.target.wants
ln -sfn /lib/systemd/system/nftables.service /etc/systemd/system/sysinit.target.wants/nftables.service`},
		{"allow of an open port changes nothing", "nftables/lab-nftables.json", "", "nftables",
			`return tostring(firewall.allow { dir = "in", proto = "tcp", port = 22 }.changed)`, remote.StatusOK, "false", ""},
		{"firewalld allow goes through firewall-cmd", "firewalld/public-ssh.json", "", "firewalld",
			`firewall.allow { dir = "in", proto = "tcp", port = 8443, comment = "https" }`, remote.StatusChanged, "",
			`firewall-cmd --permanent --new-service=remedy-https
firewall-cmd --permanent --service=remedy-https '--set-description=remedy: https'
firewall-cmd --permanent --service=remedy-https --add-port=8443/tcp
firewall-cmd --permanent --zone=public --add-service=remedy-https
firewall-cmd --reload`},
		{"ufw: a blocked verdict names ufw's defaults", "ufw/remedy-fasp.json", "ufw/remedy-fasp.save", "ufw",
			`return firewall.verdict { dir = "in", proto = "udp", port = 40000 }.explain`, remote.StatusOK, "ufw default deny (incoming), allow (outgoing), disabled (routed)", ""},
		{"ufw: an accepted verdict needs no explaining", "ufw/remedy-fasp.json", "ufw/remedy-fasp.save", "ufw",
			`return firewall.verdict { dir = "in", proto = "udp", port = 33005 }.explain`, remote.StatusOK, "", ""},
		{"firewalld: a blocked verdict names the zone", "firewalld/public-ssh.json", "", "firewalld",
			`return firewall.verdict { dir = "in", proto = "udp", port = 33001 }.explain`, remote.StatusOK, "firewalld zone public (target default) lets in services [dhcpv6-client ssh] and ports []", ""},
		{"rules lists chains", "nftables/lab-nftables.json", "", "nftables",
			`return firewall.rules().chains[1].rules[3]`, remote.StatusOK, "tcp dport 22 accept", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFwFixtureHost(t, tt.nft, tt.v4)
			if strings.Contains(tt.name, "reboot") || strings.Contains(tt.body, "persist") {
				h.disabled = map[string]bool{"nftables.service": true}
			}
			r := onlyResult(t, h, task(tt.body), RunOptions{Check: true, Facts: remote.Facts{Firewall: tt.backend, OSFamily: "debian"}})
			msg, planned := r.Msg, strings.Join(r.Planned, "\n")
			if r.Status != tt.status || !strings.HasSuffix(msg, tt.msg) || (tt.msg == "") != (msg == "") || planned != tt.planned {
				t.Errorf("got %s %q, planned:\n%s\nwant %s %q, planned:\n%s", r.Status, msg, planned, tt.status, tt.msg, tt.planned)
			}
			if len(h.ran) > 0 {
				t.Errorf("check mode ran %q", h.ran)
			}
		})
	}
}

// A range of blocked verdicts is one read (ruleset and firewalld zone
// together; on an old firewalld one firewall-cmd listing more, a Python
// start) when nothing runs between them; a change in between makes the
// next verdict read again.
func TestFirewallVerdictsShareReadsUntilACommand(t *testing.T) {
	tests := []struct {
		name, between string
		old           bool
		want          int
	}{
		{"in a row", "", false, 1},
		{"a command between", `cmd.run { "true" }`, false, 3},
		{"old firewalld, in a row", "", true, 2},
		{"old firewalld, a command between", `cmd.run { "true" }`, true, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFwFixtureHost(t, "firewalld/public-ssh.json", "")
			h.oldFirewalld = tt.old
			body := `for port = 33001, 33003 do
  assert(firewall.verdict { dir = "in", proto = "udp", port = port }.explain ~= "")
end
` + tt.between + `
assert(firewall.verdict { dir = "in", proto = "udp", port = 33004 }.explain ~= "")`
			r := onlyResult(t, h, task(body), RunOptions{Facts: remote.Facts{Firewall: "firewalld", OSFamily: "debian"}})
			if r.Status == remote.StatusFailed || h.execs != tt.want {
				t.Errorf("got %s %q after %d commands, want %d", r.Status, r.Msg, h.execs, tt.want)
			}
		})
	}
}

func TestFirewallModuleRejectsBadArguments(t *testing.T) {
	for _, body := range []string{
		`firewall.allow { dir = "in", proto = "tcp" }`,
		`firewall.allow { dir = "in", proto = "tcp", port = 22, range = "1-2" }`,
		`firewall.allow { dir = "in", proto = "tcp", port = "http" }`,
		`firewall.allow { dir = "in", proto = "tcp", port = 22, src = "not-an-address" }`,
		`firewall.verdict { dir = "up", proto = "tcp", port = 22 }`,
		`firewall.allow_domain { domain = "api.ibmaspera.com", dir = "in" }`,
		`firewall.remove { comment = "not ours" }`,
	} {
		h := newFwFixtureHost(t, "nftables/lab-nftables.json", "")
		r := onlyResult(t, h, task(body), RunOptions{Check: true, Facts: remote.Facts{Firewall: "nftables"}})
		if r.Status != remote.StatusFailed {
			t.Errorf("%s: %s, want failed", body, r.Status)
		}
	}
}

// A change that leaves the flow blocked fails loudly, naming the revert
// armed before it; the fixture host re-reads the same rules, as a host
// that ignored the commands would. The revert's timer is a transient
// systemd unit where systemd is the init system, else a setsid shell
// (the command lines only: a real systemd host is for a lab of VMs).
func TestFirewallAllowFailsWhenTheFlowStillDoesNotPass(t *testing.T) {
	for init, timer := range map[string]string{"none": "sh -c 'setsid -f", "systemd": "systemd-run --quiet --collect --unit=remedy-revert-fw-"} {
		t.Run(init, func(t *testing.T) {
			h := newFwFixtureHost(t, "nftables/lab-nftables.json", "")
			r := onlyResult(t, h, task(`firewall.allow { dir = "in", proto = "udp", port = 33001, comment = "fasp" }`),
				RunOptions{Facts: remote.Facts{Firewall: "nftables", OSFamily: "debian", Init: init}})
			if r.Status != remote.StatusFailed || !strings.Contains(r.Msg, "did not take effect; the revert armed on the host restores the previous rules") {
				t.Fatalf("got %s: %s", r.Status, r.Msg)
			}
			want := []string{"sh -c", timer, `nft add rule inet filter input 'udp dport 33001 accept comment "remedy: fasp"'`}
			for i, prefix := range want {
				if i >= len(h.ran) || !strings.HasPrefix(h.ran[i], prefix) {
					t.Fatalf("ran %q, want commands starting %q", h.ran, want)
				}
			}
			if len(h.ran) != len(want) {
				t.Errorf("ran %q after the failed check: nothing may be persisted or disarmed", h.ran[len(want):])
			}
		})
	}
}

func TestParseTTL(t *testing.T) {
	tests := []struct {
		name, out string
		ttl       int
	}{
		{"no dig", "", 300},
		{"a short TTL is raised to a minute", "5\n", 60},
		{"the TTL", "120\n", 120},
		{"a long TTL is cut to an hour", "86400\n", 3600},
		{"garbage", ";; connection timed out\n", 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseTTL([]byte(tt.out)); got != tt.ttl {
				t.Errorf("got %d, want %d", got, tt.ttl)
			}
		})
	}
}

func TestIptablesVariant(t *testing.T) {
	both := "==cmd\niptables-nft\niptables-legacy\n"
	tests := []struct {
		name, backend, read string
		want                variant
	}{
		{"nftables reads the nft variant beside it", "nftables", both + "==default\niptables v1.8.9 (legacy)\n",
			variant{"v4-nft", "v6-nft", "iptables-nft"}},
		{"a legacy host", "iptables-legacy", both, variant{"v4-legacy", "v6-legacy", "iptables-legacy"}},
		{"ufw follows the plain command: legacy", "ufw", both + "==default\niptables v1.8.9 (legacy)\n",
			variant{"v4-legacy", "v6-legacy", "iptables-legacy"}},
		{"ufw follows the plain command: nft", "ufw", both + "==default\niptables v1.8.9 (nf_tables)\n",
			variant{"v4-nft", "v6-nft", "iptables-nft"}},
		{"no variants (iptables 1.6)", "iptables-legacy", "==cmd\n==default\niptables v1.6.2\n", variant{"v4", "v6", ""}},
		{"only the legacy variant installed", "nftables", "==cmd\niptables-legacy\n", variant{"v4", "v6", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := iptablesVariant(tt.backend, sections([]byte(tt.read))); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
