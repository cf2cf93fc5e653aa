package firewall

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var nsCount atomic.Int32

// netns is a throwaway network namespace for running the real tools.
type netns struct {
	t    *testing.T
	name string
}

// newNetns creates a namespace, or skips the test when this is not root
// with iproute2 (failing instead under CI=true, where it must run).
func newNetns(t *testing.T) *netns {
	t.Helper()
	_, err := exec.LookPath("ip")
	if os.Geteuid() != 0 || err != nil {
		msg := "needs root and iproute2 to create a network namespace"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	n := &netns{t: t, name: fmt.Sprintf("rmdyfw%d-%d", os.Getpid(), nsCount.Add(1))}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", n.name, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", n.name).Run() })
	return n
}

// run runs argv inside the namespace, with stdin from the named file when
// it is not "".
func (n *netns) run(stdin string, argv ...string) []byte {
	n.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.name}, argv...)...)
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			n.t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	out, err := cmd.Output()
	if err != nil {
		n.t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, errText(err))
	}
	return out
}

func errText(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// tool is how one backend's rules are loaded, read, flushed and written
// in a namespace; both iptables variants are installed here, so plans
// name the one they change.
type tool struct {
	backend  string
	iptables string // System.Iptables
	load     func(n *netns, file string)
	read     func(n *netns) (*Ruleset, error)
	flush    [][]string // a simulated reboot
}

var tools = map[string]tool{
	Nftables: {backend: Nftables,
		load:  func(n *netns, f string) { n.run("", "nft", "-f", f) },
		read:  func(n *netns) (*Ruleset, error) { return ReadNft(n.run("", "nft", "-j", "list", "ruleset")) },
		flush: [][]string{{"nft", "flush", "ruleset"}}},
	IptablesLegacy: {backend: IptablesLegacy,
		load:     func(n *netns, f string) { n.run(f, "iptables-legacy-restore") },
		read:     func(n *netns) (*Ruleset, error) { return ReadIptablesSave(n.run("", "iptables-legacy-save"), "ip") },
		flush:    [][]string{{"iptables-legacy", "-t", "filter", "-F"}, {"iptables-legacy", "-t", "raw", "-F"}},
		iptables: "iptables-legacy"},
	IptablesNft: {backend: IptablesNft,
		load:     func(n *netns, f string) { n.run(f, "iptables-nft-restore") },
		read:     func(n *netns) (*Ruleset, error) { return ReadIptablesSave(n.run("", "iptables-nft-save"), "ip") },
		flush:    [][]string{{"iptables-nft", "-t", "filter", "-F"}, {"iptables-nft", "-t", "raw", "-F"}},
		iptables: "iptables-nft"},
}

// rules reads the namespace's live ruleset.
func (tl tool) rules(n *netns) *Ruleset {
	n.t.Helper()
	rs, err := tl.read(n)
	if err != nil {
		n.t.Fatal(err)
	}
	return rs
}

func (tl tool) system() System {
	return System{Backend: tl.backend, OSFamily: "debian", Iptables: tl.iptables}
}

// TestPlanAppliesToRealTools applies plans with the real nft and iptables
// in a throwaway namespace: the commands must be accepted, the re-read
// ruleset must pass every probe, a second plan must find nothing to do,
// the boot file (the input, with remedy's rule added by PlanBootAllow)
// must bring the rule back after a flush, and PlanRemove and
// PlanBootRemove must take it out again, live and at boot.
func TestPlanAppliesToRealTools(t *testing.T) {
	tests := []struct {
		backend, input string
		allow          Allow
	}{
		{Nftables, "nftables/lab-nftables.nft", Allow{Dir: "in", Proto: "udp", Ports: ports(33001, 33010), Comment: "fasp"}},
		{Nftables, "nftables/generated.nft", Allow{Dir: "in", Proto: "tcp", Ports: ports(7003, 7003), Comment: "two chains"}},
		{Nftables, "nftables/generated.nft", Allow{Dir: "in", Proto: "tcp", Ports: ports(8081, 8081), Comment: "user chain"}},
		{Nftables, "nftables/lab-egress.nft", Allow{Dir: "out", Proto: "tcp", Ports: ports(443, 443), Comment: "alee"}},
		{IptablesLegacy, "iptables/lab-iptables.rules", Allow{Dir: "in", Proto: "udp", Ports: ports(33001, 33001), Comment: "fasp"}},
		{IptablesLegacy, "iptables/generated.rules", Allow{Dir: "in", Proto: "udp", Ports: ports(33009, 33009), Comment: "raw"}},
		{IptablesNft, "iptables/rhel7-default.rules", Allow{Dir: "in", Proto: "tcp", Ports: ports(8443, 8443), Comment: "https"}},
	}
	for _, tt := range tests {
		t.Run(tt.backend+"/"+tt.input+"/"+tt.allow.Comment, func(t *testing.T) {
			tl := tools[tt.backend]
			n := newNetns(t)
			tl.load(n, filepath.Join("testdata", tt.input))
			applyAndCheck(t, n, tl, tt.input, tt.allow)
		})
	}
}

func applyAndCheck(t *testing.T, n *netns, tl tool, input string, a Allow) {
	sys := tl.system()
	booted := tl.rules(n)
	plan, err := PlanAllow(booted, sys, a)
	if err != nil || plan.Already {
		t.Fatalf("plan: %v, already %v", err, plan.Already)
	}
	for _, c := range plan.Commands {
		n.run("", c...)
	}
	if again, err := PlanAllow(tl.rules(n), sys, a); err != nil || !again.Already {
		t.Fatalf("after applying %q: still blocked (%v): %+v", plan.Commands, err, again.Before)
	}
	f := tl.bootFile(input)
	text := readText(t, input)
	withRule, err := PlanBootAllow(f, text, booted, a)
	if err != nil || withRule == text {
		t.Fatalf("boot file: %v, unchanged %v", err, withRule == text)
	}
	booted = tl.reboot(n, withRule)
	if again, _ := PlanAllow(booted, sys, a); !again.Already {
		t.Fatalf("after a reboot with\n%s\nblocked: %+v", withRule, again.Before)
	}
	if again, err := PlanBootAllow(f, withRule, booted, a); err != nil || again != withRule {
		t.Fatalf("a second boot plan changed the file (%v):\n%s", err, again)
	}
	rm, err := PlanRemove(booted, sys, Installed{}, "remedy: "+a.Comment)
	if err != nil || len(rm.Commands) != len(plan.Commands) {
		t.Fatalf("remove: %v, %q for %q", err, rm.Commands, plan.Commands)
	}
	for _, c := range rm.Commands {
		n.run("", c...)
	}
	if after, _ := PlanAllow(tl.rules(n), sys, a); after.Already {
		t.Fatal("after remove: still accepted")
	}
	without, err := PlanBootRemove(f, withRule, booted, "remedy: "+a.Comment)
	if err != nil || without != text {
		t.Fatalf("boot file after remove (%v):\n%s\nwant the original:\n%s", err, without, text)
	}
}

// bootFile is the input as the boot file of the tool's service.
func (tl tool) bootFile(input string) BootFile {
	if tl.backend == Nftables {
		return BootFile{Path: input, Format: FormatNft}
	}
	return BootFile{Path: input, Format: FormatIptablesSave, Family: "ip"}
}

// reboot flushes the namespace, loads text as boot would, and returns
// the rules it made.
func (tl tool) reboot(n *netns, text string) *Ruleset {
	n.t.Helper()
	for _, c := range tl.flush {
		n.run("", c...)
	}
	f := filepath.Join(n.t.TempDir(), "boot")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		n.t.Fatal(err)
	}
	tl.load(n, f)
	return tl.rules(n)
}

