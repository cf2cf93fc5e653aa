#!/bin/sh
# Captures the fixtures in this directory from the real tools. Run as root
# from this directory: every tool runs in a sandbox (sandbox.sh), so the
# machine's own firewall and files are never touched.
set -eu

. ./sandbox.sh

for f in nftables/*.nft; do
	sandbox "nft -f $f && nft -j list ruleset > ${f%.nft}.json"
done

ipsets='ipset create trusted4 hash:net family inet && ipset add trusted4 198.18.10.0/24 &&
	ipset add trusted4 198.19.0.1 && ipset create pairs hash:ip,port && ipset add pairs 198.18.0.1,tcp:22 &&
	ipset create peers6 hash:ip family inet6 && ipset add peers6 2001:db8::1'
sandbox "$ipsets && ipset save > iptables/ipset.ipsets"

for f in iptables/*.rules; do
	case $f in *6.rules) v=ip6 save=save6 ;; *) v=ip save=save ;; esac
	sandbox "$ipsets && ${v}tables-legacy-restore < $f && ${v}tables-legacy-save > ${f%.rules}.legacy.$save"
	sandbox "$ipsets && ${v}tables-nft-restore < $f && ${v}tables-nft-save > ${f%.rules}.nft.$save && nft -j list ruleset > ${f%.rules}.nft.json"
done

ufw_capture() { # ufw_capture NAME EXTRA-COMMANDS
	sandbox "
		ufw --force reset >/dev/null
		ufw default deny incoming && ufw default allow outgoing && ufw allow 22/tcp
		$2
		ufw --force enable
		ufw status verbose > ufw/$1.status
		ufw status numbered > ufw/$1.numbered
		iptables-save > ufw/$1.save
		ip6tables-save > ufw/$1.save6
		nft -j list ruleset > ufw/$1.json"
}
ufw_capture lab-ufw :
ufw_capture lab-egress "ufw default deny outgoing >/dev/null && ufw allow out 53 >/dev/null"
ufw_capture remedy-fasp "ufw allow proto udp to any port 33001:33010 comment 'remedy: fasp'"

firewalld_capture() { # firewalld_capture NAME EXTRA-COMMANDS
	sandbox "
		mkdir -p /run/dbus
		dbus-daemon --system --fork
		firewalld --nofork --nopid & fw=\$!
		i=0; until firewall-cmd --state >/dev/null 2>&1; do i=\$((i+1)); [ \$i -lt 100 ]; sleep 0.2; done
		ip link add fw0 type veth peer name fw1 && firewall-cmd --zone=public --change-interface=fw0 >/dev/null
		$2
		nft -j list ruleset > firewalld/$1.json
		firewall-cmd --get-default-zone > firewalld/$1.default-zone
		firewall-cmd --get-active-zones > firewalld/$1.active-zones
		firewall-cmd --list-all > firewalld/$1.list-all
		kill \$fw; wait \$fw || true
		kill \$(cat /run/dbus/pid 2>/dev/null || cat /run/dbus/dbus.pid) || true"
}
firewalld_capture public-ssh :
firewalld_capture public-fasp "firewall-cmd --add-port=33001-33010/udp >/dev/null && firewall-cmd --add-service=https >/dev/null"

# kernel/NAME.sh loads rules with whichever tools it names, on a host
# whose eth0 has 198.18.0.10/23; then everything the kernel holds is read
# as the firewall module reads it, with the host's addressing and its
# route to a peer, 198.18.0.1.
for f in kernel/*.sh; do
	n=${f%.sh}
	sandbox "
		$eth0
		. ./$f
		nft -j list ruleset > $n.nft.json
		iptables-nft-save > $n.nft.save 2>/dev/null && ip6tables-nft-save > $n.nft.save6 2>/dev/null
		if read -r x </proc/net/ip_tables_names; then iptables-legacy-save > $n.legacy.save; else : > $n.legacy.save; fi
		if read -r x </proc/net/ip6_tables_names; then ip6tables-legacy-save > $n.legacy.save6; else : > $n.legacy.save6; fi
		ipset save > $n.ipsets
		ip -j addr > $n.addr.json && ip -j route get 198.18.0.1 > $n.route.json"
done

# ip/: a host's addressing and its routes to a peer on the link, one
# behind a gateway, one of its own addresses, and an IPv6 peer.
sandbox "
	$eth0
	ip addr add 2001:db8::10/64 dev eth0 nodad
	ip link add wg0 type veth peer name wg0p && ip addr add 10.8.0.1/24 dev wg0
	ip route add default via 198.18.0.1
	ip -j addr > ip/addr.json
	ip -j route get 198.18.0.1 > ip/route-link.json
	ip -j route get 203.0.113.7 > ip/route-gateway.json
	ip -j route get 198.18.0.10 > ip/route-local.json
	ip -j -6 route get 2001:db8::1 > ip/route6-link.json"
