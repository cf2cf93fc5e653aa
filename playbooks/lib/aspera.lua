--- Shared parts of the built-in Aspera playbooks (aspera-server,
--- aspera-client): the variables and their defaults, the host's own Aspera
--- configuration, and the ports IBM's firewall guidance asks for.
--- docs/aspera.md maps every variable, task and check to its requirement.
local aspera = {}

aspera.FASP_PORT = 33001
aspera.VLINK_PORT = 55001
aspera.HTTP_PORT = 8080
aspera.HTTPS_PORT = 8443
aspera.LICENSE_DOMAIN = "api.ibmaspera.com"
aspera.LICENSE_PORT = 443

--- The server playbook's variables. "auto" reads the value from the
--- host's Aspera configuration (asuserdata -a, else aspera.conf) and falls
--- back to IBM's default when the host has none.
aspera.server_defaults = {
  ssh_port = 33001,
  keep_legacy_22 = false,
  fasp_port = "auto",
  udp_concurrency = 1,
  http_fallback = "auto",
  vlinks = false,
  vlink_port = "auto",
  alee = false,
  alee_domain = aspera.LICENSE_DOMAIN,
  aspera_conf = "/opt/aspera/etc/aspera.conf",
  aspera_bin = "/opt/aspera/bin",
  persist_firewall = false,
}

--- The shapes of the server playbook's variables that become arguments
--- of commands on the host, or decide which commands run (the playbook's
--- var_types): remedy checks them before it contacts any host.
aspera.server_types = {
  ssh_port = "port",
  keep_legacy_22 = "bool",
  vlinks = "bool",
  alee = "bool",
  persist_firewall = "bool",
  alee_domain = "domain",
  aspera_conf = "path",
  aspera_bin = "path",
}

--- The client playbook's variables: the server's ports to reach, and
--- where the server is ("" lets the client reach those ports anywhere).
aspera.client_defaults = {
  server = "",
  server_ssh_port = 33001,
  server_fasp_port = 33001,
  server_udp_concurrency = 1,
}

--- The shapes of the client playbook's variables (its var_types): server
--- is a host name or an address, or "" for anywhere.
aspera.client_types = {
  server = "host?",
  server_ssh_port = "port",
  server_fasp_port = "port",
}

--- Reads a variable as a boolean. Inventories and -e give strings, so
--- "true", "yes", "on" and "1" count as true, as Ansible reads them.
---@param value any
---@param name string the variable, for the error
---@return boolean
function aspera.bool(value, name)
  if type(value) == "boolean" then return value end
  local s = tostring(value):lower()
  if s == "true" or s == "yes" or s == "on" or s == "1" then return true end
  if s == "false" or s == "no" or s == "off" or s == "0" or s == "" then return false end
  fail(string.format("%s is %q: want true or false", name, tostring(value)))
end

--- Reads a variable as a whole number between lo and hi.
---@param value any
---@param name string
---@param lo integer
---@param hi integer
---@return integer
function aspera.int(value, name, lo, hi)
  local n = tonumber(value)
  if n == nil or n ~= math.floor(n) or n < lo or n > hi then
    fail(string.format("%s is %q: want a whole number from %d to %d", name, tostring(value), lo, hi))
  end
  return n
end

--- Reads a port variable: 1-65535.
---@param value any
---@param name string
---@return integer
function aspera.port(value, name)
  return aspera.int(value, name, 1, 65535)
end

--- Parses `asuserdata -a` output (lines `  name: "value"`): every value of
--- each option, in order, as asuserdata prints an option once per section
--- or trunk it appears in.
---@param text string
---@return table<string, string[]>
function aspera.parse_userdata(text)
  local all = {}
  for line in text:gmatch("[^\n]+") do
    local key, value = line:match('^%s*([%w_]+):%s*"(.*)"%s*$')
    if key then
      all[key] = all[key] or {}
      table.insert(all[key], value)
    end
  end
  return all
end

local function truthy(s)
  return s ~= nil and (s == "true" or s == "yes" or s == "1")
end

local function positive(s)
  local n = tonumber(s)
  if n ~= nil and n > 0 then return n end
  return nil
end

