package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"remedy/lua/firewall"
	"remedy/tests/lab/labkit"
)

// reboots simulates a boot per profile: flush what is live, then load
// what the distribution's service would load.
var reboots = map[string]string{
	"nftables":        "nft flush ruleset && nft -f /etc/nftables.conf",
	"none":            "nft flush ruleset && nft -f /etc/nftables.conf",
	"iptables-legacy": "iptables-legacy -F && iptables-legacy-restore < /etc/iptables/rules.v4",
	"iptables-nft":    "iptables-nft -F && iptables-nft-restore < /etc/iptables/rules.v4",
	"ufw":             "ufw disable >/dev/null && ufw --force enable >/dev/null",
	"firewalld":       "firewall-cmd --complete-reload >/dev/null",
}

const allowFASP = `return { tasks = {
  { name = "fasp", run = function() firewall.allow { dir = "in", proto = "udp", port = 33001, comment = "fasp" } end },
} }`

const allowOut = `return { tasks = {
  { name = "out", run = function(v)
      if v.lab_egress then firewall.allow { dir = "out", proto = "tcp", port = 8443, dst = v.peer, comment = "peer" } end
    end },
} }`

// allowOutMore opens a second port to the peer under the same comment,
// in the run after allowOut's: firewalld adds it to the comment's
// policy, and to its runtime without a reload.
const allowOutMore = `return { tasks = {
  { name = "out", run = function(v)
      if v.lab_egress then firewall.allow { dir = "out", proto = "tcp", port = 8444, dst = v.peer, comment = "peer" } end
    end },
} }`

const removeFASP = `return { tasks = {
  { name = "unfasp", run = function() firewall.remove { comment = "remedy: fasp" } end },
} }`

const allowALEE = `return { tasks = {
  { name = "alee", run = function(v)
      if v.lab_egress then firewall.allow_domain { domain = "api.ibmaspera.com", refresh = 60 } end
    end },
} }`

func moduleOnLab(t *testing.T, lab *labkit.Lab) {
	l := &luaLab{lab: lab, bin: buildRemedy(t), home: t.TempDir()}
	t.Run("check mode changes nothing", func(t *testing.T) { checkModeOnly(t, l) })
	t.Run("allow twice, then a reboot", func(t *testing.T) { allowTwice(t, l) })
	t.Run("allow out to an address", func(t *testing.T) { allowOutTo(t, l) })
	t.Run("remove", func(t *testing.T) { removeFasp(t, l) })
	t.Run("allow_domain follows the name", func(t *testing.T) { allowDomain(t, l) })
	t.Run("a cutting change is reverted", func(t *testing.T) { revertFires(t, lab) })
}

// runtimeOnly stands for what other tools keep in firewalld's runtime
// alone (Docker's and libvirt's rules, fail2ban's bans), which a reload
// flushes: remedy's inbound openings must leave it be. It is in a zone
// no interface uses, so it changes no verdict the test probes.
const runtimeOnly = "firewall-cmd --zone=work --add-port=40999/tcp >/dev/null"

func allowTwice(t *testing.T, l *luaLab) {
	pb := l.playbook(t, allowFASP)
	for _, h := range l.lab.Hosts {
		if h.Profile == "firewalld" {
			labSh(t, l.lab, h.Name, runtimeOnly)
		}
	}
	first, code := l.remedy(t, "run", pb)
	second, code2 := l.remedy(t, "run", pb)
	if code != 0 || code2 != 0 {
		t.Fatalf("exit codes %d, %d: %+v", code, code2, first)
	}
	for _, h := range l.lab.Hosts {
		want := "fasp=changed"
		if h.Profile == "none" {
			want = "fasp=ok" // its input accepts everything
		}
		if got := first.statuses(h.Name); got != want {
			t.Errorf("%s (%s): first run %s, want %s", h.Name, h.Profile, got, want)
		}
		if got := second.statuses(h.Name); got != "fasp=ok" {
			t.Errorf("%s (%s): second run %s, want fasp=ok", h.Name, h.Profile, got)
		}
		assertReach(t, l.lab, h, "udp", 33001, firewall.VerdictAccept)
		if h.Profile == "firewalld" {
			if out := labSh(t, l.lab, h.Name, "firewall-cmd --zone=work --list-ports"); !strings.Contains(out, "40999/tcp") {
				t.Errorf("%s (firewalld): the runtime-only port is gone after remedy's change (a reload?): %q", h.Name, out)
			}
		}
		labSh(t, l.lab, h.Name, reboots[h.Profile])
		assertReach(t, l.lab, h, "udp", 33001, firewall.VerdictAccept)
	}
}

