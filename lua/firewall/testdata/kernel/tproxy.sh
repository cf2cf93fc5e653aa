# nft's tproxy: the packet goes to a transparent proxy listening on
# 127.0.0.1:12345 if there is one, the rule's later statements with it;
# with none the rule goes no further. Either way it stays on the host, so
# the verdict is decided where both ways agree; here the mark the rule
# sets decides port 7001.
nft -f - <<'RULES'
table ip tp {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		tcp dport 7000-7001 tproxy to 127.0.0.1:12345 meta mark set 1 accept
	}
	chain in {
		type filter hook input priority filter; policy accept;
		tcp dport 7001 meta mark 1 drop
	}
}
RULES
