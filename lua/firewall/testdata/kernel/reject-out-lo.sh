# A reject on the output hook sends its ICMP error or reset to the host's
# own socket, over lo: out, then in. An INPUT that lets in only
# established packets, and TCP on lo, keeps the ICMP error out (the
# program's connect times out) but lets the reset in (refused); checked
# in a network namespace.
iptables-legacy -P INPUT DROP
iptables-legacy -A INPUT -m state --state ESTABLISHED -j ACCEPT
iptables-legacy -A INPUT -i lo -p tcp -j ACCEPT
iptables-legacy -A OUTPUT -p tcp --dport 25 -j REJECT
iptables-legacy -A OUTPUT -p tcp --dport 26 -j REJECT --reject-with tcp-reset
