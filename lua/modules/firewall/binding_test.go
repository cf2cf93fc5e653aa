package firewall

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"remedy/lua"
	"remedy/lua/firewall"
	"remedy/lua/luatest"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

// fwFixtureHost answers the firewall module's read with captured output
// of the real tools and records every other command; only check mode and
// reads run on it, so nothing it would change needs simulating.
type fwFixtureHost struct {
	*luatest.FixtureHost
	t    *testing.T
	read []string // the firewall read's parts: name, content, ...
	// oldFirewalld: firewalld answers without getZoneSettings2 (before 0.9).
	oldFirewalld bool
	// busctl: the host has busctl to call firewalld's D-Bus API with.
	busctl bool
	// boot is the nft script boot loads (the .nft the JSON fixture was
	// captured from) and bootJSON what it makes, read as the fixture was.
	boot, bootJSON string
	// disabled units do not start at boot; the others are Debian 12's,
	// enabled.
	disabled map[string]bool
	// routes answer the reads of the host's route to a peer: the
	// command line, and the fixture holding `ip -j route get`.
	routes map[string]string
}

// fixtures holds the firewall's captured tool output.
var fixtures = filepath.Join("..", "..", "firewall", "testdata")

func (h *fwFixtureHost) fixture(name string) remote.Output {
	b, err := os.ReadFile(filepath.Join(fixtures, name))
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
		b, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// As the read prints on a host with both iptables variants, whose
	// plain iptables is the nft one; firewalld answers only on its hosts.
	read := []string{"cmd", "iptables-nft\niptables-legacy\n", "default", "iptables v1.8.9 (nf_tables)\n", "zone", "",
		"nft", load(nft) + "\n", "v4-nft", load(v4), "v6-nft", "", "v4-legacy", "", "v6-legacy", "", "ipset", ""}
	h := &fwFixtureHost{FixtureHost: &luatest.FixtureHost{}, t: t, read: read, bootJSON: load(nft)}
	h.Answer = h.answer
	if script := strings.TrimSuffix(nft, ".json") + ".nft"; nft != "" {
		if _, err := os.Stat(filepath.Join(fixtures, script)); err == nil {
			h.boot = load(script)
		}
	}
	return h
}

// bootRead answers the firewall's reads of a boot file other than the
// nft script the fixture was captured from: none of them exists.
func (h *fwFixtureHost) bootRead(cmd string) (remote.Output, bool) {
	for _, f := range firewall.DefaultBootFiles {
		reads := lua.WriteReads(f.Path)
		switch cmd {
		case shell.Join(reads[0]...):
			return remote.Output{ExitCode: shell.MissingFile}, true
		case shell.Join(nftScratchLoad(f.Path)...), shell.Join(nftBootLoad(f.Path)...):
			return remote.Output{ExitCode: 1, Stderr: []byte(f.Path + ": no such file")}, true
		case shell.Join(reads[1]...):
			return remote.Output{Stdout: []byte("new\n\n" + f.Path)}, true
		}
	}
	return remote.Output{}, false
}

// units answers the read of the boot units as a host without systemd
// would: each unit file Debian 12 ships (none for RHEL's) and whether
// boot starts it.
func (h *fwFixtureHost) units(names []string) remote.Output {
	var parts []string
	for _, n := range names {
		unit := ""
		if text, err := os.ReadFile(filepath.Join(fixtures, "units", "debian12-"+n)); err == nil {
			unit = fmt.Sprintf("# /lib/systemd/system/%s\n%s\n", n, text)
		}
		parts = append(parts, "unit "+n, unit, "enabled "+n, map[bool]string{false: "enabled", true: "disabled"}[h.disabled[n]]+"\n")
	}
	return remote.Output{Stdout: luatest.Parts(append(parts, "ufwconf", "ENABLED=yes\n")...)}
}

