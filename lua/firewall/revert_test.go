package firewall

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"remedy/lua/shell"
)

func TestPlanRevert(t *testing.T) {
	r, err := PlanRevert(debian, "t1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := `sh -c 'set -e; d=/run/remedy-revert-t1; rm -rf "$d"; mkdir -m 700 "$d"; { echo '\''flush ruleset'\''; nft list ruleset; } > "$d/nft"; echo $(($(cut -d. -f1 /proc/uptime) + 61)) > "$d/next" && mv -f "$d/next" "$d/deadline"'
sh -c 'setsid -f sh -c "$0" </dev/null >/dev/null 2>&1' 'd=/run/remedy-revert-t1; echo $$ > "$d/pid"; hard=$(($(cut -d. -f1 /proc/uptime) + 1800))
live() { now=$(cut -d. -f1 /proc/uptime) && dl=$(cat "$d/deadline") || echo 0 > "$d/deadline"; [ "$now" -lt "$hard" ] && [ "$now" -lt "$dl" ]; }
while :; do while live; do sleep 1 || echo 0 > "$d/deadline"; done; touch "$d/fired"; live || break; rm -f "$d/fired"; done
nft -f "$d/nft"; rm -rf "$d"'`
	if got := joined(r.Arm); got != want {
		t.Errorf("arm:\n%s\nwant:\n%s", got, want)
	}
	legacy, err := PlanRevert(System{Backend: IptablesNft, Iptables: "iptables-nft"}, "t2", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := legacy.Arm[0][2]; !strings.Contains(got, `; iptables-nft-save > "$d/v4" && ip6tables-nft-save > "$d/v6"; `) {
		t.Errorf("iptables-nft save: %s", got)
	}
	for _, bad := range []struct {
		sys   System
		token string
		after time.Duration
	}{{System{Backend: "pf"}, "t", time.Minute}, {debian, "a b", time.Minute}, {debian, "t", time.Millisecond}} {
		if _, err := PlanRevert(bad.sys, bad.token, bad.after); err == nil {
			t.Errorf("PlanRevert(%v, %q, %s): no error", bad.sys.Backend, bad.token, bad.after)
		}
	}
}

// TestRevertFires arms a one-second revert (it fires within three: the
// timer counts whole seconds and looks every second) in a namespace with
// a private /run, cuts SSH off, and checks the rule is gone again after
// the timer fired — or still there when disarmed in time.
func TestRevertFires(t *testing.T) {
	for _, disarm := range []bool{false, true} {
		t.Run(map[bool]string{false: "fires", true: "disarmed"}[disarm], func(t *testing.T) {
			t.Parallel()
			revertOnce(t, disarm)
		})
	}
}

func revertOnce(t *testing.T, disarm bool) {
	n := newNetns(t)
	n.run("", "nft", "-f", "testdata/nftables/lab-nftables.nft")
	r, err := PlanRevert(debian, "test", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	steps := append(r.Arm, []string{"nft", "insert", "rule", "inet", "filter", "input", "tcp dport 22 drop"})
	if disarm {
		steps = append(steps, r.Disarm...)
	}
	var lines []string
	for _, s := range steps {
		lines = append(lines, shell.Join(s...))
	}
	script := "mount -t tmpfs tmpfs /run\n" + strings.Join(lines, "\n") + "\nsleep 4\nnft list chain inet filter input"
	out, err := exec.Command("ip", "netns", "exec", n.name, "unshare", "--mount", "--propagation", "private", "sh", "-ec", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got := strings.Contains(string(out), "tcp dport 22 drop"); got != disarm {
		t.Errorf("disarmed %v: the cutting rule is there: %v\n%s", disarm, got, out)
	}
}

func TestGoverning(t *testing.T) {
	tests := []struct {
		p         Presence
		want, why string
	}{
		{Presence{}, "none", "no firewall service, rules or nftables tables"},
		{Presence{NftTables: []string{"inet filter"}}, Nftables, "nftables tables: inet filter"},
		{Presence{FirewalldRunning: true, NftTables: []string{"inet firewalld"}}, Firewalld,
			"firewalld is running and owns the rules; also present: nftables — every one of them filters, so verdicts read them all"},
		{Presence{UfwActive: true, IptablesNft: true}, Ufw,
			"ufw is active and owns the rules; also present: iptables-nft — every one of them filters, so verdicts read them all"},
		{Presence{IptablesLegacy: true, IptablesNft: true}, IptablesLegacy,
			"iptables-legacy holds rules; also present: iptables-nft — every one of them filters, so verdicts read them all"},
	}
	for _, tt := range tests {
		got, why := Governing(tt.p)
		if got != tt.want || why != tt.why {
			t.Errorf("Governing(%+v) = %s, %q; want %s, %q", tt.p, got, why, tt.want, tt.why)
		}
	}
}
