package firewall

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"remedy/lua/valid"
)

var (
	setName  = regexp.MustCompile(`^rmd_[a-z0-9_]+_[46]$`)
	unitName = regexp.MustCompile(`^remedy-domain-[a-z0-9-]+$`)
)

// checkNames fails unless domain's names fit every backend: ipset's 31
// characters with the refresh job's "_n", a unit file's name.
func checkNames(t *testing.T, domain string) {
	t.Helper()
	for _, s := range setNames(domain) {
		if !setName.MatchString(s) || len(s+"_n") > 31 {
			t.Errorf("%s: set %q does not fit an ipset name", domain, s)
		}
	}
	if u := jobUnit(domain); !unitName.MatchString(u) || len(u+".service") > 255 {
		t.Errorf("%s: unit %q does not fit a unit file name", domain, u)
	}
}

func TestDomainNamesDistinct(t *testing.T) {
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	for _, pair := range [][2]string{
		{"a-b.com", "a.b.com"},
		{"A.b.com", "a.b.com"},
		{"a--b.com", "a-b.com"},
		{"a.b.com", "a.b.com.example"},
		// 20 characters of slug keep it whole; 21 do not.
		{"aaaaaaaaa.bbbbbbbbbb", "aaaaaaaaa-bbbbbbbbbb"},
		{"aaaaaaaaa.bbbbbbbbbbb", "aaaaaaaaa.bbbbbbbbbbc"},
		{"licensing.eu-west.example.company", "licensing.eu-west.example.com"},
		// IDNs, in the punycode a domain name holds them in.
		{"xn--bcher-kva.example", "xn-bcher-kva.example"},
		{"xn--bcher-kva.example", "xn--bcher-kvb.example"},
		{long, long[:len(long)-1] + "e"},
	} {
		for _, d := range pair {
			if valid.Domain(d) != nil {
				t.Fatalf("%q is not a domain name", d)
			}
			checkNames(t, d)
		}
		if a, b := setNames(pair[0]), setNames(pair[1]); a[0] == b[0] || a[1] == b[1] {
			t.Errorf("%s and %s share sets %v", pair[0], pair[1], a)
		}
		if a, b := jobUnit(pair[0]), jobUnit(pair[1]); a == b {
			t.Errorf("%s and %s share the job %s", pair[0], pair[1], a)
		}
	}
}

// Every domain name of up to seven characters out of a, b, hyphen and dot
// gets sets and a job of its own.
func TestDomainNamesInjective(t *testing.T) {
	sets, units := map[string]string{}, map[string]string{}
	var walk func(prefix string)
	walk = func(prefix string) {
		if valid.Domain(prefix) == nil {
			for _, s := range setNames(prefix) {
				if other, ok := sets[s]; ok {
					t.Errorf("%s and %s share the set %s", other, prefix, s)
				}
				sets[s] = prefix
			}
			u := jobUnit(prefix)
			if other, ok := units[u]; ok {
				t.Errorf("%s and %s share the job %s", other, prefix, u)
			}
			units[u] = prefix
		}
		if len(prefix) < 7 {
			for _, c := range []string{"a", "B", "-", "."} {
				walk(prefix + c)
			}
		}
	}
	walk("")
	if len(units) < 2900 {
		t.Fatalf("only %d names walked", len(units))
	}
}

// A name whose slug is exact keeps the name earlier remedies gave it, so
// that their hosts need no change.
func TestDomainNamesKeepExact(t *testing.T) {
	for _, tt := range []struct{ domain, set, unit string }{
		{"api.ibmaspera.com", "rmd_api_ibmaspera_com_4", "remedy-domain-api-ibmaspera-com"},
		{"a.b.com", "rmd_a_b_com_4", "remedy-domain-a-b-com"},
	} {
		if got := setNames(tt.domain); got[0] != tt.set || got != legacySetNames(tt.domain) {
			t.Errorf("setNames(%s) = %v, want %s as before", tt.domain, got, tt.set)
		}
		if got := jobUnit(tt.domain); got != tt.unit || got != legacyJobUnit(tt.domain) {
			t.Errorf("jobUnit(%s) = %s, want %s as before", tt.domain, got, tt.unit)
		}
	}
}

