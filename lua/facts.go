package lua

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"remedy/lua/remote"
	"remedy/lua/shell"
)

// factsMarker starts each section of the facts command's output; no tool
// the script runs prints it.
const factsMarker = "==remedy-fact "

// factsScript reads every fact in one shell run, so gathering costs one
// round trip however many facts there are. Each section is the raw output
// of one probe; ParseFacts decides what it means. sbin joins PATH because
// sudo and plain users often lack it, and LC_ALL=C keeps tool output
// parseable. firewall-cmd and ufw are Python programs that cost a CPU
// second between them on a small host, so firewalld is asked for through
// D-Bus (does it own its bus name) and ufw is read from its config and
// its chains in the iptables rules.
const factsScript = `PATH="$PATH:/usr/sbin:/sbin"; export LC_ALL=C
s() { printf '\n` + factsMarker + `%s==\n' "$1"; }
` + SkipEmpty + `
s id; printf 'uid=%s\nuser=%s\nsudo_uid=%s\nsudo_user=%s\n' "$(id -u)" "$(id -un)" "${SUDO_UID-}" "${SUDO_USER-}"
s os-release; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null
s init; test -d /run/systemd/system && echo systemd-booted; cat /proc/1/comm 2>/dev/null
s sshd; sshd -V 2>&1
s ssh-socket; test -d /run/systemd/system && for u in ssh.socket sshd.socket; do echo "$u $(systemctl is-active "$u" 2>/dev/null)"; done
s selinux; getenforce 2>/dev/null
s firewalld; bus && dbus-send --system --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.fedoraproject.FirewallD1 2>&1
s ufw-conf; ufwon && echo ENABLED=yes
t=$(nft list tables 2>/dev/null); s nft; printf '%s\n' "$t"
s iptables-nft; nftip ip && iptables-nft-save 2>/dev/null
s ip6tables-nft; nftip ip6 && ip6tables-nft-save 2>/dev/null
s iptables-legacy; legacy ip && iptables-legacy-save 2>/dev/null
s ip6tables-legacy; legacy ip6 && ip6tables-legacy-save 2>/dev/null
exit 0`

// SkipEmpty defines the shell tests the facts and firewall reads use to
// start a tool only when it has something to show, each a shell builtin:
// a tool start costs about a millisecond of a host's CPU, and a read of
// every host runs a dozen. bus: a system D-Bus to ask. legacy ip|ip6:
// the kernel holds legacy iptables tables of that family (and
// iptables-legacy-save does not load the module by looking). nftip
// ip|ip6: nft's listing in $t (text or JSON) has tables of that family,
// as iptables-nft's are, or there is no nft to list them. ufwon: ufw.conf
// says ufw is enabled.
const SkipEmpty = `bus() { [ -S /run/dbus/system_bus_socket ] || [ -n "${DBUS_SYSTEM_BUS_ADDRESS-}" ]; }
legacy() { read -r x <"/proc/net/$1_tables_names"; } 2>/dev/null
nftip() { ! command -v nft >/dev/null 2>&1 || case "$t" in *"table $1 "*|*'"family": "'"$1"'"'*|*'"family":"'"$1"'"'*) true ;; *) false ;; esac; }
ufwon() { while read -r l; do [ "$l" = ENABLED=yes ] && return 0; done <"/etc/ufw/ufw.conf"; return 1; } 2>/dev/null`

// FactsCommand is the command line that gathers a host's facts; its
// standard output is what ParseFacts reads.
func FactsCommand() string {
	return shell.Join("sh", "-c", factsScript)
}

// ParseFacts turns the output of FactsCommand into Facts.
func ParseFacts(out []byte) (remote.Facts, error) {
	sec := splitSections(out)
	if _, ok := sec["id"]; !ok {
		return remote.Facts{}, fmt.Errorf("facts: output has no id section (%d bytes)", len(out))
	}
	var f remote.Facts
	f.User, f.Root = parseIdentity(sec["id"])
	osr := keyValues(sec["os-release"])
	f.OSID, f.OSVersion = osr["ID"], osr["VERSION_ID"]
	f.OSFamily = osFamily(osr["ID"], osr["ID_LIKE"])
	f.Init = parseInit(sec["init"])
	f.SSHDVersion = parseSSHDVersion(sec["sshd"])
	f.SSHSocket = parseSSHSocket(sec["ssh-socket"])
	f.SELinux = parseSELinux(sec["selinux"])
	f.Firewall, f.FirewallWhy = activeFirewall(sec)
	return f, nil
}

// splitSections maps each section name to its lines, blank lines dropped.
func splitSections(out []byte) map[string][]string {
	sec := map[string][]string{}
	name := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if rest, ok := strings.CutPrefix(line, factsMarker); ok {
			name = strings.TrimSuffix(rest, "==")
			sec[name] = nil
			continue
		}
		if name != "" && strings.TrimSpace(line) != "" {
			sec[name] = append(sec[name], line)
		}
	}
	return sec
}

// keyValues reads KEY=value lines, unquoting values as os-release allows.
func keyValues(lines []string) map[string]string {
	kv := map[string]string{}
	for _, l := range lines {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		kv[strings.TrimSpace(k)] = v
	}
	return kv
}

