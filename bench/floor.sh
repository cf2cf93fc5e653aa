#!/usr/bin/env bash
# The floor for `make bench`: one OpenSSH connection per host of a lab's
# inventory, all at once, each running every probe of the audit in a
# single command. Nothing can do the same reads in fewer round trips.
#
#   bench/floor.sh LABDIR OUTDIR
set -euo pipefail

lab=$1 out=$2

# The probes remedy's aspera-server audit and bench/aspera-audit.yml make.
probe='PATH="$PATH:/usr/sbin:/sbin"
sshd -T
ss -Htlnp
nft -j list ruleset; iptables-save; ip6tables-save
getent ahosts api.ibmaspera.com
timeout 5 bash -c "</dev/tcp/api.ibmaspera.com/443" && echo "api.ibmaspera.com:443 connects"
grep -E "^#?Port[[:space:]]" /etc/ssh/sshd_config
exit 0'

mapfile -t addrs < <(sed -n 's/.*ansible_host=\([^ ]*\).*/\1/p' "$lab/inventory.ini")
pids=()
for addr in "${addrs[@]}"; do
	ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$lab/known_hosts" -i "$lab/id_ed25519" \
		"root@$addr" "$probe" >"$out/$addr.out" 2>&1 &
	pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || { echo "floor: ${addrs[$i]}: ssh failed, see $out/${addrs[$i]}.out" >&2; failed=1; }
done
exit $failed
