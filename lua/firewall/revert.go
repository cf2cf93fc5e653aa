package firewall

import (
	"fmt"
	"time"

	"remedy/lua/revert"
)

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

// detached starts the refresh loop of a host without an init system in a
// session of its own, so that it outlives the SSH session.
func detached(script string) []string { return revert.Detached("none", "", script) }

// PlanRevert plans a revert of the live firewall that fires after `after`
// unless disarmed (see package revert). Its state lives under /run, gone
// at reboot, when the persisted configuration applies anyway — which is
// why a change is persisted only after the revert is disarmed.
func PlanRevert(sys System, token string, after time.Duration) (revert.Revert, error) {
	sr, ok := saveRestore[backendKind(sys.Backend)]
	if !ok {
		return revert.Revert{}, fmt.Errorf("revert: no firewall backend %q", sys.Backend)
	}
	if backendKind(sys.Backend) == IptablesLegacy {
		v4, v6 := sys.iptablesCmd("ip"), sys.iptablesCmd("ip6")
		sr = [2]string{
			fmt.Sprintf(`%s > "$d/v4" && %s > "$d/v6"`, saveCmd(v4), saveCmd(v6)),
			fmt.Sprintf(`%s < "$d/v4"; %s < "$d/v6"`, restoreCmd(v4), restoreCmd(v6)),
		}
	}
	return revert.Plan(sys.Init, token, after, sr[0], sr[1])
}
