package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// The built-in Aspera playbooks end to end: the real remedy binary runs
// aspera-server and aspera-client by name over SSH, and every effect is
// checked from outside the host, as a client of the Aspera server would
// find it: a fresh SSH login, a refused 22, datagrams echoed by listeners
// on the FASP ports, TCP connects to the HTTP fallback ports.
//
// One lab serves every case, so one run covers them all in parallel: each
// firewall profile twice (defaults; keep_legacy_22 with udp_concurrency 10,
// http_fallback both and vlinks), a host whose FASP and fallback ports come
// from aspera.conf, one whose come from asuserdata -a, an egress-restricted
// server with alee, and an egress-restricted client.
func TestAsperaOnLab(t *testing.T) {
	a := newAsperaLab(t)
	// The servers and the client are other hosts: their runs overlap.
	t.Run("hosts", func(t *testing.T) {
		t.Run("servers", func(t *testing.T) {
			t.Parallel()
			t.Run("audit before: drift found, nothing changed", a.auditBefore)
			t.Run("an audit is one SSH session per host", a.oneSessionPerHost)
			t.Run("run", a.runServers)
			t.Run("effects seen from outside", a.fromOutside)
			t.Run("second run changes nothing", a.secondRun)
			t.Run("audit after: compliant", a.auditAfter)
			t.Run("a Vlink port inside the FASP range fails clearly", a.vlinkClash)
		})
		t.Run("client: egress blocked UDP, then passes", func(t *testing.T) {
			t.Parallel()
			a.client(t)
		})
	})
}

// asperaPort is where SSH moves, and the FASP port by default.
const asperaPort = 33001

// asperaHost is one lab host, its inventory group and variables, and what
// must hold afterwards.
type asperaHost struct {
	labkit.Host
	asperaCase
}

type asperaLab struct {
	*operator // the lab's known_hosts, plus every key again for [addr]:33001
	lab       *labkit.Lab
	bin, home string
	hosts     []asperaHost
}

// asperaCase is a variant of the playbooks' variables and what it must
// lead to.
type asperaCase struct {
	group  string // inventory group: defaults, options, config, alee (the servers), clients
	vars   string // inventory host vars
	keep22 bool
	udp    []int // ports a datagram must reach
	tcp    []int // HTTP fallback ports a connect must reach
	alee   bool  // the licensing stand-in must be reachable from the host
	// conf and userdata, when set, are the host's aspera.conf and its
	// stand-in for asuserdata; settings is what the playbook must read
	// from them.
	conf, userdata, settings string
}

func portRange(lo, hi int) []int {
	var ports []int
	for p := lo; p <= hi; p++ {
		ports = append(ports, p)
	}
	return ports
}

var (
	asperaDefaults = asperaCase{group: "defaults", udp: []int{asperaPort}, tcp: []int{8443}}
	asperaOptions  = asperaCase{group: "options", vars: "keep_legacy_22=true udp_concurrency=10 http_fallback=both vlinks=true",
		keep22: true, udp: append(portRange(asperaPort, asperaPort+9), 55001), tcp: []int{8443, 8080}}
	// asperaConf and asperaUserdata read their ports from the host's own
	// Aspera configuration (see asperaConfFile and asperaUserdataScript).
	asperaConf = asperaCase{group: "config", vars: "vlinks=true", udp: []int{33101, 55101}, tcp: []int{9443}, conf: asperaConfFile,
		settings: "fasp 33101/udp (/opt/aspera/etc/aspera.conf), HTTPS fallback 9443/tcp, vlink 55101/udp (/opt/aspera/etc/aspera.conf)"}
	asperaUserdata = asperaCase{group: "config", vars: "vlinks=true", udp: []int{33201, 55001}, tcp: []int{8081}, userdata: asperaUserdataScript,
		settings: "fasp 33201/udp (asuserdata -a), HTTP fallback 8081/tcp, vlink 55001/udp (default)"}
	asperaALEE   = asperaCase{group: "alee", vars: "alee=true", udp: []int{asperaPort}, tcp: []int{8443}, alee: true}
	asperaGroups = []string{"defaults", "options", "config", "alee"}
)

