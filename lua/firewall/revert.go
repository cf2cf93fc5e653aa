package firewall

import (
	"fmt"
	"regexp"
	"time"
)

// Revert arms a timed restore of the firewall before a change that could
// cut the session the change travels over, and disarms it once the
// controller has reached the host again over a new connection.
type Revert struct {
	Arm    [][]string // save the live rules, then start the timer, detached from the session
	Disarm [][]string // stop the timer and drop the saved copy
}

var revertToken = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)

// saveRestore gives, per backend, the shell lines that save the live
// state to the directory $d and restore it from there. firewalld and ufw
// changes land in their configuration, so that is what is saved.
var saveRestore = map[string][2]string{
	Nftables:       {`{ echo 'flush ruleset'; nft list ruleset; } > "$d/nft"`, `nft -f "$d/nft"`},
	IptablesLegacy: {}, // the variant's own commands: see PlanRevert
	Firewalld: {`cp -a /etc/firewalld "$d/etc"`,
		`rm -rf /etc/firewalld && cp -a "$d/etc" /etc/firewalld && firewall-cmd --reload`},
	Ufw: {`cp -a /etc/ufw "$d/etc"`, `cp -a "$d/etc/." /etc/ufw/ && ufw reload`},
}

// saveCmd and restoreCmd turn "iptables-legacy" into
// "iptables-legacy-save" and "iptables-legacy-restore".
func saveCmd(bin string) string    { return bin + "-save" }
func restoreCmd(bin string) string { return bin + "-restore" }

// detached runs script in a new session with its standard streams closed:
// a child holding them open would keep the SSH session from ending.
func detached(script string) []string {
	return []string{"sh", "-c", `setsid -f sh -c "$0" </dev/null >/dev/null 2>&1`, script}
}

// PlanRevert plans a revert that fires after `after` unless disarmed.
// The timer is a detached shell (setsid), so it outlives the SSH session
// it was started from; its state lives under /run, gone at reboot, when
// the persisted configuration applies anyway — which is why a change is
// persisted only after the revert is disarmed.
func PlanRevert(sys System, token string, after time.Duration) (Revert, error) {
	sr, ok := saveRestore[backendKind(sys.Backend)]
	if !ok {
		return Revert{}, fmt.Errorf("revert: no firewall backend %q", sys.Backend)
	}
	if backendKind(sys.Backend) == IptablesLegacy {
		v4, v6 := sys.iptablesCmd("ip"), sys.iptablesCmd("ip6")
		sr = [2]string{
			fmt.Sprintf(`%s > "$d/v4" && %s > "$d/v6"`, saveCmd(v4), saveCmd(v6)),
			fmt.Sprintf(`%s < "$d/v4"; %s < "$d/v6"`, restoreCmd(v4), restoreCmd(v6)),
		}
	}
	if !revertToken.MatchString(token) {
		return Revert{}, fmt.Errorf("revert: token %q: want 1-40 of a-z, 0-9, -", token)
	}
	if after < time.Second {
		return Revert{}, fmt.Errorf("revert: %s is too short to reconnect in", after)
	}
	dir := "/run/remedy-revert-" + token
	save := fmt.Sprintf(`set -e; d=%s; rm -rf "$d"; mkdir -m 700 "$d"; %s`, dir, sr[0])
	timer := fmt.Sprintf(`d=%s; echo $$ > "$d/pid"; sleep %d; %s; rm -rf "$d"`, dir, int(after/time.Second), sr[1])
	disarm := fmt.Sprintf(`d=%s; test -f "$d/pid" && kill "$(cat "$d/pid")"; rm -rf "$d"`, dir)
	return Revert{
		Arm:    [][]string{{"sh", "-c", save}, detached(timer)},
		Disarm: [][]string{{"sh", "-c", disarm}},
	}, nil
}
