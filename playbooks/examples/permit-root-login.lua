-- Site policy: nobody logs in to sshd as root.
--
-- The task fixes sshd_config; the check reads what sshd really does
-- (sshd.config(), from sshd -T), which also sees Include files and
-- defaults. An audit
-- (remedy audit examples/permit-root-login) runs both read-only: the task
-- reports the diff it would apply, the check reports the finding.
---@type remedy.Playbook
return {
  name = "PermitRootLogin no",
  hosts = "all",
  vars = {
    sshd_config = "/etc/ssh/sshd_config",
    sshd_service = "ssh", -- "sshd" on Red Hat and SUSE
  },
  var_types = { sshd_config = "path", sshd_service = "service" },
  tasks = {
    -- Never lock the operator out: if remedy itself logs in as root, this
    -- policy would shut it out of the host. Say so (without stopping the
    -- run, so the check still reports) and leave sshd_config alone.
    {
      name = "remedy does not log in as root",
      tags = { "ssh" },
      ignore_errors = true,
      run = function()
        expect(host.facts.user ~= "root",
          "connected as root: PermitRootLogin no would lock remedy out; connect as another user with become (-b)")
      end,
    },
    {
      name = "sshd_config says PermitRootLogin no",
      tags = { "ssh" },
      notify = "reload sshd",
      when = function() return host.facts.user ~= "root" end,
      run = function(v)
        -- sshd takes the first occurrence of a keyword, so the line goes
        -- first: before any Include or Match block could override it.
        file.line {
          path = v.sshd_config,
          regexp = [[^#?\s*PermitRootLogin\s]],
          line = "PermitRootLogin no",
          insertafter = "BOF",
          validate = "sshd -t -f %s",
        }
      end,
    },
  },
  handlers = {
    {
      name = "reload sshd",
      run = function(v)
        service.reload { name = v.sshd_service, pidfile = "/run/sshd.pid" }
      end,
    },
  },
  checks = {
    {
      name = "root cannot log in over SSH",
      severity = "high",
      tags = { "ssh" },
      run = function()
        local cfg = sshd.config()
        expect(cfg.permitrootlogin == "no", "PermitRootLogin is %s, policy says no", cfg.permitrootlogin)
        return "PermitRootLogin no"
      end,
    },
  },
}