func newAsperaLab(t *testing.T) *asperaLab {
	type planned struct {
		profile string
		c       asperaCase
	}
	var plan []planned
	for _, c := range []asperaCase{asperaDefaults, asperaOptions} {
		for _, p := range labkit.Profiles {
			plan = append(plan, planned{p, c})
		}
	}
	plan = append(plan, planned{"nftables", asperaConf}, planned{"iptables-nft", asperaUserdata},
		planned{"nftables+egress", asperaALEE}, planned{"firewalld+egress", asperaCase{group: "clients"}})
	profiles := make([]string, len(plan))
	for i, p := range plan {
		profiles[i] = p.profile
	}
	lab := labkit.New(t, labkit.Options{Hosts: len(plan), Profiles: profiles})
	a := &asperaLab{lab: lab, bin: buildRemedy(t), home: t.TempDir()}
	for i, h := range lab.Hosts {
		c := plan[i].c
		if c.conf != "" {
			a.write(t, h.Name, "/opt/aspera/etc/aspera.conf", c.conf, "0644")
		}
		if c.userdata != "" {
			a.write(t, h.Name, "/opt/aspera/bin/asuserdata", c.userdata, "0755")
		}
		if c.group == "clients" {
			c.vars = "server=" + lab.License
		}
		a.hosts = append(a.hosts, asperaHost{Host: h, asperaCase: c})
	}
	a.operator = newOperator(t, lab, asperaPort)
	return a
}

// asperaConfFile is an aspera.conf whose FASP port, HTTPS fallback and
// Vlink trunk differ from IBM's defaults, so the playbook can only find
// them by reading it.
const asperaConfFile = `<?xml version='1.0' encoding='UTF-8'?>
<CONF version="2">
  <!-- <bind_udp_port>40000</bind_udp_port> commented out: not read -->
  <default>
    <transfer>
      <protocol_options>
        <bind_udp_port>33101</bind_udp_port>
      </protocol_options>
    </transfer>
  </default>
  <http_server>
    <http_port>8080</http_port>
    <https_port>9443</https_port>
    <enable_http>false</enable_http>
    <enable_https>true</enable_https>
  </http_server>
  <trunks>
    <trunk><id>1</id><on>false</on><mcast_port>55999</mcast_port></trunk>
    <trunk><id>2</id><on>true</on><mcast_port>55101</mcast_port></trunk>
  </trunks>
</CONF>
`

// asperaUserdataScript stands in for asuserdata -a, in its output format
// (name: "value", an option once per section it appears in); a trunk
// multicast port of 0 means unset, so Vlinks take the default 55001.
const asperaUserdataScript = `#!/bin/sh
[ "$1" = -a ] || exit 1
cat <<'EOF'
transfer_protocol_options_bind_udp_port: "33201"
    trunk_mcast_port: "0"
http_port: "8081"
https_port: "8443"
enable_http: "true"
enable_https: "false"
http_port: "9091"
https_port: "9092"
ssh_port: "33001"
EOF
`

// write puts a file on a lab host (its /opt is its own).
func (a *asperaLab) write(t *testing.T, host, path, content, mode string) {
	t.Helper()
	script := `mkdir -p "$(dirname "$1")" && printf %s "$3" > "$1" && chmod "$2" "$1"`
	if _, err := a.lab.Exec(context.Background(), host, "sh", "-c", script, "sh", path, mode, content); err != nil {
		t.Fatal(err)
	}
}

