package tests

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// TestAuditWhileRulesChangeOnLab audits hosts whose iptables-nft rules
// change in bursts while remedy reads them: on the ufw host a rule in
// ufw-user-output comes and goes, as the domain refresh job's `ufw allow
// out` and `ufw delete` make it; on the iptables-nft host a ban at the top
// of INPUT, as fail2ban's. nft's listing and iptables-nft-save run one
// after the other, so a read can catch a change between them and find the
// two disagree; remedy reads the tables again (firewall.Read), and no
// verdict may be unknown, nor the host's firewall misnamed. Each audit
// reads every host once: the test counts the host reads that failed.
func TestAuditWhileRulesChangeOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 2, Profiles: []string{"ufw", "iptables-nft"}})
	bin, home := buildRemedy(t), t.TempDir()
	// Rules that change no verdict the audit asks for: an address of
	// TEST-NET-2, which the lab never uses.
	churn := map[string]string{
		"ufw":          "ufw-user-output -d 198.51.100.7 -p tcp --dport 443 -j ACCEPT",
		"iptables-nft": "INPUT -s 198.51.100.7 -j DROP",
	}
	profiles := map[string]string{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, h := range lab.Hosts {
		profiles[h.Name] = h.Profile
		// Bursts of changes, as `ufw delete` makes (it flushes each of
		// ufw's chains, then restores them), with a pause between; ufw's
		// own command is the host's plain iptables, as here.
		loop := fmt.Sprintf("while :; do for i in $(seq %[2]d); do iptables -I %[1]s; iptables -D %[1]s; done; sleep %[3]s; done", churn[h.Profile], churnBurst, churnPause)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := lab.Exec(ctx, h.Name, "sh", "-c", loop); ctx.Err() == nil {
				t.Errorf("%s: the loop changing its rules ended: %v", h.Name, err)
			}
		}()
	}
	unknownVerdict := regexp.MustCompile(`(tcp|udp)/\d+ unknown `)
	failed := map[string]int{}
	for range churnAudits {
		var doc churnAudit
		_, out := runRemedyJSON(t, bin, home, 3*time.Minute, &doc, "audit", "aspera-server", "-i", lab.Inventory, "--known-hosts", lab.KnownHosts)
		if len(doc.Hosts) != len(lab.Hosts) {
			t.Fatalf("audit: %d hosts, want %d\n%s", len(doc.Hosts), len(lab.Hosts), out)
		}
		for _, h := range doc.Hosts {
			profile := profiles[h.Name]
			var unknown []string
			for _, task := range h.Tasks {
				if unknownVerdict.MatchString(task.Msg) {
					unknown = append(unknown, task.Name+": "+task.Msg)
				}
			}
			if h.Facts == nil || h.Facts.Firewall != profile || len(unknown) > 0 {
				failed[h.Name]++
				why := "no facts"
				if h.Facts != nil {
					why = h.Facts.Firewall + ": " + h.Facts.FirewallWhy
				}
				t.Errorf("%s (%s): firewall %s\n%s", h.Name, profile, why, strings.Join(unknown, "\n"))
			}
		}
	}
	for _, h := range lab.Hosts {
		t.Logf("%s (%s): %d of %d reads with an unknown verdict or a misnamed firewall", h.Name, h.Profile, failed[h.Name], churnAudits)
	}
}

// The loops add and delete a rule churnBurst times in a row (a few tenths
// of a second, as long as ufw's delete takes on a real host), then pause
// for churnPause seconds, longer than firewall.Read waits before it reads again.
const (
	churnBurst  = 20
	churnPause  = "2"
	churnAudits = 20
)

// churnAudit is what TestAuditWhileRulesChangeOnLab reads of an audit.
type churnAudit struct {
	Hosts []struct {
		Name  string `json:"name"`
		Facts *struct {
			Firewall    string `json:"firewall"`
			FirewallWhy string `json:"firewall_why"`
		} `json:"facts"`
		Tasks []jsonTask `json:"tasks"`
	} `json:"hosts"`
}
