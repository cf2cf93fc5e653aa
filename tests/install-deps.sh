#!/usr/bin/env bash
# Installs the system packages remedy's tests, labs and demo need, only when
# something is missing, so a second run does nothing and needs no network.
set -euo pipefail

# command -> Debian package that provides it
declare -A need=(
	[sshd]=openssh-server
	[ssh]=openssh-client
	[nft]=nftables
	[iptables-legacy]=iptables
	[firewall-cmd]=firewalld
	[ufw]=ufw
	[dbus-daemon]=dbus
	[socat]=socat
	[ipset]=ipset
	[ip]=iproute2
	[sudo]=sudo
	[openssl]=openssl
	[unshare]=util-linux
	[ansible-inventory]=ansible-core
	[ansible-playbook]=ansible-core
	# The VM lab (tests/vmlab): qemu under emulation, images from
	# Debian's archive; mmdebstrap's eatmydata hook runs dpkg-architecture.
	[qemu-system-x86_64]=qemu-system-x86
	[qemu-img]=qemu-utils
	[mmdebstrap]=mmdebstrap
	[dpkg-architecture]=dpkg-dev
	[mke2fs]=e2fsprogs
	# The batch is tested under Alpine's sh (lua/shell).
	[busybox]=busybox
)

missing=()
for cmd in "${!need[@]}"; do
	PATH=$PATH:/usr/sbin:/sbin command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install: ${missing[*]}" >&2
	exit 1
fi
pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
echo "install-deps: installing $pkgs"

# Installing firewalld or openssh-server must not start them on this
# machine: a running firewalld would change the machine's own firewall.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	made_policy=1
fi
trap '[ -n "$made_policy" ] && rm -f "$policy"' EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
