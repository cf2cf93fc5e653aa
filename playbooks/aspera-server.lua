-- IBM Aspera High-Speed Transfer Server (HSTS): the network IBM's firewall
-- guidance asks for (requirements S1-S8; docs/aspera.md lists every
-- variable and which task and check covers which requirement).
--
-- The order of the tasks is the lockout-safe order: every port the
-- transfers need is opened first, then SSH moves to ssh_port, which opens
-- its own port before sshd listens there and closes 22 only after a fresh
-- login on the new port has worked. The checks read the host afresh and
-- say, with evidence, whether each requirement holds.
local aspera = require("aspera")

-- keep22 is a when: the item applies only when 22 is kept, or only when not.
local function keep22(want)
  return function(v) return aspera.server(v).keep_22 == want end
end

---@type remedy.Playbook
return {
  name = "Aspera HSTS network",
  hosts = "all",
  vars = aspera.server_defaults,
  var_types = aspera.server_types,
  prefetch = aspera.server_reads,
  tasks = {
    {
      name = "Aspera settings",
      tags = { "always" },
      run = function(v)
        local s = aspera.server(v)
        local parts = { string.format("ssh %d/tcp", s.ssh_port), string.format("fasp %s/udp (%s)", aspera.range(s.fasp), s.fasp.from) }
        for _, p in ipairs(s.http) do table.insert(parts, string.format("%s %d/tcp", p.what, p.port)) end
        if s.vlink then table.insert(parts, string.format("vlink %d/udp (%s)", s.vlink.port, s.vlink.from)) end
        if s.alee_domain then table.insert(parts, string.format("alee %s:%d/tcp", s.alee_domain, aspera.LICENSE_PORT)) end
        if s.refused then table.insert(parts, s.refused) end
        return table.concat(parts, ", ")
      end,
    },
    {
      name = "S3/S7: open the FASP UDP ports",
      tags = { "fasp", "firewall" },
      run = function(v)
        local s = aspera.server(v)
        firewall.allow(aspera.flow({ dir = "in", proto = "udp", comment = "aspera FASP", persist = s.persist }, s.fasp))
      end,
    },
    {
      name = "S4: open the HTTP fallback ports",
      tags = { "http", "firewall" },
      when = function(v) return #aspera.server(v).http > 0 end,
      run = function(v)
        local s = aspera.server(v)
        for _, p in ipairs(s.http) do
          firewall.allow { dir = "in", proto = "tcp", port = p.port, comment = "aspera " .. p.what, persist = s.persist }
        end
      end,
    },
    {
      name = "S6: open the Vlink UDP port",
      tags = { "vlinks", "firewall" },
      when = function(v) return aspera.server(v).vlink ~= nil end,
      run = function(v)
        local s = aspera.server(v)
        firewall.allow { dir = "in", proto = "udp", port = s.vlink.port, comment = "aspera Vlink", persist = s.persist }
      end,
    },
    {
      name = "S8: let the host reach the licensing domain",
      tags = { "alee", "firewall" },
      when = function(v) return aspera.server(v).alee_domain ~= nil end,
      run = function(v)
        firewall.allow_domain { domain = aspera.server(v).alee_domain, proto = "tcp", port = aspera.LICENSE_PORT }
      end,
    },
    {
      name = "S2: keep TCP/22 open for legacy clients",
      tags = { "ssh", "firewall" },
      when = keep22(true),
      run = function(v)
        firewall.allow { dir = "in", proto = "tcp", port = 22, comment = "aspera legacy SSH", persist = aspera.server(v).persist }
      end,
    },
    {
      name = "S1/S2: move SSH to ssh_port",
      tags = { "ssh" },
      run = function(v)
        local s = aspera.server(v)
        local moved = sshd.move_port { to = s.ssh_port, keep_22 = s.keep_22, persist = s.persist }
        if moved.inventory ~= "" then return "inventory: " .. moved.inventory end
        return "sshd already on " .. table.concat(moved.ports, ", ")
      end,
    },
  },
  checks = {
    {
      name = "S1: sshd listens on ssh_port",
      severity = "high",
      tags = { "ssh" },
      run = function(v)
        local s = aspera.server(v)
        local sockets = aspera.sshd_sockets(s.ssh_port)
        expect(#sockets > 0, "sshd does not listen on %d/tcp", s.ssh_port)
        local legacy = aspera.sshd_sockets(22, true)
        expect(s.keep_22 or #legacy == 0, "sshd listens on %s too, and keep_legacy_22 is off", table.concat(legacy, ", "))
        return "sshd listens on " .. table.concat(sockets, ", ")
      end,
    },
    {
      name = "S2: sshd still listens on 22",
      severity = "medium",
      tags = { "ssh" },
      when = keep22(true),
      run = function()
        local sockets = aspera.sshd_sockets(22)
        expect(#sockets > 0, "keep_legacy_22 is on, but sshd does not listen on 22/tcp")
        return "sshd listens on " .. table.concat(sockets, ", ")
      end,
    },
    {
      name = "S2: TCP/22 is not open to the world",
      severity = "high",
      tags = { "ssh" },
      when = keep22(false),
      run = function()
        -- From anywhere, not from the controller (firewall.verdict's
        -- default source): an admin network the controller sits in is not
        -- the world.
        local verdict = firewall.verdict { dir = "in", proto = "tcp", port = 22, src = "any" }
        local sockets = aspera.sshd_sockets(22, true)
        expect(#sockets == 0 or verdict.verdict ~= "accept",
          "sshd listens on %s and the firewall accepts tcp/22 from anywhere (%s)", table.concat(sockets, ", "), aspera.decider(verdict))
        if #sockets > 0 then
          return string.format("sshd listens on 22, but the firewall says %s (%s)", verdict.verdict, aspera.decider(verdict))
        end
        local evidence = "sshd does not listen on 22/tcp: connections are refused"
        if verdict.verdict == "accept" then
          evidence = evidence .. "; the firewall would still let them in (" .. aspera.decider(verdict) .. ")"
        end
        return evidence
      end,
    },
    {
      name = "S5: SSH ports pass the firewall",
      severity = "high",
      tags = { "ssh", "firewall" },
      run = function(v)
        local s = aspera.server(v)
        local probes = { { dir = "in", proto = "tcp", lo = s.ssh_port, hi = s.ssh_port } }
        if s.keep_22 then table.insert(probes, { dir = "in", proto = "tcp", lo = 22, hi = 22 }) end
        local blocked, evidence = aspera.judge(probes)
        expect(blocked == nil, "%s", blocked)
        return evidence
      end,
    },
    {
      name = "S3/S5/S7: FASP UDP ports pass the firewall",
      severity = "high",
      tags = { "fasp", "firewall" },
      run = function(v)
        local fasp = aspera.server(v).fasp
        local blocked, evidence = aspera.judge { { dir = "in", proto = "udp", lo = fasp.lo, hi = fasp.hi } }
        expect(blocked == nil, "%s", blocked)
        return evidence
      end,
    },
    {
      name = "S4: HTTP fallback ports pass the firewall",
      severity = "medium",
      tags = { "http", "firewall" },
      when = function(v) return #aspera.server(v).http > 0 end,
      run = function(v)
        local probes = {}
        for _, p in ipairs(aspera.server(v).http) do
          table.insert(probes, { dir = "in", proto = "tcp", lo = p.port, hi = p.port })
        end
        local blocked, evidence = aspera.judge(probes)
        expect(blocked == nil, "%s", blocked)
        return evidence
      end,
    },
    {
      name = "S6: Vlink UDP port passes the firewall",
      severity = "medium",
      tags = { "vlinks", "firewall" },
      when = function(v) return aspera.server(v).vlink ~= nil end,
      run = function(v)
        local port = aspera.server(v).vlink.port
        local blocked, evidence = aspera.judge { { dir = "in", proto = "udp", lo = port, hi = port } }
        expect(blocked == nil, "%s", blocked)
        return evidence
      end,
    },
    {
      name = "S8: licensing domain resolves and connects",
      severity = "high",
      tags = { "alee" },
      when = function(v) return aspera.server(v).alee_domain ~= nil end,
      run = function(v)
        local domain = aspera.server(v).alee_domain
        local addrs = net.resolve(domain)
        expect(#addrs > 0, "%s does not resolve on the host", domain)
        local reach = net.reach(aspera.alee_probe(domain))
        expect(reach.ok, "%s (%s) resolves, but TCP/443 does not connect: %s", domain, table.concat(addrs, ", "), reach.err)
        return string.format("%s resolves to %s; TCP/443 connects (%s)", domain, table.concat(addrs, ", "), reach.via)
      end,
    },
  },
}
