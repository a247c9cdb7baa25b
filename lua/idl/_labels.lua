--- Class labels: the checks and encodings that the data split, the
-- classification metrics and model selection share.
--
-- A label vector is a Lua array of m labels, all numbers (finite) or all
-- strings, or an m x 1 / 1 x m matrix (read as numbers). The classes of a
-- vector are its distinct labels, sorted (numbers ascending, strings in byte
-- order), as idl.IDLClassifier orders them.
-- @module idl._labels

local core = require "idl.core"
local api = require "idl._api"

local labels = {}

--- labels.check(v, what) -> v as a Lua array of labels (a vector matrix is
-- read into a new array; a Lua array is returned as it is). Raises "<what>
-- ..." on anything else, through api.fail (the public function's name).
function labels.check(v, what)
  if core.is_matrix(v) then
    if v:cols() ~= 1 and v:rows() ~= 1 then
      api.fail(string.format("%s must be a vector of labels, got a %dx%d matrix", what,
        v:rows(), v:cols()))
    end
    local t = {}
    for i = 1, math.max(v:rows(), v:cols()) do t[i] = v:get(i) end
    v = t
  end
  if type(v) ~= "table" then
    api.fail(what .. " must be a Lua array or a vector of labels, got " .. api.describe(v))
  end
  local n = #v
  if n == 0 then api.fail(what .. " is empty") end
  local kind = type(v[1])
  for i = 1, n do
    local l = v[i]
    if type(l) ~= kind or (kind ~= "number" and kind ~= "string") then
      api.fail(string.format("%s[%d] is %s: labels must all be numbers or all strings", what, i,
        api.describe(l)))
    end
    if kind == "number" and (l ~= l or l == math.huge or l == -math.huge) then
      api.fail(string.format("%s[%d] is not finite", what, i))
    end
  end
  return v
end

--- labels.is_text(v) -> true when v is a non-empty Lua array (not a
-- matrix) whose first entry is a string: text labels, which cannot be a matrix.
function labels.is_text(v)
  return type(v) == "table" and not core.is_matrix(v) and type(v[1]) == "string"
end

--- labels.classes(v) -> the sorted distinct labels of the Lua array v, and a
-- table mapping each class to its position in that list.
function labels.classes(v)
  local seen, classes = {}, {}
  for _, l in ipairs(v) do
    if not seen[l] then
      seen[l] = true
      classes[#classes + 1] = l
    end
  end
  table.sort(classes)
  local index = {}
  for i, c in ipairs(classes) do index[c] = i end
  return classes, index
end

--- labels.select(v, idx) -> {v[idx[1]], v[idx[2]], ...}, a new array.
function labels.select(v, idx)
  local out = {}
  for i, k in ipairs(idx) do out[i] = v[k] end
  return out
end

return labels
