# Debian 12 with firewalld active at boot: its default zone public, which
# lets SSH in.
install_packages firewalld
if [ "$EGRESS" = 1 ]; then
	# Nothing leaves but DNS and replies; firewalld always lets loopback
	# and established traffic through.
	cat >"$root/etc/firewalld/policies/egress-restricted.xml" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<policy target="DROP">
  <short>egress-restricted</short>
  <description>Nothing leaves this host but DNS and replies.</description>
  <service name="dns"/>
  <ingress-zone name="HOST"/>
  <egress-zone name="ANY"/>
</policy>
XML
fi
in_root systemctl enable firewalld.service
