#!/usr/bin/env bash
# make bench: for each host count, a lab of that many hosts, then the same
# read-only audit timed on it by remedy (with -f N and with the default
# forks), Ansible (up to BENCH_ANSIBLE_MAX hosts) and the two OpenSSH
# floors, the audit's probes and remedy's own reads (bench/main.go), then
# the lab down; then remedy alone on fake fleets of
# BENCH_FLEET in-process SSH servers (bench/fleet.go). Each table goes into
# docs/benchmarks.md (BENCH_DOC) with the commit it ran on. The lab goes
# down on any exit, failure and Ctrl-C included.
#
#   BENCH_HOSTS="20 100 500" BENCH_RUNS=3 BENCH_PROFILES=nftables,ufw bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

hosts=${BENCH_HOSTS:-20 100 500}
runs=${BENCH_RUNS:-3}
# Above 100 hosts a round takes minutes: fewer runs. The warm-up round
# stays (BENCH_WARMUP_LARGE=false drops it): without it a 500-host run is
# the lab's first audit, its hosts' caches cold, against warm runs at 100,
# and the scaling table would hold that against the tools.
runs_large=${BENCH_RUNS_LARGE:-1}
warmup_large=${BENCH_WARMUP_LARGE:-true}
# Ansible takes 76 s a run at 100 hosts; at 500 a round would take half
# an hour.
ansible_max=${BENCH_ANSIBLE_MAX:-100}
fleet=${BENCH_FLEET-500 1000 2500 5000}
profiles=${BENCH_PROFILES:-nftables,iptables-legacy,iptables-nft,firewalld,ufw,none}
doc=${BENCH_DOC:-docs/benchmarks.md}
# The medians bench scale compares; a file kept across runs lets one run
# do 20 and 100 hosts and a later one 500 (each table names its commit).
results=${BENCH_RESULTS:-}
go=${GO:-go}
commit=$(git rev-parse --short=12 HEAD)$(git diff --quiet HEAD -- . ':!docs/benchmarks.md' || echo "+changes")

work=$(mktemp -d /tmp/remedy-bench.XXXXXX)
lab=$work/lab
results=${results:-$work/results.jsonl}
"$go" build -o "$work/remedy" ./cmd/remedy
"$go" build -o "$work/lab-cmd" ./tests/lab
"$go" build -o "$work/bench" ./bench
trap '"$work/lab-cmd" down --dir "$lab"' EXIT
trap 'exit 130' INT TERM

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
	"$(free -g | awk '/^Mem:/ {print $2}') GiB RAM, Linux $(uname -r);" \
	"$(ssh -V 2>&1); $(ansible-playbook --version | head -n 1); profiles $profiles; commit $commit"
for n in $hosts; do
	"$work/lab-cmd" up --hosts "$n" --profiles "$profiles" --dir "$lab" >"$work/lab-up-$n.log"
	head -n 1 "$work/lab-up-$n.log" >&2
	args=(-runs "$runs")
	[ "$n" -le 100 ] || args=(-runs "$runs_large" -warmup="$warmup_large")
	[ "$n" -le "$ansible_max" ] || args+=(-ansible=false)
	"$work/bench" measure -lab "$lab" -remedy "$work/remedy" "${args[@]}" -work "$work" \
		-results "$results" -doc "$doc" -commit "$commit"
	"$work/lab-cmd" down --dir "$lab"
done
"$work/bench" scale -doc "$doc" "$results"
if [ -n "$fleet" ]; then
	"$work/bench" fleet -remedy "$work/remedy" -sizes "$(echo $fleet | tr ' ' ,)" -work "$work" -doc "$doc" -commit "$commit"
fi
echo "run logs: $work; tables written to $doc" >&2
