package firewall

import (
	"fmt"
	"strings"
	"time"
)

// refreshJob renders the script that re-resolves d and refreshes the sets,
// and what schedules it: a systemd timer, a cron entry on other init
// systems, or — on a host without any init (a container, a lab host) — a
// detached loop that lives as long as the host does.
func refreshJob(sys System, unit string, sets [2]string, homes []string, d Domain) ([]File, [][]string) {
	script := File{Path: jobDir + unit, Content: refreshScript(sys, sets, homes, d), Mode: 0o755}
	every := int(d.Refresh / time.Second)
	switch d.Init {
	case "systemd":
		return []File{script,
				{Path: "/etc/systemd/system/" + unit + ".service", Content: serviceUnit(sys, d, script.Path), Mode: 0o644},
				{Path: "/etc/systemd/system/" + unit + ".timer", Content: timerUnit(d, every), Mode: 0o644}},
			[][]string{{"systemctl", "daemon-reload"}, {"systemctl", "start", unit + ".service"},
				{"systemctl", "enable", "--now", unit + ".timer"}}
	case "none":
		loop := fmt.Sprintf("while :; do %s; sleep %d; done", script.Path, every)
		return []File{script}, [][]string{{script.Path}, detached(loop)}
	}
	minutes := max(every/60, 1)
	cron := fmt.Sprintf("# %s: refresh the addresses of %s\n*/%d * * * * root %s\n", CommentPrefix, d.Name, minutes, script.Path)
	return []File{script, {Path: "/etc/cron.d/" + unit, Content: cron, Mode: 0o644}}, [][]string{{script.Path}}
}

// JobPaths are the files a domain's refresh job may write: its script
// and each schedule refreshJob may give it, under its name and under the
// name remedy gave it before (legacyJobUnit), which a host allowed then
// keeps (hostNames). Which schedule depends on the host's init, which a
// playbook's prefetch, listing the reads before the facts are read, does
// not know.
func JobPaths(domain string) []string {
	units := []string{jobUnit(domain)}
	if legacy := legacyJobUnit(domain); legacy != units[0] {
		units = append(units, legacy)
	}
	var out []string
	for _, unit := range units {
		out = append(out, jobDir+unit)
		out = append(out, jobFiles(unit)...)
	}
	return out
}

func refreshScript(sys System, sets [2]string, homes []string, d Domain) string {
	backend := sys.Backend
	var b strings.Builder
	fmt.Fprintf(&b, `#!/bin/sh
# Written by %s keeps the firewall's sets holding the current addresses
# of %s, which may pass %s/%d out. Runs every %s.
set -eu
# A run that fails (at boot: the name not resolving yet, the firewall not
# loaded yet) is tried again soon, not a whole period later: the script
# runs itself again, up to %d times %ds apart.
if [ -z "${REMEDY_REFRESH_TRY-}" ]; then
	n=1
	until REMEDY_REFRESH_TRY=$n "$0"; do
		[ $n -lt %d ] || exit 1
		n=$((n + 1))
		sleep %d
	done
	exit 0
fi
name=%s proto=%s port=%d comment='%s'
v4=$(getent ahostsv4 -- "$name" | awk '{print $1}' | sort -u)
v6=$(getent ahostsv6 -- "$name" | awk '$1 !~ /^::ffff:/ {print $1}' | sort -u)
if [ -z "$v4$v6" ]; then
	echo "$name does not resolve: keeping the addresses the sets hold" >&2
	exit 1
fi
`, CommentPrefix, d.Name, d.Proto, d.Port, d.Refresh, refreshTries, refreshRetry, refreshTries, refreshRetry, d.Name, d.Proto, d.Port, d.comment())
	if backend == Firewalld && sys.Bus {
		b.WriteString(firewalldBusRefresh)
	} else {
		b.WriteString(refreshFunc[backendKind(backend)])
	}
	if backend == Ufw {
		b.WriteString("refresh \"$v4 $v6\"\n")
		return b.String()
	}
	for i, v := range []string{"$v4", "$v6"} {
		fam := []string{"inet", "inet6"}[i]
		switch backendKind(backend) {
		case Nftables:
			for _, h := range homes {
				if strings.HasSuffix(h, " "+sets[i]) {
					fmt.Fprintf(&b, "refresh '%s' \"%s\" %d\n", h, v, 3*int(d.Refresh/time.Second))
				}
			}
		case IptablesLegacy:
			fmt.Fprintf(&b, "refresh %s %s \"%s\"\n", sets[i], fam, v)
		default:
			fmt.Fprintf(&b, "refresh %s \"%s\"\n", sets[i], v)
		}
	}
	return b.String()
}

// A refresh that fails is tried refreshTries times in all, refreshRetry
// seconds apart: a minute, at boot long enough for a slow machine to get
// its resolver and firewall up. systemd gives a oneshot unit no start
// timeout, and Restart= of a oneshot one needs systemd 244.
const (
	refreshTries = 7
	refreshRetry = 10
)

// backendKind groups the backends by how they hold sets: nft sets,
// ipsets, firewalld ipsets.
func backendKind(backend string) string {
	if backend == IptablesNft {
		return IptablesLegacy
	}
	return backend
}

