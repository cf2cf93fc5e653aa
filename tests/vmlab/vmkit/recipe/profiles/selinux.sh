# Debian 12 with SELinux enforcing (the reference policy, Debian's
# selinux-policy-default) and nftables as in the nftables profile. The
# kernel enables SELinux from its command line (security=selinux
# selinux=1, which vmkit passes); every file is labelled here, so the
# first boot needs no relabelling reboot.
install_packages selinux-basics selinux-policy-default auditd policycoreutils-python-utils
. "$RECIPE/nftables-conf.sh"
nftables_conf >"$root/etc/nftables.conf"
in_root systemctl enable nftables.service
sed -i 's/^SELINUX=.*/SELINUX=enforcing/; s/^SELINUXTYPE=.*/SELINUXTYPE=default/' "$root/etc/selinux/config"
rm -f "$root/.autorelabel"
in_root setfiles -F -e /proc -e /sys -e /dev /etc/selinux/default/contexts/files/file_contexts /
