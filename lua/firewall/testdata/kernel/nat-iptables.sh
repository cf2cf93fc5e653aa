# Port redirection and forwarding in iptables' nat table (legacy): REDIRECT
# and DNAT to the host's own address change the port the filter sees; DNAT
# elsewhere forwards the packet.
iptables-legacy-restore <<'RULES'
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080
-A PREROUTING -p tcp -m tcp --dport 2222 -j DNAT --to-destination 198.18.0.10:22
-A PREROUTING -p tcp -m tcp --dport 3389 -j DNAT --to-destination 203.0.113.5:3389
-A PREROUTING -p udp -m udp --dport 53 -j REDIRECT --to-ports 53
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate DNAT -p udp -j ACCEPT
-A INPUT -p tcp -m multiport --dports 22,8080 -j ACCEPT
COMMIT
RULES
