#!/usr/bin/env bash
# make bench: for each host count, a lab of that many hosts, then the same
# read-only audit timed three ways on it (bench/main.go), then the lab
# down. The lab goes down on any exit, failure and Ctrl-C included.
#
#   BENCH_HOSTS="20 100" BENCH_RUNS=3 BENCH_PROFILES=nftables,ufw bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

hosts=${BENCH_HOSTS:-20 100}
runs=${BENCH_RUNS:-3}
profiles=${BENCH_PROFILES:-nftables,iptables-legacy,iptables-nft,firewalld,ufw,none}
go=${GO:-go}

work=$(mktemp -d /tmp/remedy-bench.XXXXXX)
lab=$work/lab
"$go" build -o "$work/remedy" ./cmd/remedy
"$go" build -o "$work/lab-cmd" ./tests/lab
"$go" build -o "$work/bench" ./bench
trap '"$work/lab-cmd" down --dir "$lab"' EXIT
trap 'exit 130' INT TERM

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
	"$(free -g | awk '/^Mem:/ {print $2}') GiB RAM, Linux $(uname -r);" \
	"$(ssh -V 2>&1); $(ansible-playbook --version | head -n 1); profiles $profiles"
for n in $hosts; do
	"$work/lab-cmd" up --hosts "$n" --profiles "$profiles" --dir "$lab" >"$work/lab-up-$n.log"
	head -n 1 "$work/lab-up-$n.log" >&2
	"$work/bench" measure -lab "$lab" -remedy "$work/remedy" -runs "$runs" -work "$work" -results "$work/results.jsonl"
	"$work/lab-cmd" down --dir "$lab"
done
"$work/bench" scale "$work/results.jsonl"
echo "run logs: $work" >&2
