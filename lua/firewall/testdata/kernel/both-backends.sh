# Rules in all three at once: iptables-legacy, iptables-nft and a native
# nftables table. Every one of them sees a packet.
iptables-legacy-restore <<'RULES'
*filter
:INPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 33001 -j DROP
COMMIT
RULES
iptables-nft-restore <<'RULES'
*filter
:INPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset
COMMIT
RULES
nft -f - <<'RULES'
table inet host {
	chain input {
		type filter hook input priority 10; policy drop;
		tcp dport { 22, 8080, 8443 } accept
		udp dport 33001-33010 accept
	}
}
RULES
