#!/bin/sh
# make demo: a lab of real OpenSSH hosts, one per firewall profile plus an
# egress-restricted one; an audit of the built-in aspera-server playbook
# that finds the drift, a run that fixes it, and an audit that finds every
# host compliant. The lab goes down at the end, also after a failure.
# Needs root (network namespaces) and bin/remedy (make build).
set -eu

BIN=${BIN:-bin/remedy}
GO=${GO:-go}
LABDIR=${LABDIR:-/tmp/remedy-demo}
PROFILES=nftables,iptables-legacy,iptables-nft,firewalld,ufw,none,nftables+egress
OUT=$(mktemp -d /tmp/remedy-demo-reports.XXXXXX)
LAB=$OUT/lab
INV=$OUT/hosts.ini
START=$(date +%s)

if [ -t 1 ]; then BOLD=$(printf '\033[1m') PLAIN=$(printf '\033[0m'); else BOLD= PLAIN=; fi
step() { printf '\n%s==> %s%s\n' "$BOLD" "$*" "$PLAIN"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root: the lab creates network namespaces (sudo make demo)"
[ -x "$BIN" ] || die "$BIN is missing: make build"

# remedy exits 3 when an audit finds drift: that is the demo's point, not a failure.
remedy() {
	want=$1
	shift
	printf '$ remedy %s\n' "$*"
	set +e
	"$BIN" "$@"
	rc=$?
	set -e
	[ "$rc" = "$want" ] || die "remedy $1 exited $rc, want $want"
}

step "build the lab tool"
"$GO" build -o "$LAB" ./tests/lab
trap 'step "lab down"; "$LAB" down --dir "$LABDIR"; rm -f "$LAB"' EXIT
trap 'exit 130' INT TERM

step "lab up: one host per firewall profile, and one whose egress is restricted"
"$LAB" up --dir "$LABDIR" --hosts 7 --profiles "$PROFILES"

step "inventory: the lab's, with alee=true on the egress-restricted host (S8)"
sed 's/lab_egress=true$/& alee=true/' "$LABDIR/inventory.ini" >"$INV"
grep 'alee=true' "$INV"

# The lab's known_hosts is the operator's file here: remedy records the
# keys of the moved SSH ports there, not in root's ~/.ssh/known_hosts,
# where the next lab's new keys would be refused as changed.
KH=$LABDIR/known_hosts

step "audit: what would change, changing nothing (exit 3: drift)"
remedy 3 audit aspera-server -i "$INV" --known-hosts "$KH" --report "$OUT/audit-before.html"

step "run: open the Aspera ports, move SSH to 33001, write ansible_port=33001 into the inventory"
remedy 0 run aspera-server -i "$INV" --known-hosts "$KH" --update-inventory
grep 'ansible_port=33001' "$INV"

step "audit again: every host compliant (exit 0)"
remedy 0 audit aspera-server -i "$INV" --known-hosts "$KH" --report "$OUT/audit-after.html"

step "done in $(($(date +%s) - START))s; reports: $OUT/audit-before.html, $OUT/audit-after.html"