func checkModeOnly(t *testing.T, l *luaLab) {
	doc, code := l.remedy(t, "run", l.playbook(t, allowFASP), "-C")
	if code != 0 {
		t.Fatalf("exit code %d: %+v", code, doc)
	}
	for _, h := range l.lab.Hosts {
		if h.Profile == "none" {
			continue
		}
		if got := doc.statuses(h.Name); got != "fasp=changed" {
			t.Errorf("%s (%s): check mode %s, want fasp=changed (would change)", h.Name, h.Profile, got)
		}
		assertReach(t, l.lab, h, "udp", 33001, map[bool]string{true: firewall.VerdictDrop, false: firewall.VerdictReject}[h.Profile == "nftables" || h.Profile == "ufw"])
	}
}

// allowOutTo opens egress to one address and port on the
// egress-restricted hosts, and connects there from each; then, in
// another run, a second port under the same comment, which on firewalld
// costs no reload: a port kept in the runtime alone survives it.
func allowOutTo(t *testing.T, l *luaLab) {
	for i, port := range []int{8443, 8444} {
		stop, err := l.lab.PeerListen("tcp", port)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		pb := []string{allowOut, allowOutMore}[i]
		for _, h := range l.lab.Hosts {
			if h.Egress && h.Profile == "firewalld" && i > 0 {
				labSh(t, l.lab, h.Name, runtimeOnly)
			}
		}
		doc, code := l.remedy(t, "run", l.playbook(t, pb), "-e", "peer="+l.lab.License)
		for _, h := range l.lab.Hosts {
			if !h.Egress {
				continue
			}
			if got := doc.statuses(h.Name); code != 0 || got != "out=changed" {
				t.Errorf("%s (%s): port %d: exit %d, %s, want out=changed: %+v", h.Name, h.Profile, port, code, got, doc)
				continue
			}
			labSh(t, l.lab, h.Name, fmt.Sprintf("timeout 3 bash -c 'exec 3<>/dev/tcp/%s/%d'", l.lab.License, port))
			if h.Profile == "firewalld" && i > 0 {
				if out := labSh(t, l.lab, h.Name, "firewall-cmd --zone=work --list-ports"); !strings.Contains(out, "40999/tcp") {
					t.Errorf("%s (firewalld): the runtime-only port is gone after remedy's second outbound change (a reload?): %q", h.Name, out)
				}
			}
		}
	}
}

// removeFasp removes the FASP opening. On firewalld an administrator
// opened the same port in the runtime since: it stays, as remedy did not
// add it.
func removeFasp(t *testing.T, l *luaLab) {
	const adminPort = "firewall-cmd --add-port=33001/udp >/dev/null"
	for _, h := range l.lab.Hosts {
		if h.Profile == "firewalld" {
			labSh(t, l.lab, h.Name, adminPort)
		}
	}
	doc, code := l.remedy(t, "run", l.playbook(t, removeFASP))
	if code != 0 {
		t.Fatalf("exit code %d: %+v", code, doc)
	}
	for _, h := range l.lab.Hosts {
		if h.Profile == "none" {
			continue
		}
		if got := doc.statuses(h.Name); got != "unfasp=changed" {
			t.Errorf("%s (%s): %s, want unfasp=changed", h.Name, h.Profile, got)
		}
		if h.Profile == "firewalld" {
			if out := labSh(t, l.lab, h.Name, "firewall-cmd --list-ports"); !strings.Contains(out, "33001/udp") {
				t.Errorf("%s (firewalld): removal took the administrator's runtime port too: %q", h.Name, out)
			}
			labSh(t, l.lab, h.Name, "firewall-cmd --remove-port=33001/udp >/dev/null")
		}
		observed := map[string]string{"nftables": firewall.VerdictDrop, "ufw": firewall.VerdictDrop}[h.Profile]
		if observed == "" {
			observed = firewall.VerdictReject
		}
		assertReach(t, l.lab, h, "udp", 33001, observed)
	}
}

