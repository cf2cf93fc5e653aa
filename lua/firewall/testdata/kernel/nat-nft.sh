# The same in nftables: redirect to a port, dnat to the host's own address
# and to another host, and a dnat map.
nft -f - <<'RULES'
table inet nat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 443 redirect to :8443
		tcp dport 2222 dnat ip to 198.18.0.10:22
		dnat ip to tcp dport map { 3389 : 203.0.113.5 . 3389, 5900 : 127.0.0.1 . 5901 }
	}
}
table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		tcp dport { 22, 5901 } accept
		ct status dnat tcp dport 8443 accept
	}
}
RULES
