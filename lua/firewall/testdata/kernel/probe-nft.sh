# What a first packet carries, in nftables: the arrival interface, the
# destination address and its type, the source port, pkttype, TCP flags,
# the IP header, sets (a dynamic one filled as of the read), a
# concatenation, verdict maps, rate limits, marks, notrack, goto/return,
# and an output chain for probes out.
nft -f - <<'RULES'
table inet probe {
	set blocked { type ipv4_addr; flags dynamic,timeout; timeout 1h; }
	set pairs { type ipv4_addr . inet_service; elements = { 198.18.0.1 . 7001, 198.18.0.2 . 7002 }; }
	map tcpports { type inet_service : verdict; elements = { 7100 : accept, 7101 : drop, 7102 : jump web }; }
	chain raw {
		type filter hook prerouting priority raw; policy accept;
		udp dport 7300 notrack
		tcp dport 7400 meta mark set 0x2
	}
	chain input {
		type filter hook input priority filter; policy drop;
		ct state vmap { established : accept, related : accept, invalid : drop }
		ct state untracked udp dport 7300 accept
		meta mark 0x2 tcp dport 7400 accept
		iifname vmap { "lo" : accept, "eth1" : drop }
		meta pkttype != host drop
		tcp flags & (fin | syn | rst | ack) != syn ct state new drop
		ip hdrlength != 5 drop
		meta l4proto tcp meta length > 1400 drop
		ip saddr @blocked drop
		fib daddr type != local drop
		ip daddr 198.18.0.10 tcp dport 7000 accept
		ip daddr 198.18.0.99 tcp dport 7000 reject
		ip saddr . tcp dport @pairs accept
		tcp dport vmap @tcpports
		tcp sport 53 tcp dport 7200 accept
		tcp sport 1024-65535 tcp dport 7201 accept
		tcp dport 7500 limit rate 5/minute accept
		tcp dport 7501 limit rate over 5/minute drop
		tcp dport 7501 ct count over 20 drop
		tcp dport 7501 accept
		tcp dport 7600 goto web
		tcp dport 22 accept
		iifname "eth0" udp dport 33001-33010 accept
		reject with icmpx type admin-prohibited
	}
	chain web {
		tcp dport 7600 return
		tcp dport 7102 accept
		reject with tcp reset
	}
	chain output {
		type filter hook output priority filter; policy drop;
		ct state established,related accept
		oifname "lo" accept
		oifname "eth0" ip daddr 198.18.0.0/23 tcp dport 443 accept
		udp dport 53 accept
	}
}
RULES
