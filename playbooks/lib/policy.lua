--- Helpers for site-policy playbooks: small, pure functions over tables.
local policy = {}

--- Returns a set (value -> true) of the items in list.
---@param list any[]
---@return table<any, boolean>
function policy.set(list)
  local s = {}
  for _, v in ipairs(list or {}) do s[v] = true end
  return s
end

--- Returns the items of list that are not in allowed (a list), in order.
---@param list any[]
---@param allowed any[]
---@return any[]
function policy.outside(list, allowed)
  local ok, out = policy.set(allowed), {}
  for _, v in ipairs(list or {}) do
    if not ok[v] then out[#out + 1] = v end
  end
  return out
end

--- Joins a list with ", " for messages; an empty list reads "none".
---@param list any[]
---@return string
function policy.join(list)
  if list == nil or #list == 0 then return "none" end
  local parts = {}
  for i, v in ipairs(list) do parts[i] = tostring(v) end
  return table.concat(parts, ", ")
end

--- Parses `ss -H -l -n -t -u` output into listening sockets,
--- {proto = "tcp"|"udp", addr = "0.0.0.0"|"::"|"*"|..., port = 22}.
---@param text string
---@return {proto: string, addr: string, port: integer}[]
function policy.parse_ss(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    local proto, addr, port = line:match("^(%a+)%s+%S+%s+%d+%s+%d+%s+(%S+):(%d+)%s")
    if proto then
      addr = addr:gsub("^%[", ""):gsub("%]$", "")
      table.insert(out, { proto = proto, addr = addr, port = tonumber(port) })
    end
  end
  return out
end

--- Whether a listening address only takes connections from the host itself.
---@param addr string
---@return boolean
function policy.loopback(addr)
  return addr:match("^127%.") ~= nil or addr == "::1"
end

--- The TCP and UDP sockets listening on the host, from ss. Call it inside
--- a task or check.
---@return {proto: string, addr: string, port: integer}[]
function policy.listening()
  return policy.parse_ss(cmd.query({ "ss", "-H", "-l", "-n", "-t", "-u" }).stdout)
end

return policy