func (h *fwFixtureHost) answer(cmd string) (remote.Output, bool) {
	switch {
	case cmd == shell.Join(firewall.ReadArgv...):
		read := h.read
		if strings.Contains(read[7], `"family": "inet", "name": "firewalld"`) {
			read = append(read, "zone", "public\n")
			if !h.oldFirewalld {
				read = append(read, "zoneinfo", string(h.fixture("firewalld/public-ssh.zone-settings").Stdout))
			}
			if h.busctl {
				read = append(read, "busctl", "busctl\n")
			}
		}
		return remote.Output{Stdout: luatest.Parts(read...)}, true
	case strings.HasPrefix(cmd, "firewall-cmd --list-all"):
		return h.fixture("firewalld/public-ssh.list-all"), true
	case cmd == shell.Join(bootUnitsArgv...):
		return h.units(firewall.KnownUnits), true
	case cmd == shell.Join(nftScratchLoad("/etc/nftables.conf")...) && h.boot != "":
		return remote.Output{Stdout: []byte(h.bootJSON)}, true
	case cmd == shell.Join(nftBootLoad("/etc/nftables.conf")...) && h.boot != "" && h.disabled["nftables.service"]:
		return remote.Output{ExitCode: notEnabled}, true
	case cmd == shell.Join(nftBootLoad("/etc/nftables.conf")...) && h.boot != "":
		return remote.Output{Stdout: []byte(h.bootJSON)}, true
	case cmd == shell.Join(shell.ReadFileArgv("/etc/nftables.conf")...) && h.boot != "":
		return remote.Output{Stdout: []byte(h.boot)}, true
	case cmd == shell.Join(lua.WriteReads("/etc/nftables.conf")[1]...) && h.boot != "":
		return remote.Output{Stdout: []byte(fmt.Sprintf("exists\nregular file|755|root:root|%d|0:0\n/etc/nftables.conf", len(h.boot)))}, true
	case strings.HasPrefix(cmd, "ufw status verbose"):
		return h.fixture("ufw/remedy-fasp.status"), true
	case h.routes[cmd] != "":
		return h.fixture(h.routes[cmd]), true
	case slices.Contains(otherReads(h.t), cmd):
		return remote.Output{ExitCode: 127, Stderr: []byte("not in the fixture")}, true
	}
	return h.bootRead(cmd)
}

// otherReads are the other modules' usual reads, which ride along with
// the firewall's first read.
func otherReads(t *testing.T) []string {
	var lines []string
	for _, m := range lua.Modules() {
		if m.Name == "firewall" {
			continue
		}
		for _, argv := range m.Warm {
			lines = append(lines, shell.Join(argv...))
		}
	}
	return lines
}

// What check mode plans for a change on the input path of an nftables
// host, as the run carries it out: arm a timed revert, change, read the
// firewall again, log in afresh, disarm; then the boot file's write.
const (
	// revertTimer starts the timer that reverts the change at the
	// deadline, unless disarmed; what follows it is the revert.
	revertTimer = `sh -c 'setsid -f sh -c "$0" </dev/null >/dev/null 2>&1' 'd=/run/remedy-revert-fw-TOKEN; echo $$ > "$d/pid"; hard=$(($(cut -d. -f1 /proc/uptime) + 1800))
live() { now=$(cut -d. -f1 /proc/uptime) && dl=$(cat "$d/deadline") || echo 0 > "$d/deadline"; [ "$now" -lt "$hard" ] && [ "$now" -lt "$dl" ]; }
while :; do while live; do sleep 1 || echo 0 > "$d/deadline"; done; touch "$d/fired"; live || break; rm -f "$d/fired"; done
`
	armRevert = `sh -c 'set -e; d=/run/remedy-revert-fw-TOKEN; rm -rf "$d"; mkdir -m 700 "$d"; { echo '\''flush ruleset'\''; nft list ruleset; } > "$d/nft"; echo $(($(cut -d. -f1 /proc/uptime) + 121)) > "$d/next" && mv -f "$d/next" "$d/deadline"'
` + revertTimer + `nft -f "$d/nft"; rm -rf "$d"'`
	// armFirewalldRevert is armRevert on a firewalld host: the revert
	// restores /etc/firewalld and reloads.
	armFirewalldRevert = `sh -c 'set -e; d=/run/remedy-revert-fw-TOKEN; rm -rf "$d"; mkdir -m 700 "$d"; cp -a /etc/firewalld "$d/etc"; echo $(($(cut -d. -f1 /proc/uptime) + 121)) > "$d/next" && mv -f "$d/next" "$d/deadline"'
` + revertTimer + `rm -rf /etc/firewalld && cp -a "$d/etc" /etc/firewalld && firewall-cmd --reload; rm -rf "$d"'`
	loginDisarm = `# read the firewall again: the flow must pass
# log in on port 22 from the controller over a new connection
sh -c 'd=/run/remedy-revert-fw-TOKEN; test -f "$d/pid" && kill "$(cat "$d/pid")"; rm -rf "$d"'`
	bootCheck = "# read what boot loads again: it must need no further change"
)