func allowDomain(t *testing.T, l *luaLab) {
	var egress []labkit.Host
	for _, h := range l.lab.Hosts {
		if h.Egress {
			egress = append(egress, h)
		}
	}
	connect := "timeout 3 bash -c 'exec 3<>/dev/tcp/api.ibmaspera.com/443'"
	for _, h := range egress {
		if _, err := l.lab.Exec(context.Background(), h.Name, "sh", "-c", connect); err == nil {
			t.Fatalf("before: the licensing stand-in is reachable from %s (%s)", h.Name, h.Profile)
		}
	}
	first, code := l.remedy(t, "run", l.playbook(t, allowALEE))
	second, _ := l.remedy(t, "run", l.playbook(t, allowALEE))
	for _, h := range egress {
		if got := first.statuses(h.Name); code != 0 || got != "alee=changed" {
			t.Fatalf("%s (%s): allow_domain: exit %d, %s: %+v", h.Name, h.Profile, code, got, first)
		}
		labSh(t, l.lab, h.Name, connect)
		if got := second.statuses(h.Name); got != "alee=ok" {
			t.Errorf("%s (%s): second allow_domain: %s, want alee=ok", h.Name, h.Profile, got)
		}
	}
	if _, err := l.lab.RepointLicense(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, h := range egress {
		// One tick of the refresh job, rather than waiting out its minute.
		labSh(t, l.lab, h.Name, "/usr/local/sbin/remedy-domain-api-ibmaspera-com")
		labSh(t, l.lab, h.Name, connect)
		if h.Profile == "firewalld" {
			// A reload (remedy's next firewalld change makes one) loads the
			// permanent configuration: the job's addresses must be there too.
			labSh(t, l.lab, h.Name, "firewall-cmd --reload")
			labSh(t, l.lab, h.Name, connect)
		}
	}
}

// revertFires arms a revert on the nftables host, cuts SSH off, and waits
// for the host to restore it.
func revertFires(t *testing.T, lab *labkit.Lab) {
	h := lab.Hosts[0]
	r, err := firewall.PlanRevert(firewall.System{Backend: firewall.Nftables}, "labtest", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Arm {
		if out, err := lab.Exec(context.Background(), h.Name, c...); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	labSh(t, lab, h.Name, "nft insert rule inet filter input tcp dport 22 drop")
	assertReach(t, lab, h, "tcp", 22, firewall.VerdictDrop)
	// The timer counts whole seconds and looks every second: a 2s window
	// fires within 4s.
	time.Sleep(5 * time.Second)
	assertReach(t, lab, h, "tcp", 22, firewall.VerdictAccept)
	if out := labSh(t, lab, h.Name, "nft list chain inet filter input"); strings.Contains(out, "tcp dport 22 drop") {
		t.Errorf("after the revert:\n%s", out)
	}
}

func assertReach(t *testing.T, lab *labkit.Lab, h labkit.Host, proto string, port int, want string) {
	t.Helper()
	if !(proto == "tcp" && port == 22) {
		stop, err := lab.Listen(h.Name, proto, port)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	if err := lab.Reach(h.Addr, proto, port, time.Second); observe(err) != want {
		t.Errorf("%s (%s): %s/%d is %s, want %s: %v", h.Name, h.Profile, proto, port, observe(err), want, err)
	}
}