func readText(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBootDomainAppliesToRealTools writes allow_domain's rules into an
// egress-restricted host's boot files as the module does, reboots a
// namespace with them (an ipset file first, for iptables), fills the sets
// as the refresh job would, and reads back a ruleset that lets the
// domain out with nothing left to add, live or at boot.
func TestBootDomainAppliesToRealTools(t *testing.T) {
	d := Domain{Name: "api.ibmaspera.com", Proto: "tcp", Port: 443, Refresh: 5 * time.Minute, Init: "none",
		Addrs: []netip.Addr{netip.MustParseAddr("198.18.0.2")}}
	sets := setNames(d.Name)
	for _, tt := range []struct{ backend, input, fill string }{
		{Nftables, "nftables/lab-egress.nft", "nft add element inet filter " + sets[0] + " { 198.18.0.2 timeout 1h }"},
		{IptablesLegacy, "iptables/lab-egress.rules", "ipset add " + sets[0] + " 198.18.0.2"},
	} {
		t.Run(tt.backend, func(t *testing.T) {
			tl := tools[tt.backend]
			n := newNetns(t)
			f, text := tl.bootFile(tt.input), readText(t, tt.input)
			tl.load(n, filepath.Join("testdata", tt.input))
			withRules, err := PlanBootAllowDomain(f, text, tl.rules(n), d)
			if err != nil || withRules == text {
				t.Fatalf("boot file: %v, unchanged %v", err, withRules == text)
			}
			if tt.backend != Nftables {
				ipsets, err := PlanBootAllowDomain(BootFile{Path: "/etc/iptables/ipsets", Format: FormatIpset}, "", &Ruleset{}, d)
				if err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(t.TempDir(), "ipsets")
				if err := os.WriteFile(file, []byte(ipsets), 0o600); err != nil {
					t.Fatal(err)
				}
				n.run(file, "ipset", "restore", "-exist")
				if again, _ := PlanBootAllowDomain(BootFile{Format: FormatIpset}, ipsets, &Ruleset{}, d); again != ipsets {
					t.Errorf("a second ipset plan changed the file:\n%s", again)
				}
			}
			booted := tl.reboot(n, withRules)
			if again, err := PlanBootAllowDomain(f, withRules, booted, d); err != nil || again != withRules {
				t.Fatalf("a second boot plan changed the file (%v):\n%s", err, again)
			}
			n.run("", strings.Fields(tt.fill)...)
			sys := tl.system()
			plan, err := PlanAllowDomain(tl.rules(n), sys, d)
			if err != nil || len(plan.Commands) > 0 {
				t.Errorf("after a reboot with\n%s\nthe live plan still adds %q (%v)", withRules, plan.Commands, err)
			}
		})
	}
}
