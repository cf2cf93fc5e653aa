package lua

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remedy/lua/remote"
)

// The fixtures are FactsCommand's real output, captured as root on a lab
// host of each firewall profile, and as ops through sudo.
func TestParseFactsFixtures(t *testing.T) {
	debian := remote.Facts{OSID: "debian", OSVersion: "12", OSFamily: "debian", Init: "none",
		SSHDVersion: "OpenSSH_9.2", SELinux: "disabled", Root: true, User: "root"}
	tests := []struct {
		file     string
		firewall string
		user     string // the connection user, when not root
	}{
		{"debian12-none.txt", "none", ""},
		{"debian12-nftables.txt", "nftables", ""},
		{"debian12-iptables-nft.txt", "iptables-nft", ""},
		{"debian12-iptables-legacy.txt", "iptables-legacy", ""},
		{"debian12-ufw.txt", "ufw", ""},
		{"debian12-firewalld.txt", "firewalld", ""},
		{"debian12-nftables-sudo.txt", "nftables", "ops"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			out, err := os.ReadFile(filepath.Join("testdata", "facts", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, fw, err := ParseFacts(out, func(argv []string) ([]byte, error) {
				t.Fatalf("a read whose listings agree read the tables again: %q", argv)
				return nil, nil
			})
			if err != nil || fw == nil {
				t.Fatalf("%v, firewall read %v", err, fw)
			}
			if got.FirewallWhy == "" {
				t.Errorf("FirewallWhy is empty")
			}
			got.FirewallWhy = ""
			want := debian
			want.Firewall = tt.firewall
			if tt.user != "" {
				want.User, want.Root = tt.user, false
			}
			if got != want {
				t.Errorf("ParseFacts:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseFactsRejectsForeignOutput(t *testing.T) {
	if _, _, err := ParseFacts([]byte("sh: 1: syntax error\n"), nil); err == nil {
		t.Fatal("ParseFacts accepted output without an id part")
	}
}

func TestParseIdentity(t *testing.T) {
	tests := []struct {
		lines []string
		user  string
		root  bool
	}{
		{[]string{"uid=0", "user=root", "sudo_uid=", "sudo_user="}, "root", true},
		{[]string{"uid=1000", "user=ops", "sudo_uid=", "sudo_user="}, "ops", false},
		// Under become the script runs as root; sudo names who connected.
		{[]string{"uid=0", "user=root", "sudo_uid=1000", "sudo_user=ops"}, "ops", false},
		{[]string{"uid=0", "user=root", "sudo_uid=0", "sudo_user=root"}, "root", true},
	}
	for _, tt := range tests {
		user, root := parseIdentity(tt.lines)
		if user != tt.user || root != tt.root {
			t.Errorf("parseIdentity(%q) = %q, %v; want %q, %v", tt.lines, user, root, tt.user, tt.root)
		}
	}
}

func TestOSFamily(t *testing.T) {
	tests := []struct{ id, like, want string }{
		{"debian", "", "debian"},
		{"ubuntu", "debian", "debian"},
		{"rocky", `rhel centos fedora`, "redhat"},
		{"fedora", "", "redhat"},
		{"opensuse-leap", "suse opensuse", "suse"},
		{"alpine", "", "alpine"},
		{"nixos", "", "nixos"},
	}
	for _, tt := range tests {
		if got := osFamily(tt.id, tt.like); got != tt.want {
			t.Errorf("osFamily(%q, %q) = %q, want %q", tt.id, tt.like, got, tt.want)
		}
	}
}

func TestSmallParsers(t *testing.T) {
	// OpenSSH before 9.x has no -V: the version follows a usage error.
	old := []string{"sshd: illegal option -- V", "OpenSSH_7.4p1, OpenSSL 1.0.2k-fips  26 Jan 2017", "usage: sshd [-46DdeiqTt]"}
	if got := parseSSHDVersion(old); got != "OpenSSH_7.4p1" {
		t.Errorf("parseSSHDVersion(old) = %q", got)
	}
	if got := parseInit([]string{"systemd-booted", "systemd"}); got != "systemd" {
		t.Errorf("parseInit(systemd) = %q", got)
	}
	if got := parseInit([]string{"init"}); got != "sysv" {
		t.Errorf("parseInit(init) = %q", got)
	}
	if !parseSSHSocket([]string{"ssh.socket active", "sshd.socket inactive"}) {
		t.Error("parseSSHSocket missed an active ssh.socket")
	}
	if parseSSHSocket([]string{"ssh.socket inactive", "sshd.socket inactive"}) {
		t.Error("parseSSHSocket saw an inactive socket as active")
	}
	if got := parseSELinux([]string{"Enforcing"}); got != "enforcing" {
		t.Errorf("parseSELinux(Enforcing) = %q", got)
	}
}

func TestFactsCommandIsOneShellWord(t *testing.T) {
	cmd := FactsCommand()
	if !strings.HasPrefix(cmd, "sh -c '") || !strings.HasSuffix(cmd, "'") {
		t.Errorf("FactsCommand is not sh -c with one quoted script: %.40s...", cmd)
	}
}

// FuzzParseFacts: whatever a host prints, parsing never panics and names
// one of the firewalls the runtime knows, or says it cannot tell.
func FuzzParseFacts(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "facts", "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	known := map[string]bool{"firewalld": true, "ufw": true, "nftables": true, "iptables-legacy": true, "iptables-nft": true, "none": true, "unknown": true}
	f.Fuzz(func(t *testing.T, out []byte) {
		facts, _, err := ParseFacts(out, func([]string) ([]byte, error) { return nil, errors.New("no host to read again") })
		if err == nil && !known[facts.Firewall] {
			t.Errorf("firewall %q from %q", facts.Firewall, out)
		}
	})
}
