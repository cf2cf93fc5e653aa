#!/bin/sh
# base.sh ROOT: builds a Debian system into the directory ROOT with
# mmdebstrap, from Debian's archive alone: what every lab VM of the suite
# shares before its profile is added (recipe/profile.sh).
#
# Environment: SUITE (bookworm, trixie), MIRROR (an archive URI from the
# machine's own apt sources), DEBS (a .deb cache kept between builds),
# LABKEY (the lab's public key: root and ops log in with it), RECIPE (this
# directory), OPS_PASSWORD (ops's password, for sudo).
set -eu
root=$1

# The packages every VM has: systemd as init, OpenSSH, both firewall
# front ends Debian installs by default or commonly (nftables, iptables),
# a kernel with a small initrd, and socat for the test harness's
# listeners (vmkit's Listen).
include=systemd-sysv,udev,dbus,libpam-systemd,openssh-server,sudo,nftables,iptables
include=$include,linux-image-amd64,initramfs-tools,iproute2,procps,kmod,netbase,socat,less

mkdir -p "$DEBS"
# The unshared mount namespace takes every mount mmdebstrap makes in ROOT
# with it, however mmdebstrap ends.
exec unshare --mount --propagation private mmdebstrap --mode=root --variant=apt \
	--include="$include" \
	--dpkgopt=force-unsafe-io --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
	--skip=essential/unlink --skip=cleanup/apt/lists \
	--setup-hook='mkdir -p "$1"/var/cache/apt/archives' \
	--setup-hook="sync-in $DEBS /var/cache/apt/archives" \
	--essential-hook="sh $RECIPE/initramfs.sh \"\$1\"" \
	--customize-hook="sync-out /var/cache/apt/archives $DEBS" \
	--customize-hook="sh $RECIPE/common.sh \"\$1\"" \
	"$SUITE" "$root" "deb $MIRROR $SUITE main"
