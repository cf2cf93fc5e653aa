# The same questions in iptables (legacy): -i, -d, addrtype, --sport,
# pkttype, --syn and --tcp-flags, length, ipsets (one with a timeout),
# multiport and ranges, limit, recent, hashlimit, connlimit, quota, a
# NOTRACK in raw, MARK, NFQUEUE with bypass, goto/return, REJECT vs DROP,
# and OUTPUT for probes out.
ipset create blocked hash:ip timeout 3600
ipset add blocked 203.0.113.9
ipset create knocked hash:ip,port
ipset add knocked 198.18.0.1,tcp:7002
iptables-legacy-restore <<'RULES'
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 7300 -j CT --notrack
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 7400 -j MARK --set-mark 0x2
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT DROP [0:0]
:WEB - [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate UNTRACKED -p udp --dport 7300 -j ACCEPT
-A INPUT -m mark --mark 0x2 -p tcp --dport 7400 -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -m pkttype ! --pkt-type unicast -j DROP
-A INPUT -p tcp ! --syn -m conntrack --ctstate NEW -j DROP
-A INPUT -p tcp --tcp-flags ALL NONE -j DROP
-A INPUT -p tcp -m length --length 1400:65535 -j DROP
-A INPUT -m set --match-set blocked src -j DROP
-A INPUT -m addrtype ! --dst-type LOCAL -j DROP
-A INPUT -d 198.18.0.10/32 -p tcp -m tcp --dport 7000 -j ACCEPT
-A INPUT -m set --match-set knocked src,dst -j ACCEPT
-A INPUT -p tcp -m multiport --dports 7100,7110:7119 -j ACCEPT
-A INPUT -p tcp -m tcp --sport 53 --dport 7200 -j ACCEPT
-A INPUT -p tcp -m tcp --sport 1024:65535 --dport 7201 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 7500 -m limit --limit 5/min -j ACCEPT
-A INPUT -p tcp -m tcp --dport 7501 -m hashlimit --hashlimit-above 5/min --hashlimit-mode srcip --hashlimit-name h -j DROP
-A INPUT -p tcp -m tcp --dport 7501 -m connlimit --connlimit-above 20 -j DROP
-A INPUT -p tcp -m tcp --dport 7501 -m quota --quota 1000000 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 7502 -m recent --set --name knock
-A INPUT -p tcp -m tcp --dport 7502 -m recent --rcheck --name knock -j ACCEPT
-A INPUT -p tcp -m tcp --dport 7503 -m recent --rcheck --seconds 60 --name knock -j ACCEPT
-A INPUT -p tcp -m tcp --dport 7600 -g WEB
-A INPUT -p tcp -m tcp --dport 7700 -j NFQUEUE --queue-num 3 --queue-bypass
-A INPUT -p tcp -m tcp --dport 7701 -j NFQUEUE --queue-num 3
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -i eth0 -p udp -m udp --dport 33001:33010 -j ACCEPT
-A INPUT -p tcp -j REJECT --reject-with tcp-reset
-A WEB -p tcp -m tcp --dport 7600 -j RETURN
-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A OUTPUT -o lo -j ACCEPT
-A OUTPUT -o eth0 -d 198.18.0.0/23 -p tcp -m tcp --dport 443 -j ACCEPT
-A OUTPUT -p udp -m udp --dport 53 -j ACCEPT
COMMIT
RULES
