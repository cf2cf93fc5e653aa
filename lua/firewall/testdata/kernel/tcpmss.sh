# The MSS option of a SYN (ShiftSad/Firewall-Defender's "SYN packets with
# suspicious MSS value"): every common stack sends 536-8960, so a range
# holding all of those, or none, decides; one cutting through it does not.
iptables-legacy -A INPUT -p tcp --dport 7100 -m conntrack --ctstate NEW -m tcpmss ! --mss 536:65535 -j DROP
iptables-legacy -A INPUT -p tcp --dport 7101 -m tcpmss --mss 1:535 -j DROP
iptables-legacy -A INPUT -p tcp --dport 7103 -m tcpmss --mss 1400:1500 -j DROP
nft -f - <<'RULES'
table inet t {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 7102 tcp option maxseg size 1-535 drop
		tcp dport 7104 tcp option maxseg size 1400-1500 drop
		udp dport 7105 tcp option maxseg size 1-535 drop
	}
}
RULES