// plannedBootWrite is the write of /etc/nftables.conf holding size bytes.
func plannedBootWrite(size int) string {
	return fmt.Sprintf(`mkdir -m 0700 -- /etc/.nftables.conf.remedy-RANDOM
write /etc/.nftables.conf.remedy-RANDOM/nftables.conf (%d bytes)
chown -- 0:0 /etc/.nftables.conf.remedy-RANDOM/nftables.conf
chmod 0755 /etc/.nftables.conf.remedy-RANDOM/nftables.conf
unshare -n nft -f /etc/.nftables.conf.remedy-RANDOM/nftables.conf
ln -- /etc/nftables.conf /etc/nftables.conf.remedy-TIME.bak
mv -f -T -- /etc/.nftables.conf.remedy-RANDOM/nftables.conf /etc/nftables.conf
`, size) + bootCheck
}

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
			`firewall.allow { dir = "in", proto = "udp", range = "33001-33010", comment = "fasp" }`, remote.StatusChanged,
			"/etc/nftables.conf: new content, backup /etc/nftables.conf.remedy-TIME.bak",
			armRevert + `
nft add rule inet filter input 'udp dport 33001-33010 accept comment "remedy: fasp"'
` + loginDisarm + `
` + plannedBootWrite(652)},
		{"allow refuses what a reboot would undo", "nftables/lab-nftables.json", "", "nftables",
			`firewall.allow { dir = "in", proto = "udp", port = 33001, comment = "fasp" }`, remote.StatusFailed, "site.lua:2: fixture: firewall: refusing to allow in udp/33001: a reboot would not keep it: nftables.service is disabled: a reboot loads no nftables rules; persist = true enables it", ""},
		{"persist = true enables the unit", "nftables/lab-nftables.json", "", "nftables",
			`firewall.allow { dir = "in", proto = "udp", port = 33001, comment = "fasp", persist = true }`, remote.StatusChanged,
			"/etc/nftables.conf: new content, backup /etc/nftables.conf.remedy-TIME.bak; nftables.service enabled at boot",
			armRevert + `
nft add rule inet filter input 'udp dport 33001 accept comment "remedy: fasp"'
` + loginDisarm + `
` + strings.TrimSuffix(plannedBootWrite(646), bootCheck) + `mkdir -p /etc/systemd/system/sysinit.target.wants
ln -sfn /lib/systemd/system/nftables.service /etc/systemd/system/sysinit.target.wants/nftables.service
` + bootCheck},
		{"allow of an open port changes nothing", "nftables/lab-nftables.json", "", "nftables",
			`return tostring(firewall.allow { dir = "in", proto = "tcp", port = 22 }.changed)`, remote.StatusOK, "false", ""},
		{"firewalld allow goes through firewall-cmd", "firewalld/public-ssh.json", "", "firewalld",
			`firewall.allow { dir = "in", proto = "tcp", port = 8443, comment = "https" }`, remote.StatusChanged, "",
			armFirewalldRevert + `
firewall-cmd --permanent --new-service=remedy-https
firewall-cmd --permanent --service=remedy-https '--set-description=remedy: https'
firewall-cmd --permanent --service=remedy-https --add-port=8443/tcp
firewall-cmd --permanent --zone=public --add-service=remedy-https
firewall-cmd --reload
` + loginDisarm},
		{"firewalld allow goes over D-Bus, without a reload", "firewalld/public-ssh.json", "", "firewalld",
			`firewall.allow { dir = "in", proto = "tcp", port = 8443, comment = "https" }`, remote.StatusChanged, "",
			armFirewalldRevert + `
busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1/config org.fedoraproject.FirewallD1.config addService2 'sa{sv}' remedy-https 2 description s 'remedy: https' ports 'a(ss)' 1 8443 tcp
sh -c 'fwconf() {
	p=$(busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1/config org.fedoraproject.FirewallD1.config "get$1ByName" s "$2") || return
	p=${p#o \"}; echo "${p%\"}"
}
p=$(fwconf "$1" "$2") || exit; shift 2
exec busctl call -- org.fedoraproject.FirewallD1 "$p" "$@"' sh Zone public org.fedoraproject.FirewallD1.config.zone addService s remedy-https
busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone addRichRule ssi public 'rule port port="8443" protocol="tcp" accept' 0
` + loginDisarm},
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
			h.busctl = strings.Contains(tt.name, "D-Bus")
			r := luatest.Only(t, h, luatest.Task(tt.body), lua.RunOptions{Check: true, Facts: remote.Facts{Firewall: tt.backend, OSFamily: "debian"}})
			msg, planned := luatest.Masked(r.Msg), luatest.Masked(strings.Join(r.Planned, "\n"))
			if r.Status != tt.status || !strings.HasSuffix(msg, tt.msg) || (tt.msg == "") != (msg == "") || planned != tt.planned {
				t.Errorf("got %s %q, planned:\n%s\nwant %s %q, planned:\n%s", r.Status, msg, planned, tt.status, tt.msg, tt.planned)
			}
			if len(h.Ran) > 0 {
				t.Errorf("check mode ran %q", h.Ran)
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
			r := luatest.Only(t, h, luatest.Task(body), lua.RunOptions{Facts: remote.Facts{Firewall: "firewalld", OSFamily: "debian"}})
			if r.Status == remote.StatusFailed || h.Execs != tt.want {
				t.Errorf("got %s %q after %d commands, want %d", r.Status, r.Msg, h.Execs, tt.want)
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
		r := luatest.Only(t, h, luatest.Task(body), lua.RunOptions{Check: true, Facts: remote.Facts{Firewall: "nftables"}})
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
			r := luatest.Only(t, h, luatest.Task(`firewall.allow { dir = "in", proto = "udp", port = 33001, comment = "fasp" }`),
				lua.RunOptions{Facts: remote.Facts{Firewall: "nftables", OSFamily: "debian", Init: init}})
			if r.Status != remote.StatusFailed || !strings.Contains(r.Msg, "did not take effect; the revert armed on the host restores the previous rules") {
				t.Fatalf("got %s: %s", r.Status, r.Msg)
			}
			want := []string{"sh -c", timer, `nft add rule inet filter input 'udp dport 33001 accept comment "remedy: fasp"'`}
			for i, prefix := range want {
				if i >= len(h.Ran) || !strings.HasPrefix(h.Ran[i], prefix) {
					t.Fatalf("ran %q, want commands starting %q", h.Ran, want)
				}
			}
			if len(h.Ran) != len(want) {
				t.Errorf("ran %q after the failed check: nothing may be persisted or disarmed", h.Ran[len(want):])
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
