# Debian 12 with iptables-persistent: netfilter-persistent.service loads
# /etc/iptables/rules.v4 at boot, whose INPUT ends in REJECT after
# loopback, established traffic and SSH. ipset-persistent, its plugin for
# ipsets, loads /etc/iptables/ipsets before the rules: without it nothing
# keeps a domain's ipset across a reboot, and remedy refuses allow_domain.
install_packages iptables-persistent ipset-persistent
output=ACCEPT
[ "$EGRESS" = 1 ] && output=DROP
{
	printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT %s [0:0]\n' "$output"
	printf '%s\n' '-A INPUT -i lo -j ACCEPT' \
		'-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT' \
		'-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT' \
		'-A INPUT -j REJECT --reject-with icmp-port-unreachable'
	if [ "$EGRESS" = 1 ]; then
		printf '%s\n' '-A OUTPUT -o lo -j ACCEPT' \
			'-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT' \
			'-A OUTPUT -p udp -m udp --dport 53 -j ACCEPT' \
			'-A OUTPUT -p tcp -m tcp --dport 53 -j ACCEPT'
	fi
	echo COMMIT
} >"$root/etc/iptables/rules.v4"
rm -f "$root/etc/iptables/rules.v6"
in_root systemctl enable netfilter-persistent.service
