package output

import (
	"errors"
	"time"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// The fixtures: an audit of three hosts (one drifting, one compliant, one
// unreachable) and a run of the same fleet. Messages carry characters
// that every format must escape; one change comes without a message.

var started = time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)

const sshdDiff = `--- /etc/ssh/sshd_config
+++ /etc/ssh/sshd_config (planned)
@@ -11,3 +11,4 @@
 #Port 22
+Port 33001
 #AddressFamily any
 #ListenAddress 0.0.0.0
`

const nftDiff = `--- /etc/nftables.conf
+++ /etc/nftables.conf (planned)
@@ -9,5 +9,6 @@
 		ct state established,related accept
 		iif "lo" accept
 		tcp dport 22 accept
+		udp dport 33001 accept
 	}
 }
`

func debianFacts(firewall string) *remote.Facts {
	return &remote.Facts{OSID: "debian", OSVersion: "12", OSFamily: "debian", Init: "systemd",
		SSHDVersion: "OpenSSH_9.2p1", Firewall: firewall, SELinux: "disabled", Root: true, User: "root"}
}

// factsResult is the first result of every host, as the runner emits it.
func factsResult(host string, f *remote.Facts) remote.Result {
	return remote.Result{Host: host, Kind: remote.KindTask, Name: "Gathering Facts", Status: remote.StatusOK,
		Msg: f.OSID + " " + f.OSVersion + ", " + f.Init + " init, " + f.SSHDVersion + ", firewall " + f.Firewall, Duration: 200 * time.Millisecond}
}

func web1Results(changed remote.Status) []remote.Result {
	return []remote.Result{
		factsResult("web1", debianFacts("nftables")),
		{Host: "web1", Kind: remote.KindTask, Name: "S3 FASP UDP port is open", Status: changed,
			Msg: "udp/33001 is dropped by rule 4 of chain inet filter input (policy drop)", Diff: nftDiff,
			Planned:  []string{"nft add rule inet filter input udp dport 33001 accept", "nft list ruleset > /etc/nftables.conf.remedy-tmp"},
			Duration: 120 * time.Millisecond},
		{Host: "web1", Kind: remote.KindTask, Name: "S1 sshd listens on 33001", Status: changed,
			Diff:     sshdDiff,
			Planned:  []string{"sshd -t -f /etc/ssh/sshd_config.remedy-tmp", "kill -HUP 812"},
			Duration: 340 * time.Millisecond},
		{Host: "web1", Kind: remote.KindTask, Name: "S6 Vlink UDP port", Status: remote.StatusSkipped,
			Msg: "vlinks is off", Duration: time.Millisecond},
		{Host: "web1", Kind: remote.KindCheck, Name: "root login disabled", Status: remote.StatusFailed, Severity: "high",
			Msg: "PermitRootLogin is yes <script>alert(1)</script> | *bold* `tick`", Duration: 15 * time.Millisecond},
		{Host: "web1", Kind: remote.KindTask, Name: "legacy cleanup", Status: remote.StatusFailed, Ignored: true,
			Msg: "no /etc/legacy.conf", Duration: 4 * time.Millisecond},
	}
}

func dbResults() []remote.Result {
	const host = "db-server-long-name.example"
	return []remote.Result{
		factsResult(host, debianFacts("firewalld")),
		{Host: host, Kind: remote.KindTask, Name: "S3 FASP UDP port is open", Status: remote.StatusOK,
			Msg: "udp/33001 accepted by firewalld zone public (port 33001/udp)", Duration: 90 * time.Millisecond},
		{Host: host, Kind: remote.KindTask, Name: "S1 sshd listens on 33001", Status: remote.StatusOK,
			Msg: "sshd listens on 33001", Duration: 80 * time.Millisecond},
		{Host: host, Kind: remote.KindTask, Name: "S6 Vlink UDP port", Status: remote.StatusSkipped,
			Msg: "vlinks is off", Duration: time.Millisecond},
		{Host: host, Kind: remote.KindCheck, Name: "root login disabled", Status: remote.StatusOK, Severity: "high",
			Msg: "PermitRootLogin is no", Duration: 12 * time.Millisecond},
		{Host: host, Kind: remote.KindHandler, Name: "reload sshd", Status: remote.StatusOK, Duration: 30 * time.Millisecond},
	}
}

func fleet(play recap.Play, web1Status remote.Status) recap.Recap {
	web1Stats := recap.Stats{OK: 4, Changed: 2, Skipped: 1, Failed: 1, Ignored: 1}
	unreachable := errors.New("down1: dial 198.18.0.9:22: connect: connection refused")
	return recap.Recap{
		Play: play,
		Hosts: []recap.HostReport{
			{Host: "web1", Facts: debianFacts("nftables"), Results: web1Results(web1Status), Stats: web1Stats,
				Duration: 1500 * time.Millisecond},
			{Host: "down1", Unreachable: true, Stats: recap.Stats{Unreachable: 1}, Err: unreachable,
				Results: []remote.Result{{Host: "down1", Kind: remote.KindTask, Name: "Gathering Facts",
					Status: remote.StatusUnreachable, Msg: unreachable.Error(), Duration: 10 * time.Second}},
				Duration: 10 * time.Second},
			{Host: "db-server-long-name.example", Facts: debianFacts("firewalld"), Results: dbResults(),
				Stats: recap.Stats{OK: 5, Skipped: 1}, Duration: 900 * time.Millisecond},
		},
		Duration: 11 * time.Second,
	}
}

// provenance is what the CLI would say made the fixture runs.
var provenance = recap.Provenance{Version: "v1.4.0", Commit: "0123456789ab", Operator: "ops@controller",
	CommandLine: []string{"audit", "aspera-server", "-i", "hosts.ini", "-l", "web*:db*", "-e", "db_password=******** port=33001",
		"--change-id", "CHG-1234", "--report", "audit.html"},
	Inventories: []string{"hosts.ini"}, Limit: "web*:db*", ChangeID: "CHG-1234",
	PlaybookSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}

func auditRecap() recap.Recap {
	play := recap.Play{Name: "Aspera HSTS network", Path: "playbooks/aspera-server.lua", Check: true, Diff: true,
		Audit: true, Hosts: []string{"web1", "db-server-long-name.example", "down1"}, Started: started, Provenance: provenance}
	return fleet(play, remote.StatusChanged)
}

func runRecap() recap.Recap {
	play := recap.Play{Name: "Aspera HSTS network", Path: "playbooks/aspera-server.lua",
		Hosts: []string{"web1", "db-server-long-name.example", "down1"}, Started: started, Provenance: provenance}
	return fleet(play, remote.StatusChanged)
}

// replay feeds a recap to an observer as the runner would: each host's
// events in turn, then the end.
func replay(o recap.Observer, r recap.Recap) {
	o.Start(r.Play)
	for _, h := range r.Hosts {
		o.HostStarted(h.Host)
		for _, res := range h.Results {
			o.Result(res)
		}
		o.HostDone(h)
	}
	o.End(r)
}