// inventory writes the lab by case group, with each host's vars; the
// groups of servers are children of "servers". port is the servers' SSH
// port (0: the default, 22).
func (a *asperaLab) inventory(t *testing.T, port int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[all:vars]\nansible_user=root\nansible_ssh_private_key_file=%s\n", a.lab.Key)
	for _, group := range append(slices.Clone(asperaGroups), "clients") {
		fmt.Fprintf(&b, "\n[%s]\n", group)
		for _, h := range a.hosts {
			if h.group != group {
				continue
			}
			fmt.Fprintf(&b, "%s ansible_host=%s %s", h.Name, h.Addr, h.vars)
			if port != 0 && group != "clients" {
				fmt.Fprintf(&b, " ansible_port=%d", port)
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "\n[servers:children]\n%s\n", strings.Join(asperaGroups, "\n"))
	p := t.TempDir() + "/inventory.ini"
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// servers are the hosts of the given groups, or of every server group.
func (a *asperaLab) servers(groups ...string) []asperaHost {
	if len(groups) == 0 {
		groups = asperaGroups
	}
	var out []asperaHost
	for _, h := range a.hosts {
		if slices.Contains(groups, h.group) {
			out = append(out, h)
		}
	}
	return out
}

// remedy runs the binary with -o json over inventory and returns the
// parsed document and the exit code.
func (a *asperaLab) remedy(t *testing.T, inventory string, args ...string) (jsonRun, int) {
	t.Helper()
	return runRemedy(t, a.bin, a.home, 3*time.Minute, append(args, "-i", inventory, "--known-hosts", a.knownHosts)...)
}

func (a *asperaLab) auditBefore(t *testing.T) {
	// The options hosts start as the defaults ones do; leaving them out
	// keeps the slowest host (firewalld, ten FASP ports) off this path.
	audited := a.servers("defaults", "config", "alee")
	doc, code := a.remedy(t, a.inventory(t, 0), "audit", "aspera-server", "-l", "servers:!options")
	if code != 3 || len(doc.Hosts) != len(audited) {
		t.Fatalf("audit before: exit %d over %d hosts, want 3 (drift) over %d\n%s", code, len(doc.Hosts), len(audited), doc.out)
	}
	for _, h := range audited {
		if status, msg, _ := doc.task(h.Name, "S1: sshd listens on ssh_port"); status != "failed" {
			t.Errorf("%s: S1 check %s (%s), want failed before the run", h.Name, status, msg)
		}
		if status, _, _ := doc.task(h.Name, "S1/S2: move SSH to ssh_port"); status != "changed" {
			t.Errorf("%s: the move would be %s, want changed", h.Name, status)
		}
		if status, msg, _ := doc.task(h.Name, "S3/S5/S7: FASP UDP ports pass the firewall"); h.Profile != "none" && status != "failed" {
			t.Errorf("%s (%s): FASP check %s (%s), want failed", h.Name, h.Profile, status, msg)
		}
	}
	// The host's own Aspera configuration decides the ports.
	for _, h := range a.servers("config") {
		if _, msg, _ := doc.task(h.Name, "Aspera settings"); !strings.Contains(msg, h.settings) {
			t.Errorf("%s: settings %q, want them to contain %q", h.Name, msg, h.settings)
		}
	}
	// The audit changed nothing: SSH still answers on 22, and the FASP
	// port is still dropped where a firewall governs.
	for _, h := range audited {
		if err := a.login(h.Addr, 22); err != nil {
			t.Errorf("%s: SSH on 22 after the audit: %v", h.Name, err)
		}
		if h.Profile == "none" {
			continue
		}
		if err := a.reachListener(h.Name, h.Addr, "udp", h.udp[0]); err == nil {
			t.Errorf("%s (%s): udp/%d reached before the run", h.Name, h.Profile, h.udp[0])
		}
	}
}

// oneSessionPerHost: the facts and every read of the audit (the
// playbook's prefetch) ride in one SSH session per host, whatever the
// firewall, files read or found missing too; -vvv shows each session's
// command as "<host> $ ...". Under become, a file is read with a command
// (sudo cat), which -vvv shows, where SFTP would read it unseen. Where
// alee is checked, the plan of the licensing domain's pin reads its
// refresh job's files, which firewall.domain_reads lists.
func (a *asperaLab) oneSessionPerHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.bin, "audit", "aspera-server", "-l", "servers:!options", "-vvv", "-e", "ansible_become=true",
		"-i", a.inventory(t, 0), "--known-hosts", a.knownHosts)
	cmd.Env = isolatedEnv(a.home)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("audit: %v, want exit 3 (drift)\n%s", err, out)
	}
	for _, h := range a.servers("defaults", "config", "alee") {
		sessions := regexp.MustCompile(`(?m)^<`+regexp.QuoteMeta(h.Name)+`> \$ .*`).FindAll(out, -1)
		if len(sessions) != 1 {
			t.Errorf("%s (%s): %d SSH sessions in the audit, want 1:\n%s", h.Name, h.Profile, len(sessions), bytes.Join(sessions, []byte("\n")))
		}
	}
}

func (a *asperaLab) runServers(t *testing.T) {
	start := time.Now()
	doc, code := a.remedy(t, a.inventory(t, 0), "run", "aspera-server", "-l", "servers")
	t.Logf("aspera-server over %d hosts: %v", len(a.servers()), time.Since(start).Round(100*time.Millisecond))
	if code != 0 {
		t.Fatalf("run: exit %d, want 0\n%s", code, doc.out)
	}
	for _, h := range a.servers() {
		if status, msg, _ := doc.task(h.Name, "S1/S2: move SSH to ssh_port"); status != "changed" || msg != "inventory: ansible_port=33001" {
			t.Errorf("%s: move %s %q, want changed with the inventory change", h.Name, status, msg)
		}
	}
}

func (a *asperaLab) fromOutside(t *testing.T) {
	for _, h := range a.servers() {
		t.Run(h.Name+" "+h.Profile, func(t *testing.T) {
			t.Parallel()
			if err := a.login(h.Addr, asperaPort); err != nil {
				t.Errorf("SSH on %d: %v", asperaPort, err)
			}
			a.check22(t, h)
			for _, p := range h.udp {
				if err := a.reachListener(h.Name, h.Addr, "udp", p); err != nil {
					t.Error(err)
				}
			}
			for _, p := range h.tcp {
				if err := a.reachListener(h.Name, h.Addr, "tcp", p); err != nil {
					t.Error(err)
				}
			}
			if h.alee {
				if _, err := a.lab.Exec(context.Background(), h.Name, "timeout", "5", "bash", "-c", `exec 3<>"/dev/tcp/$0/443"`, labkit.LicenseDomain); err != nil {
					t.Errorf("the licensing stand-in from the host: %v", err)
				}
			}
		})
	}
}

