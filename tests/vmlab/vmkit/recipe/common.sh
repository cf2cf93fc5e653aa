#!/bin/sh
# common.sh ROOT: what every lab VM has, whatever its profile: logins,
# the network from the kernel's command line, and nothing that runs on
# its own during a test.
set -eu
root=$1
in_root() { chroot "$root" "$@"; }

cat >"$root/etc/fstab" <<'FSTAB'
/dev/vda / ext4 errors=remount-ro 0 1
FSTAB
# The machine's resolver is not the VM's: a VM has no DNS server, and
# resolves the licensing domain through /etc/hosts (vmkit writes it).
printf '# no DNS server in the lab\n' >"$root/etc/resolv.conf"

# root and ops log in with the lab key; ops needs its password for sudo.
install -d -m 700 "$root/root/.ssh"
printf '%s\n' "$LABKEY" >"$root/root/.ssh/authorized_keys"
in_root useradd --create-home --shell /bin/bash --groups sudo ops
printf 'ops:%s\n' "$OPS_PASSWORD" | in_root chpasswd
install -d -m 700 "$root/home/ops/.ssh"
cp "$root/root/.ssh/authorized_keys" "$root/home/ops/.ssh/"
in_root chown -R ops:ops /home/ops/.ssh

# The address comes from the kernel's ip= argument: the generator turns it
# into a systemd-networkd unit at boot.
in_root systemctl enable systemd-networkd.service systemd-network-generator.service
# Under emulation these cost minutes, or run apt in the middle of a test:
# a VM never waits for "online" and never updates itself.
in_root systemctl mask systemd-networkd-wait-online.service apt-daily.timer \
	apt-daily-upgrade.timer dpkg-db-backup.timer fstrim.timer e2scrub_all.timer
in_root systemctl disable getty@tty1.service
