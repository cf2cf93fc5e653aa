# Sourced by capture.sh and tests/realrules/generate.sh. sandbox SCRIPT
# runs SCRIPT as root in a throwaway network namespace and, where a tool
# writes /etc, /run or /var/log, in a private mount namespace with its own
# copies, so the machine's own firewall and files are never touched.
ns=fwsandbox$$
sandbox() {
	ip netns add "$ns"
	ip netns exec "$ns" unshare --mount --propagation private sh -eu -c '
		tmp=$(mktemp -d)
		cp -a /etc "$tmp/etc" && mount --bind "$tmp/etc" /etc
		mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/log
		ip link set lo up
		'"$1" || { ip netns del "$ns"; exit 1; }
	ip netns del "$ns"
}

# eth0 gives a sandbox a lab host's link: eth0 with 198.18.0.10/23.
eth0='ip link add eth0 type veth peer name eth0p && ip addr add 198.18.0.10/23 dev eth0
	ip link set eth0 up && ip link set eth0p up'
