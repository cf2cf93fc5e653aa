package firewall

import (
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const aleeScript = "/usr/local/sbin/remedy-domain-api-ibmaspera-com"

var aleeJob = DomainJob{Script: aleeScript, Domain: "api.ibmaspera.com",
	Files: []string{"/etc/systemd/system/remedy-domain-api-ibmaspera-com.timer", "/etc/systemd/system/remedy-domain-api-ibmaspera-com.service"}}

func TestReadDomainJobs(t *testing.T) {
	tests := []struct {
		name, out string
		want      []DomainJob
	}{
		{"systemd", aleeScript + " api.ibmaspera.com /etc/systemd/system/remedy-domain-api-ibmaspera-com.timer /etc/systemd/system/remedy-domain-api-ibmaspera-com.service\n", []DomainJob{aleeJob}},
		{"no init", aleeScript + " api.ibmaspera.com\n", []DomainJob{{Script: aleeScript, Domain: "api.ibmaspera.com"}}},
		{"cron", "/usr/local/sbin/remedy-domain-x-org x.org /etc/cron.d/remedy-domain-x-org\n",
			[]DomainJob{{Script: "/usr/local/sbin/remedy-domain-x-org", Domain: "x.org", Files: []string{"/etc/cron.d/remedy-domain-x-org"}}}},
		{"none", "", nil},
		// A script whose name line is not a domain's is not remedy's.
		{"not a name", "/usr/local/sbin/remedy-domain-x $(reboot)\n/usr/local/sbin/remedy-domain-y\n", nil},
		{"a file of another job is not this one's", aleeScript + " api.ibmaspera.com /etc/cron.d/other\n", []DomainJob{{Script: aleeScript, Domain: "api.ibmaspera.com"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ReadDomainJobs([]byte(tt.out))
			if !slices.EqualFunc(got, tt.want, func(a, b DomainJob) bool {
				return a.Script == b.Script && a.Domain == b.Domain && slices.Equal(a.Files, b.Files)
			}) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The job and its files follow refreshJob's names.
func TestJobFilesAreRefreshJobs(t *testing.T) {
	for _, init := range []string{"systemd", "cron"} {
		d := alee
		d.Init = init
		files, _ := refreshJob(System{Backend: Nftables}, jobUnit(d.Name), setNames(d.Name), nil, d)
		if files[0].Path != aleeScript {
			t.Errorf("%s: script %s, want %s", init, files[0].Path, aleeScript)
		}
		for _, f := range files[1:] {
			if !slices.Contains(jobFiles(jobUnit(d.Name)), f.Path) {
				t.Errorf("%s: %s is not among jobFiles", init, f.Path)
			}
		}
	}
}

// RemoveDomainAppliesToRealTools applies allow_domain with the real
// tools for two domains, the comment of one a prefix of the other's,
// then removes one, then the other: the job is stopped before any rule
// goes, the sets go after the rules naming them (nft and ipset refuse
// otherwise), the first removal leaves every rule and set of the other
// domain's (and the DNS rules its job needs), nothing of remedy's is
// left after the second, and a third has nothing to do.
func TestRemoveDomainAppliesToRealTools(t *testing.T) {
	d := Domain{Name: "api.ibmaspera.com", Proto: "tcp", Port: 443, Refresh: time.Minute, Init: "none",
		Addrs: []netip.Addr{netip.MustParseAddr("198.18.0.2")}}
	cn := d
	cn.Name, cn.Addrs = "api.ibmaspera.com.cn", []netip.Addr{netip.MustParseAddr("198.18.0.3")}
	cnJob := DomainJob{Script: "/usr/local/sbin/remedy-domain-api-ibmaspera-com-cn", Domain: cn.Name}
	for _, tt := range []struct{ backend, input string }{
		{Nftables, "nftables/lab-egress.nft"},
		{IptablesLegacy, "iptables/lab-egress.rules"},
		{IptablesNft, "iptables/lab-egress.rules"},
	} {
		t.Run(tt.backend, func(t *testing.T) {
			tl := tools[tt.backend]
			n := newNetns(t)
			tl.load(n, filepath.Join("testdata", tt.input))
			sys := tl.system()
			sys.Init = "none"
			read := func() *Ruleset {
				rs := tl.rules(n)
				if tt.backend != Nftables {
					if err := ReadIpsetSave(rs, n.run("", "ipset", "save")); err != nil {
						t.Fatal(err)
					}
				}
				return rs
			}
			inst := Installed{DomainJobs: []DomainJob{{Script: aleeScript, Domain: d.Name}, cnJob}}
			for _, d := range []Domain{d, cn} {
				allow, err := PlanAllowDomain(read(), sys, d)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range allow.Commands {
					n.run("", c...)
				}
				if tt.backend != Nftables {
					// As the job leaves them: both families, with or without a rule.
					n.run("", "ipset", "create", "-exist", setNames(d.Name)[1], "hash:ip", "family", "inet6")
				}
			}
			remove := func(prefix string, inst Installed) []string {
				if tt.backend != Nftables {
					inst.Ipsets = strings.Fields(string(n.run("", "ipset", "list", "-n")))
				}
				rm, err := PlanRemove(read(), sys, inst, prefix)
				if err != nil {
					t.Fatal(err)
				}
				if first := strings.Join(rm.Commands[0], " "); !strings.HasPrefix(first, "sh -c "+stopLoop) {
					t.Errorf("first command %s: want the job stopped first", first)
				}
				var script []string
				for _, c := range rm.Commands {
					switch {
					case c[0] == "nft" || c[0] == "ipset" || strings.HasPrefix(c[0], "iptables"):
						n.run("", c...)
					case c[0] == "sh":
						script = append(script, c[len(c)-1])
					case c[0] == "rm":
						script = append(script, c[3:]...)
					}
				}
				return script
			}
			// The removal of the one domain's comment leaves the other's.
			if got := remove("remedy: api.ibmaspera.com", inst); !slices.Equal(got, []string{aleeScript, aleeScript}) {
				t.Errorf("the jobs stopped and deleted: %q, want only %s's", got, d.Name)
			}
			left := remedys(read(), n, tt.backend != Nftables)
			want := "DNS/tcp for api.ibmaspera.com\nDNS/udp for api.ibmaspera.com\napi.ibmaspera.com.cn"
			if got := strings.Join(left.comments, "\n"); got != want {
				t.Errorf("rules left:\n%s\nwant the other domain's and the DNS rules its job needs:\n%s", got, want)
			}
			sets := setNames(cn.Name)
			if !slices.Equal(left.sets, sets[:]) {
				t.Errorf("sets left %q, want the other domain's %q", left.sets, sets)
			}
			if got := remove("remedy: api.ibmaspera.com.cn", Installed{DomainJobs: []DomainJob{cnJob}}); !slices.Equal(got, []string{cnJob.Script, cnJob.Script}) {
				t.Errorf("the jobs stopped and deleted: %q, want only %s's", got, cn.Name)
			}
			if left := remedys(read(), n, tt.backend != Nftables); len(left.comments)+len(left.sets) > 0 {
				t.Errorf("left after both removals: %+v", left)
			}
			if again, err := PlanRemove(read(), sys, Installed{}, "remedy:"); err != nil || !again.Already {
				t.Errorf("third removal: %v, %q", err, again.Commands)
			}
		})
	}
}

// remedysLeft are the comments of remedy's rules, without the prefix,
// and the names of its sets (and ipsets) on a host, each sorted and
// once.
type remedysLeft struct{ comments, sets []string }

func remedys(rs *Ruleset, n *netns, ipsets bool) remedysLeft {
	var left remedysLeft
	if ipsets {
		left.sets = strings.Fields(string(n.run("", "ipset", "list", "-n")))
	}
	for _, tb := range rs.Tables {
		for name := range tb.Sets {
			if strings.HasPrefix(name, "rmd_") {
				left.sets = append(left.sets, name)
			}
		}
		for _, c := range tb.Chains {
			for _, r := range c.Rules {
				if name, ok := strings.CutPrefix(r.Comment, CommentPrefix+" "); ok {
					left.comments = append(left.comments, name)
				}
			}
		}
	}
	slices.Sort(left.comments)
	slices.Sort(left.sets)
	left.comments, left.sets = slices.Compact(left.comments), slices.Compact(left.sets)
	return left
}

// A set of remedy's that a rule the removal keeps names is refused,
// before anything changes.
func TestRemoveDomainRefusesASetInUse(t *testing.T) {
	rs := loadFixture(t, "nftables/lab-egress.json")
	tb := rs.Table("inet", "filter")
	addSampleSet(&Ruleset{Tables: []*Table{tb}}, "rmd_api_ibmaspera_com_4", alee.sampleAddrs(false))
	out := tb.Chain("output")
	out.Rules = append(out.Rules, &Rule{Handle: 90, Comment: "remedy: api.ibmaspera.com",
		Matches: []Match{{Field: DAddr, Set: "rmd_api_ibmaspera_com_4"}}, Action: Action{Kind: Accept}},
		&Rule{Handle: 91, Comment: "the admin's", Matches: []Match{{Field: DAddr, Set: "rmd_api_ibmaspera_com_4"}}, Action: Action{Kind: Accept}})
	_, err := PlanRemove(rs, debian, Installed{}, "remedy: api.ibmaspera.com")
	if err == nil || !strings.Contains(err.Error(), `"the admin's"`) {
		t.Errorf("err %v: want the admin's rule named", err)
	}
}

// ufw: the job's per-address rules and the DNS rules go, after the job
// is stopped, highest number first; another domain's stay.
func TestRemoveDomainUfw(t *testing.T) {
	numbered := `Status: active

     To                         Action      From
     --                         ------      ----
[ 1] 22/tcp                     ALLOW IN    Anywhere
[ 2] 198.18.0.2 443/tcp         ALLOW OUT   Anywhere                   (out) # remedy: api.ibmaspera.com
[ 3] 53/udp                     ALLOW OUT   Anywhere                   (out) # remedy: DNS/udp for api.ibmaspera.com
[ 4] 198.18.0.9 443/tcp         ALLOW OUT   Anywhere                   (out) # remedy: api.ibmaspera.com-other
`
	plan, err := PlanRemove(&Ruleset{}, System{Backend: Ufw, Init: "systemd"}, Installed{UfwNumbered: numbered, DomainJobs: []DomainJob{aleeJob}}, "remedy: api.ibmaspera.com")
	if err != nil {
		t.Fatal(err)
	}
	// "remedy: api.ibmaspera.com-other" is another domain's, whose
	// comment only starts alike.
	want := `systemctl disable --now remedy-domain-api-ibmaspera-com.timer
systemctl stop remedy-domain-api-ibmaspera-com.service
ufw --force delete 3
ufw --force delete 2
rm -f -- /usr/local/sbin/remedy-domain-api-ibmaspera-com /etc/systemd/system/remedy-domain-api-ibmaspera-com.timer /etc/systemd/system/remedy-domain-api-ibmaspera-com.service
systemctl daemon-reload`
	if got := joined(plan.Commands); got != want {
		t.Errorf("commands:\n%s\nwant:\n%s", got, want)
	}
}

// firewalld: the policy, then the ipsets it names, one reload; the DNS
// rules stay while another domain's job needs them.
func TestRemoveDomainFirewalld(t *testing.T) {
	sets := setNames(alee.Name)
	other := DomainJob{Script: "/usr/local/sbin/remedy-domain-x-org", Domain: "x.org"}
	inst := Installed{FirewalldPolicies: []string{"egress-restricted", "rmd-api-ibmas-a0ec", "rmd-dns-udp-f-1234"},
		FirewalldIpsets: []string{sets[0], sets[1], "rmd_x_org_4"}, DomainJobs: []DomainJob{aleeJob, other}}
	plan, err := PlanRemove(loadFixture(t, "firewalld/public-ssh.json"), System{Backend: Firewalld, Zone: "public", Init: "systemd"}, inst, "remedy: api.ibmaspera.com")
	if err != nil {
		t.Fatal(err)
	}
	want := `systemctl disable --now remedy-domain-api-ibmaspera-com.timer
systemctl stop remedy-domain-api-ibmaspera-com.service
firewall-cmd --permanent --delete-policy=rmd-api-ibmas-a0ec
firewall-cmd --permanent --delete-ipset=rmd_api_ibmaspera_com_4
firewall-cmd --permanent --delete-ipset=rmd_api_ibmaspera_com_6
firewall-cmd --reload
rm -f -- /usr/local/sbin/remedy-domain-api-ibmaspera-com /etc/systemd/system/remedy-domain-api-ibmaspera-com.timer /etc/systemd/system/remedy-domain-api-ibmaspera-com.service
systemctl daemon-reload`
	if got := joined(plan.Commands); got != want {
		t.Errorf("commands:\n%s\nwant:\n%s", got, want)
	}
	bus := System{Backend: Firewalld, Zone: "public", Bus: true, Init: "none"}
	inst.DomainJobs = []DomainJob{{Script: aleeScript, Domain: alee.Name}}
	plan, err = PlanRemove(loadFixture(t, "firewalld/public-ssh.json"), bus, inst, "remedy:")
	if err != nil {
		t.Fatal(err)
	}
	got := joined(plan.Commands)
	for _, w := range []string{"IPSet " + sets[0] + " org.fedoraproject.FirewallD1.config.ipset remove", "Policy rmd-api-ibmas-a0ec org.fedoraproject.FirewallD1.config.policy remove"} {
		if !strings.Contains(got, w) {
			t.Errorf("commands:\n%s\nwant %s", got, w)
		}
	}
	if strings.Count(got, busReload) != 1 || !strings.HasSuffix(got, busReload+"\nrm -f -- "+aleeScript) {
		t.Errorf("commands:\n%s\nwant one reload, before the job's files go", got)
	}
	if strings.Contains(got, "rmd_x_org_4") {
		t.Errorf("commands:\n%s\nremove the ipset of a domain with no job or rule of remedy's", got)
	}
	// remedy's live policy goes with the last policy of remedy's.
	for _, tt := range []struct {
		policies []string
		gone     bool
	}{{[]string{"rmd-api-ibmas-a0ec", livePolicy}, true}, {[]string{"rmd-api-ibmas-a0ec", "rmd-peer", livePolicy}, false}} {
		inst := Installed{FirewalldPolicies: tt.policies, DomainJobs: []DomainJob{aleeJob}}
		plan, err := PlanRemove(loadFixture(t, "firewalld/public-ssh.json"), System{Backend: Firewalld, Zone: "public"}, inst, "remedy: api.ibmaspera.com")
		if got := joined(plan.Commands); err != nil || strings.Contains(got, "--delete-policy="+livePolicy) != tt.gone {
			t.Errorf("policies %q (%v):\n%s\nwant the live policy removed: %v", tt.policies, err, got, tt.gone)
		}
	}
}

// The boot files lose what PlanBootAllowDomain put in them: the file
// comes back as it was.
func TestPlanBootRemoveDomains(t *testing.T) {
	inst := Installed{DomainJobs: []DomainJob{aleeJob}}
	for _, tt := range []struct {
		f     BootFile
		input string
	}{
		{BootFile{Path: "/etc/nftables.conf", Format: FormatNft}, "nftables/lab-egress.nft"},
		{BootFile{Path: "/etc/iptables/rules.v4", Format: FormatIptablesSave, Family: "ip"}, "iptables/lab-egress.rules"},
		{BootFile{Path: "/etc/iptables/ipsets", Format: FormatIpset}, ""},
	} {
		t.Run(tt.f.Path, func(t *testing.T) {
			text, rs := "", &Ruleset{}
			if tt.input != "" {
				text = readText(t, tt.input)
				rs = loadFixture(t, strings.TrimSuffix(strings.TrimSuffix(tt.input, ".nft"), ".rules")+map[bool]string{true: ".json", false: ".legacy.save"}[tt.f.Format == FormatNft])
			}
			with, err := PlanBootAllowDomain(tt.f, text, rs, alee)
			if err != nil || with == text {
				t.Fatalf("allow: %v, unchanged %v", err, with == text)
			}
			without, err := PlanBootRemoveDomains(tt.f, with, rs, "remedy: api.ibmaspera.com", []string{alee.Name}, inst)
			if err != nil || without != text {
				t.Errorf("after removal (%v):\n%s\nwant:\n%s", err, without, text)
			}
		})
	}
}
