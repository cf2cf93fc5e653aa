-- Site policy: nobody logs in to sshd as root.
--
-- The task fixes sshd_config; the check reads what sshd really does
-- (sshd -T), which also sees Include files and defaults. An audit
-- (remedy audit examples/permit-root-login) runs both read-only: the task
-- reports the diff it would apply, the check reports the finding.
local policy = require("policy")

---@type remedy.Playbook
return {
  name = "PermitRootLogin no",
  hosts = "all",
  vars = {
    sshd_config = "/etc/ssh/sshd_config",
    sshd_service = "ssh", -- "sshd" on Red Hat and SUSE
  },
  tasks = {
    {
      name = "sshd_config says PermitRootLogin no",
      tags = { "ssh" },
      notify = "reload sshd",
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
        local cfg = policy.sshd_effective()
        expect(cfg.permitrootlogin == "no", "PermitRootLogin is %s, policy says no", cfg.permitrootlogin)
        return "PermitRootLogin no"
      end,
    },
  },
}
