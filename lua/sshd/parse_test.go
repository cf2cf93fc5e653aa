package sshd

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The sshd-T fixtures are `sshd -T -f FILE` output of OpenSSH 9.2 (Debian 12)
// on the .conf file beside each.
func TestParseEffective(t *testing.T) {
	cases := []struct {
		fixture string
		key     string
		want    []string
		multi   bool
	}{
		{"sshd-T/debian12-default.txt", "port", []string{"22"}, true},
		{"sshd-T/debian12-default.txt", "listenaddress", []string{"[::]:22", "0.0.0.0:22"}, true},
		{"sshd-T/debian12-default.txt", "permitrootlogin", []string{"without-password"}, false},
		{"sshd-T/debian12-default.txt", "acceptenv", []string{"LANG", "LC_*"}, true},
		{"sshd-T/debian12-default.txt", "subsystem", []string{"sftp /usr/lib/openssh/sftp-server"}, true},
		{"sshd-T/debian12-default.txt", "authorizedkeysfile", []string{".ssh/authorized_keys .ssh/authorized_keys2"}, false},
		{"sshd-T/multi-valued.txt", "port", []string{"22", "2222"}, true},
		{"sshd-T/multi-valued.txt", "listenaddress", []string{"198.18.0.5:22", "198.18.0.5:2222", "198.18.0.6:2200", "[::1]:2201"}, true},
		{"sshd-T/multi-valued.txt", "hostkey", []string{"/tmp/sshdfx/hostkey", "/tmp/sshdfx/hostkey2"}, true},
		{"sshd-T/multi-valued.txt", "allowusers", []string{"alice", "bob", "carol"}, true},
		{"sshd-T/multi-valued.txt", "setenv", []string{"A=1", "B=2"}, true},
		{"sshd-T/multi-valued.txt", "x11forwarding", []string{"no"}, false},
		{"sshd-T/pinned-listenaddress.txt", "listenaddress", []string{"198.18.0.1:2222"}, true},
	}
	for _, c := range cases {
		cfg := ParseEffective(readFixture(t, c.fixture))
		if got := cfg[c.key]; !slices.Equal(got, c.want) {
			t.Errorf("%s: %s = %q, want %q", c.fixture, c.key, got, c.want)
		}
		if cfg.MultiValued(c.key) != c.multi {
			t.Errorf("%s: MultiValued(%s) = %v", c.fixture, c.key, !c.multi)
		}
	}
	for fixture, want := range map[string][]int{
		"sshd-T/debian12-default.txt":     {22},
		"sshd-T/multi-valued.txt":         {22, 2200, 2201, 2222},
		"sshd-T/pinned-listenaddress.txt": {2222},
	} {
		if got := ParseEffective(readFixture(t, fixture)).ListenPorts(); !slices.Equal(got, want) {
			t.Errorf("%s: ListenPorts() = %v, want %v", fixture, got, want)
		}
	}
}