// refreshFunc replaces a set's members without a moment in which the
// set is empty: one nft transaction, an ipset swap, or firewalld and ufw
// adding the new members before dropping the stale ones. nft elements time out
// after three refresh periods, so a job that stops does not keep stale
// addresses open for ever.
var refreshFunc = map[string]string{
	Nftables: `refresh() { # refresh "FAMILY TABLE SET" ADDRESSES TIMEOUT
	{
		echo "flush set $1"
		for a in $2; do echo "add element $1 { $a timeout ${3}s }"; done
	} | nft -f -
}
`,
	IptablesLegacy: `refresh() { # refresh SET FAMILY ADDRESSES
	ipset create -exist "$1" hash:ip family "$2"
	ipset create -exist "$1_n" hash:ip family "$2"
	ipset flush "$1_n"
	for a in $3; do ipset add -exist "$1_n" "$a"; done
	ipset swap "$1_n" "$1"
	ipset destroy "$1_n"
}
`,
	// ufw has no sets: one ufw rule per address, carrying the comment that
	// finds the stale ones again.
	// The address lists are split into words on purpose: one per line.
	Ufw: `refresh() { # refresh ADDRESSES
	old=$(ufw status | awk -v c="# $comment" '{ sub(/[ \t]+$/, "") } substr($0, length($0) - length(c) + 1) == c {print $1}' | sort -u)
	for a in $1; do
		printf '%s\n' "$old" | grep -qxF "$a" || ufw allow out proto "$proto" to "$a" port "$port" comment "$comment" >/dev/null
	done
	for a in $old; do
		printf '%s\n' $1 | grep -qxF "$a" || ufw delete allow out proto "$proto" to "$a" port "$port" >/dev/null
	done
}
`,
	// firewalld: the runtime set and the permanent one, since any
	// firewall-cmd --reload (remedy's next change, the admin's) loads the
	// permanent configuration and would empty a runtime-only set until
	// the next tick. $p is unquoted on purpose: empty for the runtime.
	Firewalld: `refresh() { # refresh IPSET ADDRESSES
	for p in "" --permanent; do
		old=$(firewall-cmd $p --ipset="$1" --get-entries)
		for a in $2; do
			printf '%s\n' "$old" | grep -qxF "$a" || firewall-cmd $p --ipset="$1" --add-entry="$a" >/dev/null
		done
		for a in $old; do
			printf '%s\n' $2 | grep -qxF "$a" || firewall-cmd $p --ipset="$1" --remove-entry="$a" >/dev/null
		done
	done
}
`,
}

// firewalldBusRefresh is refreshFunc's firewalld over D-Bus: a busctl
// call per entry instead of a firewall-cmd start (2-4 s on a small VM);
// the permanent ipset's object path comes from fwconf.
var firewalldBusRefresh = fwConfFunc + `fwd=org.fedoraproject.FirewallD1 fwp=/org/fedoraproject/FirewallD1
refresh() { # refresh IPSET ADDRESSES
	conf=$(fwconf IPSet "$1")
	for where in runtime permanent; do
		old=$(entries $where "$1")
		for a in $2; do
			printf '%s\n' "$old" | grep -qxF "$a" || entry $where "$1" addEntry "$a" >/dev/null
		done
		for a in $old; do
			printf '%s\n' $2 | grep -qxF "$a" || entry $where "$1" removeEntry "$a" >/dev/null
		done
	done
}
entry() { # entry runtime|permanent IPSET METHOD [ADDRESS]
	if [ "$1" = runtime ]; then
		busctl call -- $fwd $fwp $fwd.ipset "$3" "s${4:+s}" "$2" ${4:+"$4"}
	else
		busctl call -- $fwd "$conf" $fwd.config.ipset "$3" ${4:+s "$4"}
	fi
}
entries() { # entries runtime|permanent IPSET: one a line, from busctl's 'as 2 "A" "B"'
	e=$(entry "$1" "$2" getEntries) || return
	for w in $e; do case $w in \"*\") w=${w#\"}; echo "${w%\"}" ;; esac; done
}
`

// serviceUnit runs the refresh script once. At boot it must come after
// the firewall's own unit has loaded the sets it refreshes (and, for
// firewalld, answers on D-Bus): ordering after a unit that is not there
// is harmless. A run that fails tries again by itself (refreshScript).
func serviceUnit(sys System, d Domain, script string) string {
	after := append([]string{"network-online.target"}, BootUnits(sys)...)
	return fmt.Sprintf(`# %s refresh the addresses of %s
[Unit]
Description=Refresh the firewall sets of %s
Wants=network-online.target
After=%s

[Service]
Type=oneshot
ExecStart=%s
`, CommentPrefix, d.Name, d.Name, strings.Join(after, " "), script)
}

func timerUnit(d Domain, every int) string {
	return fmt.Sprintf(`# %s refresh the addresses of %s
[Unit]
Description=Refresh the firewall sets of %s every %ds

[Timer]
OnBootSec=30s
OnUnitActiveSec=%ds
AccuracySec=5s

[Install]
WantedBy=timers.target
`, CommentPrefix, d.Name, d.Name, every, every)
}
