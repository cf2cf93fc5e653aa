# Destination NAT to a loopback address: from outside (a Minecraft proxy
# bound to localhost, "iptables -t nat -A PREROUTING -p tcp --dport 25565
# -j DNAT --to-destination 127.0.0.1:25566") the kernel drops the packet
# as a martian unless route_localnet is set on the arrival interface; the
# host's own packets (nat OUTPUT) reach it.
iptables-legacy -t nat -A PREROUTING -p tcp --dport 25565 -j DNAT --to-destination 127.0.0.1:25566
iptables-legacy -t nat -A OUTPUT -p tcp --dport 53 -j DNAT --to-destination 127.0.0.1:5353
nft -f - <<'RULES'
table ip t {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 8000 dnat to 127.0.0.1:8080
	}
}
RULES
