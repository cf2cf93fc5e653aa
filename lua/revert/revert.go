// Package revert plans the timed reverts remedy arms on a managed host
// before a change that could cut the controller off (a firewall rule, sshd
// leaving its old port): save what restores the host, start a timer that
// restores it, and let the controller disarm the timer once it has
// reached the host again over a new connection. The timer must outlive
// the SSH session that started it, which is the point of it.
package revert

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Window is how long a change that could cut the session (a firewall
// rule on the input path, sshd leaving its old ports) may stay without
// the controller reconnecting before the host reverts it.
var Window = window()

// testWindow shortens Window for the lab tests, which build remedy with
// -ldflags=-X=remedy/lua/revert.testWindow=12s to see a move outlast the
// window in seconds; it is no option of remedy's.
var testWindow string

func window() time.Duration {
	if d, err := time.ParseDuration(testWindow); err == nil && d >= time.Second {
		return d
	}
	return 120 * time.Second
}

// NewToken names a revert: what it reverts ("fw", "sshd"), then 48
// random bits.
func NewToken(what string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return what + "-" + hex.EncodeToString(b)
}

// Revert is a planned timed revert: the commands that arm it and the ones
// that disarm it.
type Revert struct {
	Arm    [][]string // save the state, then start the timer, detached from the session
	Disarm [][]string // stop the timer and drop the saved copy
}

// DirPrefix starts the directory each revert keeps its saved state and
// its timer's pid in. It is under /run, gone at reboot, when what boot
// loads applies anyway.
const DirPrefix = "/run/remedy-revert-"

var token = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)

// Plan plans a revert that runs restore after `after` unless disarmed.
// save and restore are shell lines that find the revert's directory in
// $d. init is the host's init system (Facts.Init): see detached.
func Plan(init, tok string, after time.Duration, save, restore string) (Revert, error) {
	if !token.MatchString(tok) {
		return Revert{}, fmt.Errorf("revert: token %q: want 1-40 of a-z, 0-9, -", tok)
	}
	if after < time.Second {
		return Revert{}, fmt.Errorf("revert: %s is too short to reconnect in", after)
	}
	dir := DirPrefix + tok
	arm := fmt.Sprintf(`set -e; d=%s; rm -rf "$d"; mkdir -m 700 "$d"; %s`, dir, save)
	timer := fmt.Sprintf(`d=%s; echo $$ > "$d/pid"; sleep %d; %s; rm -rf "$d"`, dir, int(after/time.Second), restore)
	disarm := fmt.Sprintf(`d=%s; test -f "$d/pid" && kill "$(cat "$d/pid")"; rm -rf "$d"`, dir)
	return Revert{
		Arm:    [][]string{{"sh", "-c", arm}, Detached(init, "remedy-revert-"+tok, timer)},
		Disarm: [][]string{{"sh", "-c", disarm}},
	}, nil
}

// Detached runs script so that it outlives the SSH session it is started
// from. Where systemd is the init system it runs as a transient service
// of its own (systemd-run), outside the session's scope: logind kills
// every process of that scope when the session ends if
// KillUserProcesses=yes, setsid or not. Elsewhere it runs in a new
// session (setsid) with its standard streams closed, as a child holding
// them open would keep the SSH session from ending. unit names the
// transient service.
func Detached(init, unit, script string) []string {
	if init == "systemd" {
		// systemd expands $VAR, ${VAR} and $$ in a service's command line,
		// a transient one's too (systemd-run --expand-environment=no is
		// systemd 254's, newer than Debian 12's): written as $$, each $
		// reaches sh as it is. Unescaped, the timer's "echo $$ > pid"
		// wrote "$", the disarm's kill failed, and the revert fired after
		// every successful change, from a directory the disarm had
		// removed: it deleted sshd_config, or /etc/firewalld.
		return []string{"systemd-run", "--quiet", "--collect", "--unit=" + unit, "--description=remedy timed revert",
			"sh", "-c", strings.ReplaceAll(script, "$", "$$")}
	}
	return []string{"sh", "-c", `setsid -f sh -c "$0" </dev/null >/dev/null 2>&1`, script}
}
