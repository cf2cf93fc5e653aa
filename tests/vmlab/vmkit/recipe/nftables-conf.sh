# nftables_conf prints Debian's /etc/nftables.conf with an input policy of
# drop that lets established traffic, loopback and SSH in; EGRESS=1 drops
# output too, but DNS, loopback and established traffic.
nftables_conf() {
	cat <<'NFT'
#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		tcp dport 22 accept
	}
	chain forward {
		type filter hook forward priority filter;
	}
NFT
	if [ "$EGRESS" = 1 ]; then
		cat <<'NFT'
	chain output {
		type filter hook output priority filter; policy drop;
		ct state established,related accept
		oif "lo" accept
		udp dport 53 accept
		tcp dport 53 accept
	}
}
NFT
	else
		printf '\tchain output {\n\t\ttype filter hook output priority filter;\n\t}\n}\n'
	fi
}
