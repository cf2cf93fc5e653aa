# rawtrack (antimomentum/rawtrack:ESTABLISHED.sh): raw PREROUTING drops
# whatever arrives on eth0 unless ipset TEST1 holds its source and
# destination port, which only the host's own packets add on their way
# out (mangle POSTROUTING, SET --add-set TEST1 dst,src): the answer to a
# connection the host opens passes, a connection from outside does not.
# A -m set naming fewer directions than the set's elements have parts
# never matches (RAWTRACK src on hash:ip,port).
ipset create TEST1 hash:ip,port timeout 60
ipset create RAWTRACK hash:ip,port timeout 60
iptables-legacy -t raw -A PREROUTING -i eth0 -m set --match-set TEST1 src,dst -j ACCEPT
iptables-legacy -t raw -A PREROUTING -i eth0 -j DROP
iptables-legacy -t mangle -A PREROUTING -i eth0 -m set --match-set RAWTRACK src,src -j ACCEPT
iptables-legacy -t mangle -A PREROUTING -i eth0 -m set --match-set RAWTRACK src -j SET --del-set TEST1 src,dst
iptables-legacy -t mangle -A PREROUTING -i eth0 -m set --match-set RAWTRACK src -j DROP
iptables-legacy -t mangle -A PREROUTING -i eth0 -j SET --exist --add-set RAWTRACK src,src
iptables-legacy -t mangle -A POSTROUTING -o eth0 -j SET --exist --add-set TEST1 dst,src
