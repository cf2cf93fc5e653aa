# A TCP connection needs its SYN-ACK back: an output chain that lets only
# some answers out, an input chain that lets only some answers in, rules
# on the sending socket's owner, and a string match (a SYN carries no
# payload; a datagram's is unknown).
nft -f - <<'RULES'
table inet host {
	chain input {
		type filter hook input priority filter; policy drop;
		tcp dport { 22, 2222 } accept
		udp dport 33001 accept
		tcp sport 443 ct state established accept
	}
	chain output {
		type filter hook output priority filter; policy drop;
		tcp sport 22 accept
		meta skuid 0 tcp dport 443 accept
		tcp dport 8443 accept
		udp dport 53 accept
		udp sport 33001 accept
	}
}
RULES
iptables-legacy -A OUTPUT -m string --string "facebook.com" --algo bm -j DROP
