# Effects the model cannot follow stay unknown: a rule that deletes the
# packet's address from a set a later rule looks up, and iptables-nft's
# NOTRACK, which nft shows only by name.
nft -f - <<'RULES'
table inet t {
	set seen { type ipv4_addr; flags dynamic; elements = { 198.18.0.1 } }
	chain input {
		type filter hook input priority filter; policy drop;
		tcp dport 7000 delete @seen { ip saddr }
		ip saddr @seen accept
	}
}
RULES
iptables-nft -t raw -A PREROUTING -p udp --dport 7300 -j NOTRACK