// hostWith is an nft host whose rules, commented "remedy: DOMAIN", each
// name sets; the sets exist.
func hostWith(rules map[string][2]string) *Ruleset {
	t := &Table{Family: "inet", Name: "filter", Sets: map[string]*Set{}}
	c := &Chain{Name: "output", Type: "filter", Hook: "output", Policy: "drop"}
	for domain, sets := range rules {
		for i, s := range sets {
			t.Sets[s] = &Set{Name: s, Type: []string{"ipv4_addr", "ipv6_addr"}[i]}
			c.Rules = append(c.Rules, &Rule{Matches: []Match{{Set: s}}, Action: Action{Kind: Accept}, Comment: CommentPrefix + " " + domain})
		}
	}
	t.Chains = []*Chain{c}
	return &Ruleset{Tables: []*Table{t}}
}

// A host an earlier remedy allowed a-b.com on keeps its names; allowing
// a.b.com there, whose names they are now, is refused rather than
// sharing them again.
func TestDomainNamesOnEarlierHost(t *testing.T) {
	rs := hostWith(map[string][2]string{"a-b.com": legacySetNames("a-b.com")})
	if got := hostNames(rs, Domain{Name: "a-b.com"}); got.sets != [2]string{"rmd_a_b_com_4", "rmd_a_b_com_6"} || got.unit != "remedy-domain-a-b-com" {
		t.Errorf("a-b.com on an earlier host: %+v, want the names it has", got)
	}
	if got := hostNames(&Ruleset{}, Domain{Name: "a-b.com"}); got.sets == legacySetNames("a-b.com") || got.unit == legacyJobUnit("a-b.com") {
		t.Errorf("a-b.com on a new host: %+v, want names of its own", got)
	}
	d := Domain{Name: "a.b.com", Proto: "tcp", Port: 443, Refresh: time.Hour}
	if _, err := PlanAllowDomain(rs, System{Backend: Nftables}, d); err == nil || !strings.Contains(err.Error(), "a-b.com's") {
		t.Errorf("allow a.b.com beside an earlier a-b.com: %v, want refused", err)
	}
}

// Removing a domain deletes its sets under either name, never those a
// domain that stays has under the same name.
func TestRemovedSetNames(t *testing.T) {
	for _, tt := range []struct {
		name   string
		rules  map[string][2]string
		remove string
		want   string
	}{
		{"earlier host", map[string][2]string{"a-b.com": legacySetNames("a-b.com")}, "a-b.com", "rmd_a_b_com_4 rmd_a_b_com_6"},
		{"earlier host, shared", map[string][2]string{"a-b.com": legacySetNames("a-b.com"), "a.b.com": setNames("a.b.com")}, "a-b.com", ""},
		{"new host", map[string][2]string{"a-b.com": setNames("a-b.com"), "a.b.com": setNames("a.b.com")}, "a-b.com", setNames("a-b.com")[0] + " " + setNames("a-b.com")[1]},
		{"new host, the dot", map[string][2]string{"a-b.com": setNames("a-b.com"), "a.b.com": setNames("a.b.com")}, "a.b.com", "rmd_a_b_com_4 rmd_a_b_com_6"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := hostWith(tt.rules)
			removed := func(c string) bool { return c == CommentPrefix+" "+tt.remove }
			cmds, err := removeSets(rs, Installed{}, []string{tt.remove}, removed)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cmds {
				got = append(got, c[len(c)-1])
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("removing %s deletes %q, want %q", tt.remove, got, tt.want)
			}
		})
	}
}

// firewalld's rules say nothing of their ipsets: a legacy name of a
// domain that stays is kept, the removed domain's own name never.
func TestRemovedSetNamesFirewalld(t *testing.T) {
	hyphen := setNames("a-b.com")
	inst := Installed{FirewalldIpsets: []string{hyphen[0], hyphen[1], "rmd_a_b_com_4", "rmd_a_b_com_6"},
		DomainJobs: []DomainJob{{Script: jobDir + jobUnit("a-b.com"), Domain: "a-b.com"}, {Script: jobDir + jobUnit("a.b.com"), Domain: "a.b.com"}}}
	sys := System{Backend: Firewalld}
	for _, tt := range []struct{ remove, want string }{
		{"a.b.com", "firewall-cmd --permanent --delete-ipset=rmd_a_b_com_4\nfirewall-cmd --permanent --delete-ipset=rmd_a_b_com_6\n"},
		{"a-b.com", "firewall-cmd --permanent --delete-ipset=" + hyphen[0] + "\nfirewall-cmd --permanent --delete-ipset=" + hyphen[1] + "\n"},
	} {
		if got := joined(removeFirewalldIpsets(sys, inst, []string{tt.remove})); !strings.HasPrefix(got, tt.want) || strings.Count(got, "delete-ipset") != 2 {
			t.Errorf("removing %s:\n%s\nwant:\n%s", tt.remove, got, tt.want)
		}
	}
}
