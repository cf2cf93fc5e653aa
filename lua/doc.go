// Package lua runs remedy playbooks: it loads a playbook written in Lua,
// runs its tasks, checks and handlers on one host, in check mode or for
// real, and exposes the modules (cmd, file, service, net, sshd, firewall)
// that playbooks call. It talks to the host only through the Host interface,
// which the runner's SSH connection satisfies.
package lua
