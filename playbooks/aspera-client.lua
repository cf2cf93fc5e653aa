-- A machine that sends to or receives from an IBM Aspera server: it must
-- reach the server's SSH port over TCP and its FASP port (or range) over
-- UDP, and its own firewall must not stop either (requirements C1-C3;
-- docs/aspera.md has the variables).
--
-- Most networks already let this out, so each task asks the firewall
-- first and changes only a flow it stops: firewall.allow leaves a flow
-- that passes alone.
local aspera = require("aspera")

-- servers are the addresses the flows go to: server as given when it is
-- an address, its addresses on the host when it is a name, or {""}
-- (anywhere) when it is "".
local function servers(v)
  local s = aspera.client(v)
  if s.server == nil then return { "" } end
  if aspera.is_address(s.server) then return { s.server } end
  local addrs = net.resolve(s.server)
  expect(#addrs > 0, "server %s does not resolve on this host", s.server)
  return addrs
end

-- dst is a flow's destination: nil (anywhere) for "".
local function dst(addr)
  if addr == "" then return nil end
  return addr
end

-- outbound lists one probe per server address for the ports lo..hi.
local function outbound(v, proto, lo, hi)
  local probes = {}
  for _, addr in ipairs(servers(v)) do
    table.insert(probes, { dir = "out", proto = proto, lo = lo, hi = hi, dst = dst(addr) })
  end
  return probes
end

---@type remedy.Playbook
return {
  name = "Aspera client network",
  hosts = "all",
  vars = aspera.client_defaults,
  var_types = aspera.client_types,
  prefetch = aspera.client_reads,
  tasks = {
    {
      name = "C1/C3: let TCP out to the server's SSH port",
      tags = { "ssh", "firewall" },
      run = function(v)
        local s = aspera.client(v)
        for _, addr in ipairs(servers(v)) do
          firewall.allow { dir = "out", proto = "tcp", port = s.ssh_port, dst = dst(addr), comment = "aspera client SSH" }
        end
      end,
    },
    {
      name = "C2/C3: let UDP out to the server's FASP ports",
      tags = { "fasp", "firewall" },
      run = function(v)
        local s = aspera.client(v)
        for _, addr in ipairs(servers(v)) do
          firewall.allow(aspera.flow({ dir = "out", proto = "udp", dst = dst(addr), comment = "aspera client FASP" }, s.fasp))
        end
      end,
    },
  },
  checks = {
    {
      name = "C1/C3: TCP to the server's SSH port passes",
      severity = "high",
      tags = { "ssh", "firewall" },
      run = function(v)
        local s = aspera.client(v)
        local blocked, evidence = aspera.judge(outbound(v, "tcp", s.ssh_port, s.ssh_port))
        expect(blocked == nil, "%s", blocked)
        return evidence
      end,
    },
    {
      name = "C2/C3: UDP to the server's FASP ports passes",
      severity = "high",
      tags = { "fasp", "firewall" },
      run = function(v)
        local fasp = aspera.client(v).fasp
        local blocked, evidence = aspera.judge(outbound(v, "udp", fasp.lo, fasp.hi))
        expect(blocked == nil, "%s", blocked)
        return evidence
      end,
    },
    {
      name = "C1: the server's SSH port answers",
      severity = "medium",
      tags = { "ssh" },
      when = function(v) return aspera.client(v).server ~= nil end,
      run = function(v)
        local s = aspera.client(v)
        local reach = net.reach { host = s.server, port = s.ssh_port, proto = "tcp", timeout = 5 }
        expect(reach.ok, "%s port %d/tcp does not connect from this host: %s", s.server, s.ssh_port, reach.err)
        return string.format("%s port %d/tcp connects (%s)", s.server, s.ssh_port, reach.via)
      end,
    },
  },
}
