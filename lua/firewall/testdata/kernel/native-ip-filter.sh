# A native nftables ruleset whose tables are named as iptables' are:
# iptables-nft-save prints "*filter" for it, with a warning, and a wrong
# "-A INPUT -p tcp -j ACCEPT" for the anonymous set it cannot show.
nft -f - <<'RULES'
table ip filter {
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		iifname "lo" accept
		tcp dport 22 accept
	}
	chain INPUT {
		type filter hook input priority 0; policy accept;
		tcp dport { 80, 443 } accept
	}
}
table ip6 filter {
	chain input {
		type filter hook input priority 0; policy drop;
		tcp dport 22 accept
	}
}
RULES
