# Debian 13 with a socket-activated sshd: ssh.socket listens and starts
# sshd per connection, ssh.service is disabled. Debian's default
# firewall state: nftables installed, its service disabled, no rules.
in_root systemctl disable ssh.service
in_root systemctl enable ssh.socket
