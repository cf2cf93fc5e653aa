# Debian 12 with nftables.service loading Debian's /etc/nftables.conf at
# boot: input dropped but established, loopback and SSH.
. "$RECIPE/nftables-conf.sh"
nftables_conf >"$root/etc/nftables.conf"
in_root systemctl enable nftables.service
