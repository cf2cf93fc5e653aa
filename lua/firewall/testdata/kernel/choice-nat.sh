# Maps keyed by a choice the model cannot compute (numgen, jhash), as
# kube-proxy's nftables mode picks a Service's endpoint: every element is
# followed, the last one holds where the elements cover every value, and
# an element the choice never takes never holds. Destination NAT on the
# output hook to another host sends the host's own packet there, not to
# its peer; to the host's own address it stays on the host.
nft -f - <<'RULES'
table ip kp {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 3001 numgen random mod 1 vmap { 0 : goto ep1 }
		tcp dport 3004 numgen random mod 2 vmap { 0 : goto ep1, 1 : goto ep2 }
		tcp dport 3005 dnat ip to numgen random mod 2 map { 0 : 10.180.0.4 . 80, 1 : 10.180.0.5 . 80 }
	}
	chain ep1 {
		meta l4proto tcp dnat ip to 10.180.0.1:80
	}
	chain ep2 {
		meta l4proto tcp dnat ip to 10.180.0.2:80
	}
	chain output {
		type nat hook output priority -100; policy accept;
		tcp dport 3001 dnat ip to 10.180.0.1:80
		tcp dport 3002 dnat ip to 198.18.0.10:8080
	}
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 3006 numgen random mod 2 vmap { 0 : drop, 1 : accept }
		tcp dport 3007 numgen random mod 2 vmap { 0 : accept, 1 : accept, 5 : drop }
		tcp dport 3008 numgen inc mod 3 vmap { 0 : drop, 1 : drop }
		tcp dport 3009 jhash ip saddr mod 2 vmap { 0 : drop, 1 : drop }
	}
}
RULES