// parseIdentity names the connection user. Under sudo the script runs as
// the become user, so sudo's SUDO_UID/SUDO_USER say who connected.
func parseIdentity(lines []string) (user string, root bool) {
	kv := keyValues(lines)
	if kv["sudo_uid"] != "" {
		return kv["sudo_user"], kv["sudo_uid"] == "0"
	}
	return kv["user"], kv["uid"] == "0"
}

// osFamily picks the family from ID_LIKE, falling back to ID itself.
func osFamily(id, like string) string {
	for _, word := range append(strings.Fields(like), id) {
		switch word {
		case "debian", "ubuntu":
			return "debian"
		case "rhel", "fedora", "centos":
			return "redhat"
		case "suse", "sles", "opensuse":
			return "suse"
		case "arch", "alpine", "gentoo":
			return word
		}
	}
	return id
}

// parseInit follows sd_booted(3): systemd is the init system when
// /run/systemd/system exists; otherwise a PID 1 named init is SysV.
func parseInit(lines []string) string {
	for _, l := range lines {
		switch strings.TrimSpace(l) {
		case "systemd-booted":
			return "systemd"
		case "init":
			return "sysv"
		}
	}
	return "none"
}

// parseSSHDVersion finds "OpenSSH_9.2p1" in sshd -V's output; sshd builds
// before -V existed print the version after a usage message.
func parseSSHDVersion(lines []string) string {
	for _, l := range lines {
		for _, word := range strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == ',' }) {
			if strings.HasPrefix(word, "OpenSSH_") {
				return word
			}
		}
	}
	return ""
}

func parseSSHSocket(lines []string) bool {
	for _, l := range lines {
		if f := strings.Fields(l); len(f) == 2 && f[1] == "active" {
			return true
		}
	}
	return false
}

// parseSELinux reads getenforce; no output means SELinux is not there.
func parseSELinux(lines []string) string {
	if len(lines) == 0 {
		return "disabled"
	}
	return strings.ToLower(strings.TrimSpace(lines[0]))
}

// activeFirewall decides which firewall governs the host. firewalld and
// ufw own the ruleset when running, whatever backend they drive; below
// them, legacy iptables rules, iptables-nft rules and native nftables
// tables are checked in that order, since a host that has rules in more
// than one evaluates all of them and the first found is the one an
// operator most likely manages.
func activeFirewall(sec map[string][]string) (name, why string) {
	if dbusTrue(sec["firewalld"]) {
		return "firewalld", "firewalld owns its D-Bus name"
	}
	if keyValues(sec["ufw-conf"])["ENABLED"] == "yes" && hasUFWChains(sec) {
		return "ufw", "ufw is enabled in /etc/ufw/ufw.conf and its chains are loaded"
	}
	if hasIptablesRules(sec["iptables-legacy"]) || hasIptablesRules(sec["ip6tables-legacy"]) {
		return "iptables-legacy", "iptables-legacy has rules or a non-ACCEPT policy"
	}
	if hasIptablesRules(sec["iptables-nft"]) || hasIptablesRules(sec["ip6tables-nft"]) {
		return "iptables-nft", "iptables-nft has rules or a non-ACCEPT policy"
	}
	if t := nativeNftTables(sec); len(t) > 0 {
		return "nftables", "nftables tables: " + strings.Join(t, ", ")
	}
	return "none", "no firewall service, rules or nftables tables found"
}

// dbusTrue reads dbus-send's literal reply to NameHasOwner.
func dbusTrue(lines []string) bool {
	return strings.Join(strings.Fields(first(lines)), " ") == "boolean true"
}

// hasUFWChains finds ufw's chains in either iptables' rules: ufw.conf
// says ENABLED=yes from "ufw enable" on, even before a boot loads them.
func hasUFWChains(sec map[string][]string) bool {
	for _, key := range []string{"iptables-legacy", "iptables-nft", "ip6tables-legacy", "ip6tables-nft"} {
		for _, l := range sec[key] {
			if strings.HasPrefix(l, ":ufw-") {
				return true
			}
		}
	}
	return false
}

func first(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.TrimSpace(lines[0])
}

// hasIptablesRules reads iptables-save output: any rule, or any built-in
// chain whose policy is not ACCEPT, means the firewall filters something.
func hasIptablesRules(lines []string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, "-A ") {
			return true
		}
		if f := strings.Fields(l); strings.HasPrefix(l, ":") && len(f) >= 2 && f[1] != "ACCEPT" && f[1] != "-" {
			return true
		}
	}
	return false
}

// nativeNftTables lists the nftables tables that iptables-nft does not
// manage: "table ip filter" is iptables-nft's when iptables-nft-save
// prints "*filter".
func nativeNftTables(sec map[string][]string) []string {
	managed := map[string]bool{}
	for family, key := range map[string]string{"ip": "iptables-nft", "ip6": "ip6tables-nft"} {
		for _, l := range sec[key] {
			if t, ok := strings.CutPrefix(l, "*"); ok {
				managed[family+" "+strings.TrimSpace(t)] = true
			}
		}
	}
	var native []string
	for _, l := range sec["nft"] {
		t, ok := strings.CutPrefix(strings.TrimSpace(l), "table ")
		if ok && !managed[t] {
			native = append(native, t)
		}
	}
	return native
}
