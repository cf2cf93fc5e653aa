package labkit

import (
	"maps"
	"strings"
)

// A profile is a realistic starting state: the files a distribution would
// have (Debian's /etc/nftables.conf, iptables-persistent's rules.v4 and
// unit, update-alternatives links, a firewalld policy, the links that
// enable the firewall's unit at boot) and the commands its boot would run
// to load them.
type profile struct {
	files map[string]string // host path -> content
	links map[string]string // host path -> symlink target
	start string            // shell lines run inside the host, before sshd starts
}

func profileOf(name string, egress bool) profile {
	switch name {
	case "nftables":
		return profile{
			files: map[string]string{"/etc/nftables.conf": nftablesConf(egress, true)},
			links: enabled("sysinit.target", "nftables.service"),
			start: "nft -f /etc/nftables.conf",
		}
	case "iptables-legacy", "iptables-nft":
		links := iptablesAlternatives(strings.TrimPrefix(name, "iptables-"))
		maps.Copy(links, enabled("multi-user.target", "netfilter-persistent.service"))
		return profile{
			files: map[string]string{"/etc/iptables/rules.v4": iptablesRules(egress),
				"/usr/lib/systemd/system/netfilter-persistent.service": netfilterPersistentUnit},
			links: links,
			start: "iptables-restore < /etc/iptables/rules.v4",
		}
	case "firewalld":
		p := profile{files: map[string]string{}, links: enabled("multi-user.target", "firewalld.service"), start: firewalldStart}
		if egress {
			p.files["/etc/firewalld/policies/egress-restricted.xml"] = firewalldEgressPolicy
		}
		return p
	case "ufw":
		links := iptablesAlternatives("nft")
		maps.Copy(links, enabled("multi-user.target", "ufw.service"))
		return profile{links: links, start: ufwStart(egress)}
	}
	// none: no firewall; egress-restricted it still needs something to drop
	// output, and a bare nftables ruleset is the least of firewalls.
	if !egress {
		return profile{}
	}
	return profile{
		files: map[string]string{"/etc/nftables.conf": nftablesConf(true, false)},
		links: enabled("sysinit.target", "nftables.service"),
		start: "nft -f /etc/nftables.conf",
	}
}

// enabled is the link `systemctl enable UNIT` makes for a unit wanted by
// target: the lab has no systemd, but its hosts carry the units and links
// a booted host would, which remedy reads to tell what boot loads.
func enabled(target, unit string) map[string]string {
	return map[string]string{"/etc/systemd/system/" + target + ".wants/" + unit: "/lib/systemd/system/" + unit}
}

// netfilterPersistentUnit is Debian 12's netfilter-persistent.service
// (package netfilter-persistent 1.0.20), whose plugins load
// /etc/iptables/rules.v4 and rules.v6 at boot. The machine lacks the
// package; its iptables hosts get the unit, as if it were installed.
const netfilterPersistentUnit = `[Unit]
Description=netfilter persistent configuration
DefaultDependencies=no
Wants=network-pre.target systemd-modules-load.service local-fs.target
Before=network-pre.target shutdown.target
After=systemd-modules-load.service local-fs.target
Conflicts=shutdown.target
Documentation=man:netfilter-persistent(8)

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/netfilter-persistent start
ExecStop=/usr/sbin/netfilter-persistent stop

[Install]
WantedBy=multi-user.target
`

// nftablesConf is Debian's /etc/nftables.conf with an input policy of drop
// that lets established traffic, loopback and SSH in.
func nftablesConf(egress, input bool) string {
	var b strings.Builder
	b.WriteString("#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n")
	b.WriteString("\tchain input {\n")
	if input {
		b.WriteString("\t\ttype filter hook input priority filter; policy drop;\n" +
			"\t\tct state established,related accept\n" +
			"\t\tiif \"lo\" accept\n" +
			"\t\ttcp dport 22 accept\n")
	} else {
		b.WriteString("\t\ttype filter hook input priority filter;\n")
	}
	b.WriteString("\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter;\n\t}\n")
	b.WriteString("\tchain output {\n")
	if egress {
		b.WriteString("\t\ttype filter hook output priority filter; policy drop;\n" +
			"\t\tct state established,related accept\n" +
			"\t\toif \"lo\" accept\n" +
			"\t\tudp dport 53 accept\n" +
			"\t\ttcp dport 53 accept\n")
	} else {
		b.WriteString("\t\ttype filter hook output priority filter;\n")
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// iptablesRules is an iptables-persistent rules.v4 whose INPUT ends in REJECT.
func iptablesRules(egress bool) string {
	output := "ACCEPT"
	if egress {
		output = "DROP"
	}
	lines := []string{
		"*filter",
		":INPUT ACCEPT [0:0]",
		":FORWARD ACCEPT [0:0]",
		":OUTPUT " + output + " [0:0]",
		"-A INPUT -i lo -j ACCEPT",
		"-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
		"-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
		"-A INPUT -j REJECT --reject-with icmp-port-unreachable",
	}
	if egress {
		lines = append(lines,
			"-A OUTPUT -o lo -j ACCEPT",
			"-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
			"-A OUTPUT -p udp -m udp --dport 53 -j ACCEPT",
			"-A OUTPUT -p tcp -m tcp --dport 53 -j ACCEPT")
	}
	return strings.Join(append(lines, "COMMIT"), "\n") + "\n"
}

// iptablesAlternatives points the host's own iptables commands at variant
// ("legacy" or "nft"), so `iptables -V` on that host says which it runs.
func iptablesAlternatives(variant string) map[string]string {
	links := map[string]string{}
	for _, cmd := range []string{"iptables", "ip6tables"} {
		for _, suffix := range []string{"", "-save", "-restore"} {
			links["/etc/alternatives/"+cmd+suffix] = "/usr/sbin/" + cmd + "-" + variant + suffix
		}
	}
	return links
}

// firewalldStart runs firewalld as its unit would, on a private system bus
// (/run is the host's own tmpfs), and waits until it has loaded its zones.
const firewalldStart = `mkdir -p /run/dbus
dbus-daemon --system --fork </dev/null >/dev/null 2>&1
setsid firewalld --nofork --nopid </dev/null >/dev/null 2>&1 &
i=0
until [ "$(firewall-cmd --state 2>/dev/null)" = running ]; do
	i=$((i+1))
	if [ "$i" -gt 300 ]; then echo "firewalld is not running after 60s" >&2; exit 1; fi
	sleep 0.2
done`

// firewalldEgressPolicy drops what the host itself sends, except DNS;
// firewalld always lets loopback and established traffic through.
const firewalldEgressPolicy = `<?xml version="1.0" encoding="utf-8"?>
<policy target="DROP">
  <short>egress-restricted</short>
  <description>Nothing leaves this host but DNS and replies.</description>
  <service name="dns"/>
  <ingress-zone name="HOST"/>
  <egress-zone name="ANY"/>
</policy>
`

// ufwStart configures ufw as an administrator would and enables it.
func ufwStart(egress bool) string {
	lines := []string{"ufw default deny incoming", "ufw allow 22/tcp"}
	if egress {
		lines = append(lines, "ufw default deny outgoing", "ufw allow out 53")
	}
	lines = append(lines, "ufw --force enable")
	for i := range lines {
		lines[i] += " >/dev/null"
	}
	return strings.Join(lines, "\n")
}