--- The settings the playbooks use, from `asuserdata -a` output. A port of
--- 0 (asuserdata's "not set") is left out, so the default applies.
---@param text string
---@return table
function aspera.config_from_userdata(text)
  local all = aspera.parse_userdata(text)
  local function first(key) return (all[key] or {})[1] end
  local cfg = {
    fasp_port = positive(first("transfer_protocol_options_bind_udp_port")),
    http = { port = positive(first("http_port")), enabled = truthy(first("enable_http")) },
    https = { port = positive(first("https_port")), enabled = truthy(first("enable_https")) },
  }
  for i, port in ipairs(all.trunk_mcast_port or {}) do
    local on = all.trunk_on and all.trunk_on[i]
    if positive(port) and (on == nil or truthy(on)) then
      cfg.vlink_port = positive(port)
      break
    end
  end
  return cfg
end

local function element(xml, name)
  local value = xml:match("<" .. name .. ">%s*(.-)%s*</" .. name .. ">")
  return value
end

--- The settings the playbooks use, from aspera.conf's XML: the FASP port
--- (<bind_udp_port>, under <transfer><protocol_options>), <http_server>,
--- and the first Vlink trunk that is on (<trunk> with <on> and its
--- multicast port, <mcast_port> or <trunk_mcast_port>).
---@param xml string
---@return table
function aspera.config_from_xml(xml)
  xml = xml:gsub("<!%-%-.-%-%->", "")
  local http = xml:match("<http_server>(.-)</http_server>") or ""
  local cfg = {
    fasp_port = positive(element(xml, "bind_udp_port")),
    http = { port = positive(element(http, "http_port")), enabled = truthy(element(http, "enable_http")) },
    https = { port = positive(element(http, "https_port")), enabled = truthy(element(http, "enable_https")) },
  }
  for trunk in xml:gmatch("<trunk>(.-)</trunk>") do
    local port = positive(element(trunk, "mcast_port") or element(trunk, "trunk_mcast_port"))
    if port and truthy(element(trunk, "on")) then
      cfg.vlink_port = port
      break
    end
  end
  return cfg
end

-- userdataScript prints `asuserdata -a` when Aspera's tools are installed
-- (in aspera_bin, else on the PATH), and nothing otherwise. asuserdata runs
-- as root, so it runs only when root alone could have put it there: the
-- file and every directory namei walks to reach it, links followed, owned
-- by root and writable by neither group nor others. Else it exits 3 and
-- says why: anyone who could swap the program would run code as root.
local userdataScript = [[
if [ -x "$1/asuserdata" ]; then bin=$1/asuserdata
elif bin=$(command -v asuserdata); then :
else exit 0; fi
case $bin in /*) ;; *) printf '%s is not an absolute path\n' "$bin"; exit 3;; esac
walk=$(namei -l -- "$bin" 2>&1) || { printf '%s: cannot check who may change it (namei: %s)\n' "$bin" "$walk"; exit 3; }
bad=$(printf '%s\n' "$walk" | awk 'NR > 1 && $1 !~ /^l/ && ($2 != "root" || substr($1, 6, 1) == "w" || substr($1, 9, 1) == "w") {
  $1 = $1; printf "%s%s", sep, $0; sep = "; " }')
if [ -n "$bad" ]; then
  printf '%s is not run as root: someone other than root may change it or a directory on its way (%s)\n' "$bin" "$bad"
  exit 3
fi
exec "$bin" -a]]

-- userdataArgv is the read of asuserdata -a, the same in prefetch.
local function userdataArgv(v)
  return { "sh", "-c", userdataScript, "sh", v.aspera_bin }
end

-- One reading per host and run: every task and check asks again.
local cached

--- The host's Aspera configuration: from `asuserdata -a` when installed
--- and trusted (it resolves every default and override), else from the
--- aspera.conf XML, else empty. source says which, for evidence; refused,
--- why an asuserdata found was not run.
---@param v table the playbook's vars (aspera_bin, aspera_conf)
---@return table cfg {source, refused?, fasp_port?, http, https, vlink_port?}
function aspera.host_config(v)
  if cached then return cached end
  local res = cmd.query(userdataArgv(v), { ok_rc = { 0, 3 } })
  if res.rc == 0 and res.stdout:match("%S") then
    cached = aspera.config_from_userdata(res.stdout)
    cached.source = "asuserdata -a"
    return cached
  end
  local xml = file.read(v.aspera_conf)
  if xml then
    cached = aspera.config_from_xml(xml)
    cached.source = v.aspera_conf
  else
    cached = { http = {}, https = {}, source = "" }
  end
  if res.rc == 3 then cached.refused = res.stdout:gsub("%s+$", "") end
  return cached
end

--- The reads the Aspera server playbook takes, for its prefetch: sshd's
--- and the firewall's usual reads, the host's Aspera configuration both
--- ways, and, when alee is checked, the licensing domain's addresses, TTL
--- and connection test. They ride in one SSH session with the facts.
---@param v table the playbook's vars
---@return table reads
function aspera.server_reads(v)
  local reads = {
    "sshd", "firewall",
    userdataArgv(v),
    file.read_command(v.aspera_conf),
  }
  -- Not aspera.server(v): that reads the host, and this list comes first.
  if aspera.bool(v.alee, "alee") then
    for _, read in ipairs(firewall.domain_reads(v.alee_domain)) do table.insert(reads, read) end
    table.insert(reads, net.reach_command(aspera.alee_probe(v.alee_domain)))
  end
  return reads
end

--- The licensing check's connection test, as net.reach takes it.
---@param domain string
---@return table
function aspera.alee_probe(domain)
  return { host = domain, port = aspera.LICENSE_PORT, proto = "tcp", timeout = 5 }
end

--- Whether s is an IP address rather than a name to resolve.
---@param s string
---@return boolean
function aspera.is_address(s)
  return s:match("^[%d.]+$") ~= nil or s:find(":", 1, true) ~= nil
end

--- The reads the Aspera client playbook takes, for its prefetch: the
--- firewall's usual reads, and the server's addresses when it is a name or the
--- host's route to it (firewall.verdict's probe out) when it is an address.
---@param v table the playbook's vars
---@return table reads
function aspera.client_reads(v)
  local reads = { "firewall" }
  local server = tostring(v.server or "")
  if server ~= "" and not aspera.is_address(server) then
    table.insert(reads, { "getent", "ahosts", "--", server })
  elseif server ~= "" then
    -- firewall.verdict builds the probe out from the host's route to it.
    table.insert(reads, firewall.route_read(server))
  end
  return reads
end

-- pick resolves an "auto" variable: the host's configured value, else the
-- default. from says where the value came from.
local function pick(value, name, configured, default, source)
  if value ~= "auto" then return aspera.port(value, name), "vars" end
  if configured then return configured, source end
  return default, "default"
end

-- fallbackPorts are the HTTP fallback ports http_fallback asks for; "auto"
-- follows the <http_server> enable flags, and HTTPS alone without them.
local function fallbackPorts(mode, cfg)
  local https = { port = cfg.https.port or aspera.HTTPS_PORT, what = "HTTPS fallback" }
  local http = { port = cfg.http.port or aspera.HTTP_PORT, what = "HTTP fallback" }
  if mode == "auto" then
    if cfg.source == "" then return { https } end
    local ports = {}
    if cfg.https.enabled then table.insert(ports, https) end
    if cfg.http.enabled then table.insert(ports, http) end
    return ports
  end
  local modes = { https = { https }, http = { http }, both = { https, http }, none = {} }
  if modes[mode] == nil then
    fail(string.format("http_fallback is %q: want auto, https, http, both or none", tostring(mode)))
  end
  return modes[mode]
end

--- The server's settings for this host: v checked and every "auto"
--- resolved. Fails clearly when the Vlink port falls in the FASP range.
---@param v table the playbook's vars
---@return table s {ssh_port, keep_22, persist, fasp={lo, hi, from}, http={{port, what}}, vlink?={port, from}, alee_domain?, refused?}
function aspera.server(v)
  local cfg = aspera.host_config(v)
  local s = {
    ssh_port = aspera.port(v.ssh_port, "ssh_port"),
    http = fallbackPorts(tostring(v.http_fallback), cfg),
  }
  -- SSH staying on 22 keeps 22, whatever keep_legacy_22 says.
  s.keep_22 = aspera.bool(v.keep_legacy_22, "keep_legacy_22") or s.ssh_port == 22
  -- firewall.allow's persist: enable the unit that loads the rules at boot.
  s.persist = aspera.bool(v.persist_firewall, "persist_firewall")
  local lo, from = pick(v.fasp_port, "fasp_port", cfg.fasp_port, aspera.FASP_PORT, cfg.source)
  local n = aspera.int(v.udp_concurrency, "udp_concurrency", 1, 65535 - lo + 1)
  s.fasp = { lo = lo, hi = lo + n - 1, from = from }
  if aspera.bool(v.vlinks, "vlinks") then
    local port, vfrom = pick(v.vlink_port, "vlink_port", cfg.vlink_port, aspera.VLINK_PORT, cfg.source)
    if port >= s.fasp.lo and port <= s.fasp.hi then
      fail(string.format("vlinks: the Vlink port %d is a FASP port (%s, from %s): a Vlink needs a UDP port of its own; "
        .. "set vlink_port, or the trunk's multicast port in the Aspera configuration", port, aspera.range(s.fasp), from))
    end
    s.vlink = { port = port, from = vfrom }
  end
  if aspera.bool(v.alee, "alee") then s.alee_domain = v.alee_domain end
  s.refused = cfg.refused
  return s
end

--- The client's settings: the server's ports it must reach, v checked.
---@param v table the playbook's vars
---@return table s {server?, ssh_port, fasp={lo, hi}}
function aspera.client(v)
  local lo = aspera.port(v.server_fasp_port, "server_fasp_port")
  local n = aspera.int(v.server_udp_concurrency, "server_udp_concurrency", 1, 65535 - lo + 1)
  local s = { ssh_port = aspera.port(v.server_ssh_port, "server_ssh_port"), fasp = { lo = lo, hi = lo + n - 1 } }
  if v.server ~= nil and v.server ~= "" then s.server = v.server end
  return s
end

--- "33001" or "33001-33010".
---@param r {lo: integer, hi: integer}
---@return string
function aspera.range(r)
  if r.lo == r.hi then return tostring(r.lo) end
  return r.lo .. "-" .. r.hi
end

--- A firewall.allow flow for a port range: port when it is one port.
---@param flow table dir, proto, and optionally dst, src, comment
---@param r {lo: integer, hi: integer}
---@return table
function aspera.flow(flow, r)
  if r.lo == r.hi then flow.port = r.lo else flow.range = r.lo .. "-" .. r.hi end
  return flow
end

-- describe is one verdict as evidence: "udp/33001 accept (inet filter
-- input: udp dport 33001 accept)".
local function describe(proto, port, r)
  return string.format("%s/%d %s (%s)", proto, port, r.verdict, aspera.decider(r))
end

--- What decided a verdict: the rule, else the chain's policy, else the
--- verdict's reason (no chain on the hook at all).
---@param r remedy.FirewallVerdict
---@return string
function aspera.decider(r)
  if r.rule ~= "" then return r.chain .. ": " .. r.rule end
  if r.chain ~= "" then return r.chain .. " policy" end
  return r.reason
end

-- verdicts asks the firewall about every port of one probe's range.
local function verdicts(probe)
  local blocked, accepted = {}, {}
  for port = probe.lo, probe.hi do
    local verdict = firewall.verdict { dir = probe.dir, proto = probe.proto, port = port, dst = probe.dst }
    local text = describe(probe.proto, port, verdict)
    if verdict.verdict == "accept" then table.insert(accepted, text) else table.insert(blocked, text) end
  end
  local where = probe.dst and (" to " .. probe.dst) or ""
  if #blocked > 0 then
    local way = probe.dir == "in" and "inbound" or "outbound"
    return string.format("%s %s/%s%s does not pass the firewall: %s", way, probe.proto, aspera.range(probe), where,
      table.concat(blocked, "; "))
  end
  if #accepted > 2 then
    return nil, string.format("%s (and %d more ports of %s/%s, all accepted)%s", accepted[1], #accepted - 1, probe.proto,
      aspera.range(probe), where)
  end
  return nil, table.concat(accepted, "; ") .. where
end

--- Judges flows by the firewall's verdict on every port. blocked names,
--- for each port that does not pass, the rule or policy that stops it
--- (nil when all pass); evidence names the rules that accept them.
---@param probes {dir: "in"|"out", proto: string, lo: integer, hi: integer, dst?: string}[]
---@return string? blocked
---@return string evidence
function aspera.judge(probes)
  local blocked, evidence = {}, {}
  for _, probe in ipairs(probes) do
    local b, e = verdicts(probe)
    if b then table.insert(blocked, b) else table.insert(evidence, e) end
  end
  if #blocked > 0 then return table.concat(blocked, "; "), "" end
  return nil, table.concat(evidence, "; ")
end

local loopback = { ["127.0.0.1"] = true, ["::1"] = true }

--- The sockets sshd listens on with port, as "0.0.0.0:33001, [::]:33001".
---@param port integer
---@param reachable? boolean leave out loopback sockets, which no other host can reach
---@return string[] sockets
function aspera.sshd_sockets(port, reachable)
  local out = {}
  for _, l in ipairs(sshd.ports().listening) do
    if l.port == port and not (reachable and loopback[l.addr]) then
      local addr = l.addr
      if addr:find(":") then addr = "[" .. addr .. "]" end
      table.insert(out, addr .. ":" .. l.port)
    end
  end
  return out
end

return aspera
