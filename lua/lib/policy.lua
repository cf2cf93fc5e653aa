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

return policy
