package lua

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"remedy/lua/firewall"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

// factsScript reads every fact in one shell run, so gathering costs one
// round trip however many facts there are, each in a part of its output
// (shell.PartsPrelude); ParseFacts decides what they mean. sbin joins
// PATH because sudo and plain users often lack it, and LC_ALL=C keeps
// tool output parseable. The uid and PID 1's name are read by the shell
// itself, which costs a host less than starting id or cat. It ends with
// the firewall's read (firewall.ReadScript), from which the facts say
// which firewall governs, and whose output answers the firewall module's
// first read.
const factsScript = shell.PartsPrelude + `PATH="$PATH:/usr/sbin:/sbin"; export LC_ALL=C
` + effectiveUID + `
part id; printf 'uid=%s\nuser=%s\nsudo_uid=%s\nsudo_user=%s\n' "$me" "$(id -un)" "${SUDO_UID-}" "${SUDO_USER-}"
part os-release; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null
part init; test -d /run/systemd/system && echo systemd-booted; [ -r /proc/1/comm ] && read -r x </proc/1/comm && echo "$x"
part sshd; sshd -V 2>&1
part ssh-socket; test -d /run/systemd/system && for u in ssh.socket sshd.socket; do echo "$u $(systemctl is-active "$u" 2>/dev/null)"; done
part selinux; getenforce 2>/dev/null
` + firewall.ReadScript

// FactsCommand is the command line that gathers a host's facts; its
// standard output is what ParseFacts reads.
func FactsCommand() string {
	return shell.Join("sh", "-c", factsScript)
}

// ParseFacts turns the output of FactsCommand into Facts, and the
// firewall's read they hold into its model (firewall.Read, which reads
// the tables again with run where the read caught them changing). A
// firewall read remedy cannot model leaves the firewall "unknown",
// saying why: the facts stand, and only the firewall's functions fail.
func ParseFacts(out []byte, run firewall.Run) (remote.Facts, *firewall.HostRead, error) {
	parts, err := shell.Parts(out)
	if _, ok := parts["id"]; err != nil || !ok {
		return remote.Facts{}, nil, fmt.Errorf("facts: output has no id part (%d bytes)", len(out))
	}
	sec := map[string][]string{}
	for name, b := range parts {
		sec[name] = lines(b)
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
	fw, err := firewall.Read(out, run)
	switch {
	case errors.Is(err, firewall.ErrUnmodelled):
		f.Firewall, f.FirewallWhy = "unknown", "the firewall's read: "+err.Error()
		return f, nil, nil
	case err != nil:
		return remote.Facts{}, nil, fmt.Errorf("facts: %w", err)
	}
	f.Firewall, f.FirewallWhy = fw.Governing()
	return f, fw, nil
}

// lines are a part's lines, blank ones dropped.
func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimRight(l, "\r"); strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
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
