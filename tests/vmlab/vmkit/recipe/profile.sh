#!/bin/sh
# profile.sh BASE OUT PROFILE: makes the VM image of PROFILE in OUT from the
# base system BASE (recipe/base.sh): a copy of BASE with the profile's
# packages and configuration (recipe/profiles/PROFILE.sh) and host keys of
# its own, written as a whole-disk ext4 image OUT/disk.raw, plus the kernel
# and initrd qemu boots it with and the public host keys.
#
# Environment: DEBS (the suite's .deb cache), RECIPE (this directory),
# EGRESS (1: the VM is egress-restricted).
set -eu
base=$1 out=$2 profile=$3
root=$out/root

if [ "${VMLAB_IN_NS:-}" != 1 ]; then
	rm -rf "$root"
	cp -a "$base" "$root"
	# A mount namespace of its own: the chroot's mounts go with it, however
	# this script ends.
	VMLAB_IN_NS=1 unshare --mount --propagation private sh "$0" "$@"
	mke2fs -q -F -t ext4 -L root -d "$root" "$out/disk.raw" 3G
	cp -L "$root/vmlinuz" "$out/vmlinuz"
	cp -L "$root/initrd.img" "$out/initrd.img"
	cat "$root"/etc/ssh/ssh_host_*_key.pub >"$out/host_keys.pub"
	rm -rf "$root"
	exit 0
fi

mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
# Nothing a package installs may start in the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

in_root() { chroot "$root" "$@"; }
# offline runs a command in the chroot in a network namespace of its own:
# what touches a firewall there touches none of the machine's.
offline() { unshare --net chroot "$root" "$@"; }
# install_packages PACKAGE...: downloads into the suite's cache, shared by builds
# running at once (hence the lock), then installs with no network at all,
# so no package script reaches the machine's own firewall.
install_packages() {
	mount --bind "$DEBS" "$root/var/cache/apt/archives"
	# The VM has no DNS server; the download needs the machine's.
	mount --bind /etc/resolv.conf "$root/etc/resolv.conf"
	flock "$DEBS/.lock" chroot "$root" apt-get install -y -qq --no-install-recommends --download-only "$@"
	umount "$root/etc/resolv.conf"
	flock "$DEBS/.lock" unshare --net chroot "$root" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-unsafe-io "$@"
	umount "$root/var/cache/apt/archives"
}

# Host keys of the image's own; generated here, where RSA takes a moment,
# not at first boot, where it takes half a minute under emulation.
rm -f "$root"/etc/ssh/ssh_host_*
in_root ssh-keygen -q -A

. "$RECIPE/profiles/$profile.sh"

rm -f "$root/usr/sbin/policy-rc.d"
