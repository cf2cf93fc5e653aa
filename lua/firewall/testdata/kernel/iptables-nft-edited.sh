# iptables-nft's table, to which nft added a rule iptables-nft-save cannot
# print right (it shows "-A INPUT -p tcp -j ACCEPT" for the set).
iptables-nft-restore <<'RULES'
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m comment --comment ssh -j ACCEPT
COMMIT
RULES
nft add rule ip filter INPUT tcp dport '{ 80, 443 }' accept
