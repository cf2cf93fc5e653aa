return {
  name = "lab audit",
  hosts = "all",
  tasks = {
    { name = "FASP UDP port is open", run = function(v) firewall.allow { dir = "in", proto = "udp", port = 33001 } end },
    { name = "motd names the owner", run = function(v) file.line { path = "/etc/motd", line = "owner: ops <ops@example.com>", create = true } end },
  },
  checks = {
    { name = "root login disabled", severity = "high", run = function()
        local c = file.read("/etc/ssh/sshd_config") or ""
        expect(c:find("\nPermitRootLogin no"), "no 'PermitRootLogin no' line in /etc/ssh/sshd_config")
      end },
  },
}