// The ss fixtures are `ss -Htlnp` run in a throwaway network namespace: a
// real sshd on sshd-two-ports-pinned.conf beside socat and python listeners.
func TestParseListeners(t *testing.T) {
	ls, err := ParseListeners(readFixture(t, "ss/sshd-two-ports-pinned.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sshd := SSHD(ls, nil)
	if len(ls) != 6 || len(sshd) != 5 {
		t.Fatalf("got %d listeners, %d of sshd; want 6 and 5", len(ls), len(sshd))
	}
	want := Listener{Addr: "198.18.99.1", Port: 2200, Procs: []Proc{{Name: "sshd", PID: 9541}}}
	if !slices.ContainsFunc(sshd, func(l Listener) bool {
		return l.Addr == want.Addr && l.Port == want.Port && slices.Equal(l.Procs, want.Procs)
	}) {
		t.Errorf("no %+v among %+v", want, sshd)
	}
	if !ListeningOn(sshd, 33001) || ListeningOn(sshd, 8080) {
		t.Errorf("ListeningOn: sshd holds 33001 and not socat's 8080")
	}

	other, err := ParseListeners(readFixture(t, "ss/other-listeners.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(SSHD(other, nil)) != 0 {
		t.Errorf("no sshd in other-listeners.txt, got %+v", SSHD(other, nil))
	}
	byPort := map[int]Listener{}
	for _, l := range other {
		byPort[l.Port] = l
	}
	if byPort[2022].Addr != "*" || byPort[2023].Addr != "::1" || len(byPort[2024].Procs) != 2 {
		t.Errorf("dual-stack, IPv6 loopback or shared socket misread: %+v", other)
	}
}

func TestParseListenersScopedAndBad(t *testing.T) {
	ls, err := ParseListeners(`LISTEN 0 128 [fe80::1]%eth0:22 [::]:* users:(("sshd",pid=7,fd=3))` + "\n")
	if err != nil || len(ls) != 1 || ls[0].Addr != "fe80::1" || ls[0].Port != 22 {
		t.Errorf("scoped address: %+v, %v", ls, err)
	}
	// ssh.socket's listener belongs to systemd (pid 1): the line is written
	// here in ss's format, as no systemd runs on this machine.
	socket := `LISTEN 0 4096 *:33001 *:* users:(("systemd",pid=1,fd=52))` + "\n" +
		`LISTEN 0 4096 *:631 *:* users:(("systemd",pid=1,fd=60))` + "\n"
	ls, err = ParseListeners(socket)
	if got := SSHD(ls, []int{33001}); err != nil || len(got) != 1 || got[0].Port != 33001 {
		t.Errorf("socket-activated sshd: %+v, %v", got, err)
	}
	if _, err := ParseListeners("LISTEN 0 128 0.0.0.0:ssh 0.0.0.0:*\n"); err == nil {
		t.Error("a service name instead of a port number must be an error")
	}
}

// semanage cannot run here (no SELinux). The RHEL fixtures are recorded
// from Red Hat's RH134 course text, which prints `semanage port -l` on
// RHEL 9, with the ssh_port_t row that same text documents (22/tcp by
// default) and, in the second file, after `semanage port -a -t ssh_port_t
// -p tcp 33001`. debian12-default.txt is `semanage port -l` on the VM
// lab's SELinux profile (Debian 12, selinux-policy-default), where
// `semanage port -m ... 922` fails ("Port tcp/922 is not defined": 922 is
// in hi_reserved_port_t's 512-1023 only), `-a` labels it, and `-a ...
// 8080` fails ("already defined").
func TestLabelCommand(t *testing.T) {
	def, err := ParsePortLabels(readFixture(t, "semanage/rhel9-default.txt"))
	if err != nil {
		t.Fatal(err)
	}
	moved, err := ParsePortLabels(readFixture(t, "semanage/rhel9-ssh-33001.txt"))
	if err != nil {
		t.Fatal(err)
	}
	debian, err := ParsePortLabels(readFixture(t, "semanage/debian12-default.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		labels []PortLabel
		port   int
		want   []string
	}{
		{def, 22, nil},
		{def, 33001, []string{"semanage", "port", "-a", "-t", "ssh_port_t", "-p", "tcp", "33001"}},
		{def, 8080, []string{"semanage", "port", "-m", "-t", "ssh_port_t", "-p", "tcp", "8080"}},
		{def, 10005, []string{"semanage", "port", "-a", "-t", "ssh_port_t", "-p", "tcp", "10005"}}, // in a range only
		{def, 3130, []string{"semanage", "port", "-a", "-t", "ssh_port_t", "-p", "tcp", "3130"}},   // labelled for udp only
		{moved, 33001, nil},
		{debian, 22, nil},
		{debian, 922, []string{"semanage", "port", "-a", "-t", "ssh_port_t", "-p", "tcp", "922"}},
		{debian, 8080, []string{"semanage", "port", "-m", "-t", "ssh_port_t", "-p", "tcp", "8080"}},
		{debian, 33001, []string{"semanage", "port", "-a", "-t", "ssh_port_t", "-p", "tcp", "33001"}},
	}
	for _, c := range cases {
		if got := LabelCommand(c.labels, c.port); !slices.Equal(got, c.want) {
			t.Errorf("port %d: %q, want %q", c.port, got, c.want)
		}
	}
	if _, err := ParsePortLabels("ssh_port_t tcp 22-x\n"); err == nil {
		t.Error("a bad range must be an error")
	}
}

// systemctl cat needs systemd as PID 1, which this machine lacks. The
// fixtures are recorded: Debian 12's ssh.socket (the unit file on this
// machine) under systemctl cat's "# path" header, and with the
// /etc/systemd/system/ssh.socket.d/addresses.conf drop-in Ubuntu writes when
// it migrates Port settings (Ubuntu's announcement of socket activation).
func TestParseListenStreams(t *testing.T) {
	cases := map[string][]string{
		"systemctl/debian12-ssh-socket.txt":     {"22"},
		"systemctl/ubuntu-addresses-dropin.txt": {"0.0.0.0:2222", "[::]:2222"},
	}
	for fixture, want := range cases {
		if got := ParseListenStreams(readFixture(t, fixture)); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", fixture, got, want)
		}
	}
	for s, want := range map[string]int{"22": 22, "0.0.0.0:2222": 2222, "[::]:33001": 33001, "/run/ssh.sock": 0, "vsock:2:22": 0} {
		if got, ok := StreamPort(s); got != want || ok != (want != 0) {
			t.Errorf("StreamPort(%q) = %d, %v", s, got, ok)
		}
	}
}

func TestPlanMoveSocket(t *testing.T) {
	fs := fileSetFrom(t, map[string]string{mainPath: "Port 22\n"})
	p, err := PlanMove(fs, mainPath, MoveRequest{To: 33001, Socket: true, Streams: []string{"22"}})
	if err != nil {
		t.Fatal(err)
	}
	var drop []Edit
	for _, e := range append(p.Phase1, p.Phase2...) {
		if e.Path == SocketDropInPath {
			drop = append(drop, e)
		}
	}
	if len(drop) != 2 || !drop[0].Create || drop[1].Create {
		t.Fatalf("want the drop-in created in phase 1 and rewritten in phase 2, got %+v", drop)
	}
	if got := ParseListenStreams(drop[0].New); !slices.Equal(got, []string{"22", "33001"}) {
		t.Errorf("phase 1 drop-in listens on %q", got)
	}
	if got := ParseListenStreams(drop[1].New); !slices.Equal(got, []string{"33001"}) {
		t.Errorf("phase 2 drop-in listens on %q", got)
	}
	if !slices.Equal(p.From, []int{22}) || !slices.Equal(p.Listen1, []int{22, 33001}) || !slices.Equal(p.Listen2, []int{33001}) {
		t.Errorf("ports: %v, %v, %v", p.From, p.Listen1, p.Listen2)
	}
	fs.Text[SocketDropInPath] = drop[1].New
	fs.Text[mainPath] = p.Phase2[0].New
	again, err := PlanMove(fs, mainPath, MoveRequest{To: 33001, Socket: true, Streams: []string{"33001"}})
	if err != nil || !again.Empty() {
		t.Errorf("a second run must plan nothing: %+v, %v", again, err)
	}
}

// Ubuntu 24.04 after an upgrade: sshd_config already says 33001, but the
// socket still listens on 22. The files need nothing; the socket moves in
// two phases all the same.
func TestPlanMoveSocketBehindConfig(t *testing.T) {
	fs := fileSetFrom(t, map[string]string{mainPath: "Port 33001\n"})
	p, err := PlanMove(fs, mainPath, MoveRequest{To: 33001, Socket: true, Streams: []string{"0.0.0.0:22", "[::]:22"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Phase1) != 1 || len(p.Phase2) != 1 || p.Phase1[0].Path != SocketDropInPath {
		t.Fatalf("want only the drop-in in each phase, got %+v", p)
	}
	if !slices.Equal(p.From, []int{22}) || !slices.Equal(p.Listen1, []int{22, 33001}) || !slices.Equal(p.Listen2, []int{33001}) {
		t.Errorf("ports: %v, %v, %v", p.From, p.Listen1, p.Listen2)
	}
}

func TestPlanMoveRefusesOddInput(t *testing.T) {
	cases := map[string]string{
		"Port abc\n":                     "bad port number",
		"Port 22 2222\n":                 "Port takes one port",
		"Port 70000\n":                   "bad port number",
		"ListenAddress [::1:22\n":        "bad address",
		"ListenAddress 1.2.3.4 x\n":      "bad ListenAddress",
		"Banner \"/etc/issue\n":          "unterminated quote",
		"Include /etc/ssh/sshd_config\n": "nested deeper",
	}
	for text, want := range cases {
		fs := FileSet{Text: map[string]string{mainPath: text}, Listed: map[Listing][]string{{Dir: SSHDir, Depth: 1}: {mainPath}}}
		_, err := PlanMove(fs, mainPath, MoveRequest{To: 33001})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one saying %q", text, err, want)
		}
	}
	if _, err := PlanMove(FileSet{}, mainPath, MoveRequest{To: 33001}); err == nil {
		t.Error("planning without the main file's text must fail")
	}
	if _, err := PlanMove(FileSet{}, mainPath, MoveRequest{To: 0}); err == nil {
		t.Error("port 0 must be refused")
	}
}

// TestListingCommand runs the listing command with the real sh and find.
func TestListingCommand(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a.conf", ".b.conf", "sub/c.conf", "sub/deeper/d.conf"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for depth, want := range map[int][]string{1: {".b.conf", "a.conf"}, 2: {"sub/c.conf"}} {
		argv := Listing{Dir: dir, Depth: depth}.Command()
		out, err := exec.Command(argv[0], argv[1:]...).Output()
		if err != nil {
			t.Fatal(err)
		}
		got := ParseListing(string(out))
		slices.Sort(got)
		for i := range want {
			want[i] = filepath.Join(dir, want[i])
		}
		if !slices.Equal(got, want) {
			t.Errorf("depth %d: %q, want %q", depth, got, want)
		}
	}
	argv := Listing{Dir: filepath.Join(dir, "missing"), Depth: 1}.Command()
	if out, err := exec.Command(argv[0], argv[1:]...).Output(); err != nil || len(out) != 0 {
		t.Errorf("a missing directory must list nothing, got %q, %v", out, err)
	}
}
