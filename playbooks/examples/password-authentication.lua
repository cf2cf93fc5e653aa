-- Site policy: SSH logins use keys, never passwords.
--
-- One table drives both the fixes and the checks, so they cannot drift
-- apart: add a row to enforce one more sshd keyword.
local wanted = {
  { keyword = "PasswordAuthentication", value = "no" },
  { keyword = "KbdInteractiveAuthentication", value = "no" },
  { keyword = "PermitEmptyPasswords", value = "no" },
}

local tasks, checks = {}, {}
for _, w in ipairs(wanted) do
  local line = w.keyword .. " " .. w.value
  table.insert(tasks, {
    name = "sshd_config says " .. line,
    tags = { "ssh" },
    notify = "reload sshd",
    run = function(v)
      file.line {
        path = v.sshd_config,
        regexp = [[^#?\s*]] .. w.keyword .. [[\s]],
        line = line,
        insertafter = "BOF",
        validate = "sshd -t -f %s",
      }
    end,
  })
  table.insert(checks, {
    name = w.keyword .. " is " .. w.value,
    severity = "high",
    tags = { "ssh" },
    run = function()
      local got = sshd.config()[w.keyword:lower()]
      expect(got == w.value, "%s is %s, policy says %s", w.keyword, got, w.value)
      return line
    end,
  })
end

---@type remedy.Playbook
return {
  name = "No password logins over SSH",
  hosts = "all",
  vars = { sshd_config = "/etc/ssh/sshd_config", sshd_service = "ssh" },
  var_types = { sshd_config = "path", sshd_service = "service" },
  tasks = tasks,
  handlers = {
    {
      name = "reload sshd",
      run = function(v)
        service.reload { name = v.sshd_service, pidfile = "/run/sshd.pid" }
      end,
    },
  },
  checks = checks,
}
