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

// Window is how long the controller may stay silent, while a change that
// could cut the session (a firewall rule on the input path, sshd leaving
// its old ports) is armed, before the host reverts it. The window counts
// from the arming and from each proof of life the controller pushes
// (Revert.Extend), not from the arming alone: a change that takes long on
// a slow host, through a sudo that asks PAM every time, is not reverted
// while the controller keeps proving it is there.
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

// MaxArmed bounds how long a revert stays armed, however often the
// controller pushes its deadline: a controller stuck in a loop that
// pushes must not keep a host half changed for ever.
const MaxArmed = 30 * time.Minute

// NewToken names a revert: what it reverts ("fw", "sshd"), then 48
// random bits.
func NewToken(what string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return what + "-" + hex.EncodeToString(b)
}

// Revert is a planned timed revert: the commands that arm it, push its
// deadline forward and disarm it.
type Revert struct {
	Arm    [][]string    // save the state and set the deadline, then start the timer, detached from the session
	Extend [][]string    // push the deadline a window from now; fails once the timer has fired
	Disarm [][]string    // stop the timer and drop the saved copy
	Window time.Duration // how long the controller may stay silent
}

// Due reports whether the deadline, last pushed (or armed) at last,
// should be pushed again: a quarter of the window has passed. Pushing
// only then costs a fast change no command, and leaves a slow one most of
// the window for its longest step.
func (r Revert) Due(last time.Time) bool { return time.Since(last) >= r.Window/4 }

// DirPrefix starts the directory each revert keeps its saved state, its
// deadline and its timer's pid in. It is under /run, gone at reboot, when
// what boot loads applies anyway.
const DirPrefix = "/run/remedy-revert-"

var token = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)

// Plan plans a revert that runs restore once the controller has not
// pushed its deadline for `window`, or MaxArmed after it was armed,
// unless disarmed. save and restore are shell lines that find the
// revert's directory in $d. init is the host's init system (Facts.Init):
// see Detached.
func Plan(init, tok string, window time.Duration, save, restore string) (Revert, error) {
	if !token.MatchString(tok) {
		return Revert{}, fmt.Errorf("revert: token %q: want 1-40 of a-z, 0-9, -", tok)
	}
	return plan(init, DirPrefix+tok, "remedy-revert-"+tok, window, MaxArmed, save, restore)
}

// plan is Plan in directory dir, bounded by max.
//
// The deadline is in $d/deadline, in seconds since the host booted
// (/proc/uptime) on both ends: a clock no time sync steps while a change
// is armed, and no %s for systemd to take for a specifier. The timer
// reads it every second, so a deadline of 0 written there brings the
// revert forward (the lab and VM drills do so). Any of its commands
// killed (its sleep, mostly) ends the wait as a passed deadline would. A push writes the new deadline
// atomically, then checks the timer has not fired: the timer marks
// $d/fired before it reads the deadline a last time, so either it sees
// the push and waits on, or the push sees the mark and fails (a push that
// meets the mark of a timer about to wait on looks again a second later).
func plan(init, dir, unit string, window, max time.Duration, save, restore string) (Revert, error) {
	if window < time.Second {
		return Revert{}, fmt.Errorf("revert: %s is too short to reconnect in", window)
	}
	// A second more than the window: the clock counts whole seconds, so a
	// deadline of now plus the window could come up to one early.
	w := int(window/time.Second) + 1
	deadline := fmt.Sprintf(`echo $(($(cut -d. -f1 /proc/uptime) + %d)) > "$d/next" && mv -f "$d/next" "$d/deadline"`, w)
	arm := fmt.Sprintf(`set -e; d=%s; rm -rf "$d"; mkdir -m 700 "$d"; %s; %s`, dir, save, deadline)
	timer := fmt.Sprintf(`d=%s; echo $$ > "$d/pid"; hard=$(($(cut -d. -f1 /proc/uptime) + %d))
live() { now=$(cut -d. -f1 /proc/uptime) && dl=$(cat "$d/deadline") || echo 0 > "$d/deadline"; [ "$now" -lt "$hard" ] && [ "$now" -lt "$dl" ]; }
while :; do while live; do sleep 1 || echo 0 > "$d/deadline"; done; touch "$d/fired"; live || break; rm -f "$d/fired"; done
%s; rm -rf "$d"`, dir, int(max/time.Second), restore)
	extend := fmt.Sprintf(`d=%s; { %s && { [ ! -e "$d/fired" ] || { sleep 1; [ -d "$d" ] && [ ! -e "$d/fired" ]; }; }; } 2>/dev/null || { echo "the timed revert in $d has fired: the host restored what it saved" >&2; exit 1; }`, dir, deadline)
	disarm := fmt.Sprintf(`d=%s; test -f "$d/pid" && kill "$(cat "$d/pid")"; rm -rf "$d"`, dir)
	return Revert{
		Arm:    [][]string{{"sh", "-c", arm}, Detached(init, unit, timer)},
		Extend: [][]string{{"sh", "-c", extend}},
		Disarm: [][]string{{"sh", "-c", disarm}},
		Window: window,
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