// check22: SSH still answers on 22 when kept; otherwise a connect is
// refused (nothing listens), not merely dropped.
func (a *asperaLab) check22(t *testing.T, h asperaHost) {
	if h.keep22 {
		if err := a.login(h.Addr, 22); err != nil {
			t.Errorf("SSH on 22 (kept): %v", err)
		}
		return
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(h.Addr, "22"), 3*time.Second)
	if err == nil {
		c.Close()
		t.Errorf("tcp/22 still connects")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("tcp/22: %v, want connection refused", err)
	}
}

// reachListener starts a listener on the host and reaches it from the
// controller: a TCP connect, or a UDP datagram that must come back.
func (a *asperaLab) reachListener(host, addr, proto string, port int) error {
	stop, err := a.lab.Listen(host, proto, port)
	if err != nil {
		return err
	}
	defer stop()
	if err := a.lab.Reach(addr, proto, port, 2*time.Second); err != nil {
		return fmt.Errorf("%s: %w", host, err)
	}
	return nil
}

func (a *asperaLab) secondRun(t *testing.T) {
	doc, code := a.remedy(t, a.inventory(t, asperaPort), "run", "aspera-server", "-l", "servers")
	if code != 0 {
		t.Fatalf("second run: exit %d, want 0\n%s", code, doc.out)
	}
	for _, h := range doc.Hosts {
		if h.Stats.Changed != 0 {
			t.Errorf("%s: %d changed on the second run, want 0", h.Name, h.Stats.Changed)
		}
	}
	if len(doc.Hosts) != len(a.servers()) {
		t.Errorf("%d hosts ran, want %d", len(doc.Hosts), len(a.servers()))
	}
}

func (a *asperaLab) auditAfter(t *testing.T) {
	report := t.TempDir() + "/audit.md"
	doc, code := a.remedy(t, a.inventory(t, asperaPort), "audit", "aspera-server", "-l", "servers", "--report", report)
	if code != 0 {
		t.Fatalf("audit after: exit %d, want 0\n%s", code, doc.out)
	}
	md, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "S2: TCP/22 is not open to the world") {
		t.Errorf("the report does not list the S2 finding:\n%s", md)
	}
}

func (a *asperaLab) vlinkClash(t *testing.T) {
	host := a.servers()[0].Name
	doc, code := a.remedy(t, a.inventory(t, asperaPort), "audit", "aspera-server", "-l", host, "-e", "vlinks=true vlink_port=33001")
	status, msg, _ := doc.task(host, "Aspera settings")
	if code != 2 || status != "failed" || !strings.Contains(msg, "the Vlink port 33001 is a FASP port") {
		t.Errorf("exit %d, settings %s %q; want exit 2 and the clash named\n%s", code, status, msg, doc.out)
	}
}

func (a *asperaLab) client(t *testing.T) {
	h := a.hosts[slices.IndexFunc(a.hosts, func(h asperaHost) bool { return h.group == "clients" })]
	for _, proto := range []string{"udp", "tcp"} {
		stop, err := a.lab.PeerListen(proto, asperaPort)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	if err := a.datagramFrom(h.Name, a.lab.License, asperaPort); err == nil {
		t.Fatalf("%s: a datagram to udp/%d went through before the run: the egress profile does not block it", h.Name, asperaPort)
	}
	inv := a.inventory(t, 0)
	doc, code := a.remedy(t, inv, "run", "aspera-client", "-l", "clients")
	if code != 0 {
		t.Fatalf("client run: exit %d, want 0\n%s", code, doc.out)
	}
	if err := a.datagramFrom(h.Name, a.lab.License, asperaPort); err != nil {
		t.Errorf("after the run: %v", err)
	}
	doc, code = a.remedy(t, inv, "run", "aspera-client", "-l", "clients")
	if code != 0 || doc.Hosts[0].Stats.Changed != 0 {
		t.Errorf("second client run: exit %d, %d changed; want 0 and 0\n%s", code, doc.Hosts[0].Stats.Changed, doc.out)
	}
	if doc, code = a.remedy(t, inv, "audit", "aspera-client", "-l", "clients"); code != 0 {
		t.Errorf("client audit after: exit %d, want 0\n%s", code, doc.out)
	}
}

// datagramFrom sends a datagram from inside the host to addr:port and
// waits for the echo of the listener there.
func (a *asperaLab) datagramFrom(host, addr string, port int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const probe = "aspera-client probe"
	out, err := a.lab.Exec(ctx, host, "sh", "-c", `printf %s "$1" | socat -T 2 - "$2"`, "sh", probe, fmt.Sprintf("UDP:%s:%d", addr, port))
	if err != nil {
		return err
	}
	if string(out) != probe {
		return fmt.Errorf("%s: udp to %s:%d: echo %q, want %q", host, addr, port, out, probe)
	}
	return nil
}
