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

--- Parses `sshd -T` output: lower-case keyword -> value. A keyword sshd
--- prints more than once (port, listenaddress) keeps its first value in the
--- table and every value, in order, in all[keyword].
---@param text string
---@return table<string, string> first, table<string, string[]> all
function policy.parse_sshd_t(text)
  local first, all = {}, {}
  for line in text:gmatch("[^\n]+") do
    local key, value = line:match("^(%S+)%s+(.*)$")
    if key then
      key = key:lower()
      if first[key] == nil then first[key] = value end
      all[key] = all[key] or {}
      table.insert(all[key], value)
    end
  end
  return first, all
end

--- The effective sshd configuration on the host, as sshd itself computes
--- it (`sshd -T`: Include files and defaults resolved, first occurrence
--- wins). Call it inside a task or check.
---@return table<string, string> first, table<string, string[]> all
function policy.sshd_effective()
  return policy.parse_sshd_t(cmd.query({ "sshd", "-T" }).stdout)
end

return policy
