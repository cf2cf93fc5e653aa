# Debian 12 with ufw active at boot: default deny incoming, 22/tcp allowed,
# configured as an administrator would (ufw enable is ENABLED=yes in
# ufw.conf, which ufw.service reads at boot).
install_packages ufw
offline ufw default deny incoming >/dev/null
offline ufw allow 22/tcp >/dev/null
if [ "$EGRESS" = 1 ]; then
	offline ufw default deny outgoing >/dev/null
	offline ufw allow out 53 >/dev/null
fi
sed -i 's/^ENABLED=.*/ENABLED=yes/' "$root/etc/ufw/ufw.conf"
in_root systemctl enable ufw.service
