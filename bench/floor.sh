#!/usr/bin/env bash
# The floors for `make bench`: one OpenSSH connection per host of a lab's
# inventory, all at once, each running its reads in a single command.
# Nothing can do the same reads in fewer round trips.
#
#   bench/floor.sh LABDIR OUTDIR          the audit's probes, as Ansible makes them
#   bench/floor.sh LABDIR OUTDIR READS    remedy's own reads: READS/ADDR.sh, the
#                                         commands remedy's audit ran on each
#                                         host (bench measure writes them)
set -euo pipefail

lab=$1 out=$2 reads=${3-}

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
	cmd=$probe
	[ -z "$reads" ] || cmd=$(<"$reads/$addr.sh")
	ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$lab/known_hosts" -i "$lab/id_ed25519" \
		"root@$addr" "$cmd" >"$out/$addr.out" 2>&1 &
	pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || { echo "floor: ${addrs[$i]}: ssh failed, see $out/${addrs[$i]}.out" >&2; failed=1; }
done
exit $failed
