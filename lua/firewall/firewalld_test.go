package firewall

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var (
	busPublic = System{Backend: Firewalld, Zone: "public", Bus: true}
	// fwconf is how a plan's command calls a permanent object's method.
	fwconf = "sh -c '" + strings.ReplaceAll(fwConfScript, "'", `'\''`) + "' sh "
	// makeLive is the command that makes remedy's live policy unless the
	// permanent configuration has it.
	makeLive = joined([][]string{ensureLive()})
	// busReload is a reload over D-Bus.
	busReload = "busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1 reload"
)

// Over D-Bus an inbound opening is the permanent service (the comment
// as its description) in the permanent zone, and a rich rule for the
// same ports in the runtime zone: no reload. An outbound one is a
// policy, and its rich rule in remedy's live policy in the runtime; the
// first, which makes the live policy, costs one reload.
func TestPlanFirewalldOverDBus(t *testing.T) {
	live := busPublic
	live.Out.Live = &LivePolicy{RichRules: []string{`rule port port="53" protocol="udp" accept`}}
	own := live
	own.Out.Own = map[string][]string{"description": {"remedy: peer"}, "priority": {"-100"},
		"rich_rules": {`rule family="ipv4" destination address="198.18.0.9" port port="8443" protocol="tcp" accept`}}
	tests := []struct {
		name  string
		sys   System
		allow Allow
		want  string
	}{
		{"in", busPublic, Allow{Dir: "in", Proto: "udp", Ports: ports(33001, 33010), Comment: "remedy: aspera FASP"},
			`busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1/config org.fedoraproject.FirewallD1.config addService2 'sa{sv}' remedy-aspera-fasp 2 description s 'remedy: aspera FASP' ports 'a(ss)' 1 33001-33010 udp
` + fwconf + `Zone public org.fedoraproject.FirewallD1.config.zone addService s remedy-aspera-fasp
busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone addRichRule ssi public 'rule port port="33001-33010" protocol="udp" accept' 0`},
		{"in from a source", busPublic, Allow{Dir: "in", Proto: "tcp", Ports: ports(8443, 8443), Src: netip.MustParsePrefix("198.18.0.0/15"), Comment: "remedy: https"},
			`busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1/config org.fedoraproject.FirewallD1.config addService2 'sa{sv}' remedy-https 2 description s 'remedy: https' ports 'a(ss)' 1 8443 tcp
` + fwconf + `Zone public org.fedoraproject.FirewallD1.config.zone addRichRule s 'rule family="ipv4" source address="198.18.0.0/15" service name="remedy-https" accept'
busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone addRichRule ssi public 'rule family="ipv4" source address="198.18.0.0/15" port port="8443" protocol="tcp" accept' 0`},
		{"out, the first", busPublic, Allow{Dir: "out", Proto: "tcp", Ports: ports(8443, 8443), Comment: "remedy: peer"},
			`busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1/config org.fedoraproject.FirewallD1.config addPolicy 'sa{sv}' rmd-peer 5 description s 'remedy: peer' priority i -100 ingress_zones as 1 HOST egress_zones as 1 ANY ports 'a(ss)' 1 8443 tcp
` + makeLive + "\n" + busReload},
		{"out to an address, the first", busPublic, Allow{Dir: "out", Proto: "tcp", Ports: ports(8443, 8443), Dst: netip.MustParsePrefix("2001:db8::/64"), Comment: "remedy: peer"},
			`busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1/config org.fedoraproject.FirewallD1.config addPolicy 'sa{sv}' rmd-peer 5 description s 'remedy: peer' priority i -100 ingress_zones as 1 HOST egress_zones as 1 ANY rich_rules as 1 'rule family="ipv6" destination address="2001:db8::/64" port port="8443" protocol="tcp" accept'
` + makeLive + "\n" + busReload},
		{"out, the live policy there", live, Allow{Dir: "out", Proto: "tcp", Ports: ports(8443, 8443), Comment: "remedy: peer"},
			`busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1/config org.fedoraproject.FirewallD1.config addPolicy 'sa{sv}' rmd-peer 5 description s 'remedy: peer' priority i -100 ingress_zones as 1 HOST egress_zones as 1 ANY ports 'a(ss)' 1 8443 tcp
busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.policy setPolicySettings 'sa{sv}' rmd--live 1 rich_rules as 2 'rule port port="53" protocol="udp" accept' 'rule port port="8443" protocol="tcp" accept'`},
		{"out, the comment's policy there", own, Allow{Dir: "out", Proto: "tcp", Ports: ports(8443, 8443), Dst: netip.MustParsePrefix("198.18.0.10/32"), Comment: "remedy: peer"},
			fwconf + `Policy rmd-peer org.fedoraproject.FirewallD1.config.policy update 'a{sv}' 1 rich_rules as 2 'rule family="ipv4" destination address="198.18.0.9" port port="8443" protocol="tcp" accept' 'rule family="ipv4" destination address="198.18.0.10/32" port port="8443" protocol="tcp" accept'
busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.policy setPolicySettings 'sa{sv}' rmd--live 1 rich_rules as 2 'rule port port="53" protocol="udp" accept' 'rule family="ipv4" destination address="198.18.0.10/32" port port="8443" protocol="tcp" accept'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := planFirewalld(tt.sys, tt.allow)
			if err != nil {
				t.Fatal(err)
			}
			if got := joined(plan.Commands); got != tt.want {
				t.Errorf("commands:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
	// Through PlanAllow, on the ruleset firewalld made (captured).
	plan, err := PlanAllow(loadFixture(t, "firewalld/public-ssh.json"), busPublic, tests[0].allow)
	if err != nil || joined(plan.Commands) != tests[0].want {
		t.Errorf("PlanAllow: %v\n%s\nwant\n%s", err, joined(plan.Commands), tests[0].want)
	}
}

// The domain's ipsets and policy come over D-Bus, and the DNS policies
// a blocked resolver needs share its one reload.
func TestFirewalldDomainOneReload(t *testing.T) {
	got := joined(firewalldDomain(busPublic, setNames(alee.Name), alee))
	want := `busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1/config org.fedoraproject.FirewallD1.config addIPSet 's(ssssa{ss}as)' rmd_api_ibmaspera_com_4 '' '' 'remedy: api.ibmaspera.com' hash:ip 1 family inet 0
busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1/config org.fedoraproject.FirewallD1.config addIPSet 's(ssssa{ss}as)' rmd_api_ibmaspera_com_6 '' '' 'remedy: api.ibmaspera.com' hash:ip 1 family inet6 0
busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1/config org.fedoraproject.FirewallD1.config addPolicy 'sa{sv}' rmd-api-ibmas-a0ec 5 description s 'remedy: api.ibmaspera.com' priority i -100 ingress_zones as 1 HOST egress_zones as 1 ANY rich_rules as 2 'rule family="ipv4" destination ipset="rmd_api_ibmaspera_com_4" port port="443" protocol="tcp" accept' 'rule family="ipv6" destination ipset="rmd_api_ibmaspera_com_6" port port="443" protocol="tcp" accept'
` + makeLive + "\n" + busReload
	if got != want {
		t.Errorf("commands:\n%s\nwant:\n%s", got, want)
	}
	// Each DNS policy over D-Bus comes with its own making of the live
	// policy and reload (busOutbound): one of each is left, at the end.
	for _, sys := range []System{busPublic, {Backend: Firewalld, Zone: "public"}} {
		dns := [][]string{{"dns", "udp"}, fwReload(sys), {"dns", "tcp"}, fwReload(sys)}
		if sys.Bus {
			dns = [][]string{{"dns", "udp"}, ensureLive(), fwReload(sys), {"dns", "tcp"}, ensureLive(), fwReload(sys)}
		}
		domain := firewalldDomain(sys, setNames(alee.Name), alee)
		got := oneReload(append(slices.Clone(domain), dns...))
		want := append(slices.Clone(domain[:len(domain)-1]), []string{"dns", "udp"}, []string{"dns", "tcp"}, fwReload(sys))
		if sys.Bus {
			want = append(slices.Clone(domain[:len(domain)-2]), []string{"dns", "udp"}, []string{"dns", "tcp"}, ensureLive(), fwReload(sys))
		}
		if joined(got) != joined(want) {
			t.Errorf("bus %v: oneReload made\n%s\nwant\n%s", sys.Bus, joined(got), joined(want))
		}
	}
}

// Removal takes remedy's services out of the permanent configuration,
// and out of the runtime as an inbound opening put them there: the rich
// rules beside the service, the service after a reload, never a port (an
// administrator's); a policy, or a runtime remedy could not read, costs
// one reload. remedy's live policy goes only with everything.
func TestRemoveFirewalldOverDBus(t *testing.T) {
	inst := Installed{
		FirewalldServices:  []string{"ssh", "remedy-fasp", "remedy-https", "remedy-other"},
		FirewalldRichRules: []string{`rule family="ipv4" source address="198.18.0.0/15" service name="remedy-https" accept`},
		FirewalldServicePorts: map[string][]string{
			"remedy-fasp": {"33001-33010/udp"}, "remedy-https": {"8443/tcp"},
		},
	}
	// As busFirewalld left it: the rich rules for the FASP ports and HTTPS.
	beside := &Zone{Name: "public", Services: []string{"ssh"}, RichRules: []string{
		`rule port port="33001-33010" protocol="udp" accept`,
		`rule family="ipv4" source address="198.18.0.0/15" port port="8443" protocol="tcp" accept`}}
	// An administrator opened the same ports at runtime after remedy did.
	admin := &Zone{Name: "public", Services: []string{"ssh"}, Ports: []string{"33001-33010/udp"},
		RichRules: []string{`rule port port="33001-33010" protocol="udp" accept`}}
	// After a reload: the services themselves.
	reloaded := &Zone{Name: "public", Services: []string{"remedy-fasp", "ssh"},
		RichRules: []string{`rule family="ipv4" source address="198.18.0.0/15" service name="remedy-https" accept`}}
	tests := []struct {
		name    string
		runtime *Zone
		prefix  string
		policy  string
		want    string
	}{
		{"rich rule beside the service", beside, "remedy: fasp", "",
			fwconf + `Service remedy-fasp org.fedoraproject.FirewallD1.config.service remove
busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone removeRichRule ss public 'rule port port="33001-33010" protocol="udp" accept'`},
		{"an administrator's port stays", admin, "remedy: fasp", "",
			fwconf + `Service remedy-fasp org.fedoraproject.FirewallD1.config.service remove
busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone removeRichRule ss public 'rule port port="33001-33010" protocol="udp" accept'`},
		{"rich rule from a source beside the service", beside, "remedy: https", "",
			fwconf + `Zone public org.fedoraproject.FirewallD1.config.zone removeRichRule s 'rule family="ipv4" source address="198.18.0.0/15" service name="remedy-https" accept'
` + fwconf + `Service remedy-https org.fedoraproject.FirewallD1.config.service remove
busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone removeRichRule ss public 'rule family="ipv4" source address="198.18.0.0/15" port port="8443" protocol="tcp" accept'`},
		{"after a reload", reloaded, "remedy: fasp", "",
			fwconf + `Service remedy-fasp org.fedoraproject.FirewallD1.config.service remove
busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone removeService ss public remedy-fasp`},
		{"runtime unknown", nil, "remedy: fasp", "",
			fwconf + `Service remedy-fasp org.fedoraproject.FirewallD1.config.service remove
` + busReload},
		{"a policy", beside, "remedy: peer", "rmd-peer",
			fwconf + `Policy rmd-peer org.fedoraproject.FirewallD1.config.policy remove
` + busReload},
		{"the live policy stays", beside, "remedy: live", livePolicy, ""},
		{"everything", beside, "remedy:", livePolicy,
			fwconf + `Service remedy-fasp org.fedoraproject.FirewallD1.config.service remove
busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone removeRichRule ss public 'rule port port="33001-33010" protocol="udp" accept'
` + fwconf + `Zone public org.fedoraproject.FirewallD1.config.zone removeRichRule s 'rule family="ipv4" source address="198.18.0.0/15" service name="remedy-https" accept'
` + fwconf + `Service remedy-https org.fedoraproject.FirewallD1.config.service remove
busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone removeRichRule ss public 'rule family="ipv4" source address="198.18.0.0/15" port port="8443" protocol="tcp" accept'
` + fwconf + `Service remedy-other org.fedoraproject.FirewallD1.config.service remove
` + fwconf + `Policy rmd--live org.fedoraproject.FirewallD1.config.policy remove
` + busReload},
		{"nothing of remedy's", beside, "remedy: none", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := inst
			in.Runtime = tt.runtime
			in.FirewalldPolicies = []string{"allow-host-ipv6", tt.policy}
			plan, err := PlanRemove(loadFixture(t, "firewalld/public-ssh.json"), busPublic, in, tt.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if got := joined(plan.Commands); got != tt.want {
				t.Errorf("commands:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// Without busctl every change is firewall-cmd --permanent, and a removal
// one reload.
func TestRemoveFirewalldWithFirewallCmd(t *testing.T) {
	inst := Installed{FirewalldServices: []string{"ssh", "remedy-fasp"}, FirewalldPolicies: []string{"rmd-fasp"}}
	plan, err := PlanRemove(loadFixture(t, "firewalld/public-ssh.json"), System{Backend: Firewalld, Zone: "public"}, inst, "remedy: fasp")
	if err != nil {
		t.Fatal(err)
	}
	want := `firewall-cmd --permanent --zone=public --remove-service=remedy-fasp
firewall-cmd --permanent --delete-service=remedy-fasp
firewall-cmd --permanent --delete-policy=rmd-fasp
firewall-cmd --reload`
	if got := joined(plan.Commands); got != want {
		t.Errorf("commands:\n%s\nwant:\n%s", got, want)
	}
}

// ensureLive makes remedy's live policy only where the permanent
// configuration lacks it: its script, with a busctl stand-in on PATH
// that knows the policy or not.
func TestEnsureLiveMakesThePolicyOnce(t *testing.T) {
	for _, there := range []bool{false, true} {
		dir := t.TempDir()
		answer := "exit 1"
		if there {
			answer = `echo 'o "/org/fedoraproject/FirewallD1/config/policy/3"'`
		}
		stub := "#!/bin/sh\necho \"$*\" >> \"$0.calls\"\ncase $* in *getPolicyByName*) " + answer + " ;; esac\n"
		if err := os.WriteFile(filepath.Join(dir, "busctl"), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
		argv := ensureLive()
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("there %v: %v: %s", there, err, out)
		}
		calls, _ := os.ReadFile(filepath.Join(dir, "busctl.calls"))
		made := strings.Contains(string(calls), "addPolicy sa{sv} rmd--live 4 description s remedy: outbound openings")
		if made == there || !strings.Contains(string(calls), "getPolicyByName s rmd--live") {
			t.Errorf("policy there %v: busctl called with\n%s", there, calls)
		}
	}
}

// Without busctl, an outbound opening whose comment's policy is there
// already (a second address of the same server) adds its destination
// to that policy: making the policy again failed with NAME_CONFLICT.
// Whether it is there comes from its file, which the read's script
// finds, run here on a directory of its own.
func TestPlanFirewalldSecondDestinationWithFirewallCmd(t *testing.T) {
	a := Allow{Dir: "out", Proto: "tcp", Ports: ports(8444, 8444), Dst: netip.MustParsePrefix("198.18.0.10/32"), Comment: "remedy: peer"}
	dir := t.TempDir()
	script := strings.ReplaceAll(FirewalldOutArgv(a)[2], "/etc/firewalld/", dir+"/")
	for _, there := range []bool{false, true} {
		if there {
			if err := os.MkdirAll(filepath.Join(dir, "policies"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "policies", "rmd-peer.xml"), []byte("<policy/>"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// No firewalld answers here on D-Bus, as busctl cannot call it
		// where it is missing: those parts come back empty.
		out, err := exec.Command("sh", "-c", script, "sh", "rmd-peer").Output()
		if err != nil {
			t.Fatal(err)
		}
		fo, err := ReadFirewalldOut(out)
		if err != nil || fo.Made != there || fo.Live != nil || fo.Own != nil {
			t.Fatalf("policy there %v: read %+v, %v", there, fo, err)
		}
		plan, err := planFirewalld(System{Backend: Firewalld, Zone: "public", Out: fo}, a)
		if err != nil {
			t.Fatal(err)
		}
		got := joined(plan.Commands)
		rule := `firewall-cmd --permanent --policy=rmd-peer '--add-rich-rule=rule family="ipv4" destination address="198.18.0.10/32" port port="8444" protocol="tcp" accept'
firewall-cmd --reload`
		if made := strings.Contains(got, "--new-policy="); made == there || !strings.HasSuffix(got, rule) {
			t.Errorf("policy there %v:\n%s\nwant the policy made only when it is not there, then:\n%s", there, got, rule)
		}
	}
}

// Over D-Bus, a policy made since the last reload is not in the runtime,
// its opening in remedy's live policy instead: removal takes it out of
// the permanent configuration and its rule out of the live policy, no
// reload (a rule a staying policy makes too stays). A policy a reload
// loaded goes at one reload: firewalld has no method taking it out of
// the runtime.
func TestRemoveFirewalldLiveOnly(t *testing.T) {
	r2 := `rule family="ipv4" destination address="198.18.0.2/32" port port="8444" protocol="tcp" accept`
	port := `rule port port="9000" protocol="tcp" accept`
	inst := Installed{
		FirewalldPolicies: []string{"allow-host-ipv6", "rmd-peer", "rmd-peer2", "rmd-other", livePolicy},
		RuntimePolicies:   []string{"allow-host-ipv6", "rmd-peer", livePolicy},
		PolicySettings: map[string]map[string][]string{
			"rmd-peer2": {"rich_rules": {r2}, "ports": {"9000", "tcp"}},
			"rmd-other": {"ports": {"9000", "tcp"}},
		},
		LiveRules: []string{r2, port},
	}
	live := "busctl call -- org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.policy setPolicySettings 'sa{sv}' rmd--live 1 rich_rules as 1 '" + port + "'"
	for _, tt := range []struct{ prefix, want string }{
		{"remedy: peer2", fwconf + "Policy rmd-peer2 org.fedoraproject.FirewallD1.config.policy remove\n" + live},
		{"remedy: peer", fwconf + "Policy rmd-peer org.fedoraproject.FirewallD1.config.policy remove\n" + busReload},
	} {
		plan, err := PlanRemove(loadFixture(t, "firewalld/public-ssh.json"), busPublic, inst, tt.prefix)
		if err != nil {
			t.Fatal(err)
		}
		if got := joined(plan.Commands); got != tt.want {
			t.Errorf("%q:\n%s\nwant:\n%s", tt.prefix, got, tt.want)
		}
	}
}
