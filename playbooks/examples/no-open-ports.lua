-- Site policy: nothing is open to the world but the ports the policy lists.
--
-- A port is open to the world when a socket listens on it on a
-- non-loopback address AND the host firewall would accept a new
-- connection to it from an outside address. The check asks the firewall
-- model (firewall.verdict) instead of probing from outside, so it runs
-- read-only on any host, and it names the rule that lets each port in.
-- Fixing is site-specific (stop the service, or firewall.remove the rule),
-- so this playbook only reports.
local policy = require("policy")

---@type remedy.Playbook
return {
  name = "Only the listed ports are open to the world",
  hosts = "all",
  vars = {
    allowed_ports = { "tcp/22" }, -- "proto/port" open to anyone by policy
    world_v4 = "203.0.113.1",     -- outside addresses to ask the firewall about
    world_v6 = "2001:db8::1",     -- (documentation ranges: no allowlist has them)
  },
  checks = {
    {
      name = "no port open to the world beyond the policy list",
      severity = "high",
      tags = { "firewall" },
      run = function(v)
        local allowed, seen, open = policy.set(v.allowed_ports), {}, {}
        for _, sock in ipairs(policy.listening()) do
          local key = sock.proto .. "/" .. sock.port
          if not policy.loopback(sock.addr) and not allowed[key] and not seen[key] then
            seen[key] = true
            -- "*" is a dual-stack socket: reachable over both families.
            local sources = { v.world_v4 }
            if sock.addr == "*" then
              sources = { v.world_v4, v.world_v6 }
            elseif sock.addr:find(":") then
              sources = { v.world_v6 }
            end
            for _, src in ipairs(sources) do
              local r = firewall.verdict { dir = "in", proto = sock.proto, port = sock.port, src = src }
              -- unknown means a rule the model cannot read decides: report it.
              if r.verdict == "accept" or r.verdict == "unknown" then
                local why = r.rule ~= "" and r.rule or ("policy of " .. r.chain)
                table.insert(open, string.format("%s from %s (%s: %s)", key, src, r.verdict, why))
                break
              end
            end
          end
        end
        expect(#open == 0, "open to the world, not in the policy list: %s", policy.join(open))
        return "only " .. policy.join(v.allowed_ports) .. " may be open, and nothing else is"
      end,
    },
  },
}
