# iptables' virtual conntrack state DNAT, as firewalld's iptables backend
# uses it: a forward-port to a local port (DNAT --to-destination :80, the
# address kept) is let in by "--ctstate RELATED,ESTABLISHED,DNAT", and its
# answer out by "--ctstate DNAT" under an OUTPUT policy of DROP. That
# policy also keeps in the ICMP errors and resets the rejects send, but a
# reset from port 9002: those rejects look like drops from outside.
iptables-legacy -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination :80
iptables-legacy -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT
iptables-legacy -A INPUT -p tcp --dport 22 -j ACCEPT
iptables-legacy -A INPUT -p tcp --dport 9001:9002 -j REJECT --reject-with tcp-reset
iptables-legacy -A INPUT -j REJECT
iptables-legacy -A OUTPUT -m conntrack --ctstate DNAT -j ACCEPT
iptables-legacy -A OUTPUT -p tcp --sport 22 -j ACCEPT
iptables-legacy -A OUTPUT -p tcp --sport 9002 -j ACCEPT
iptables-legacy -P OUTPUT DROP
