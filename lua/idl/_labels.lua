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

--- labels.one_hot(v, classes, what) -> the m x k matrix of the labels v
-- over the classes (rows are samples: entry (i, j) is 1 when v[i] is
-- classes[j]); a label not among the classes raises "<what>[i] = ... is not a
-- class seen in fit".
function labels.one_hot(v, classes, what)
  local index = {}
  for i, c in ipairs(classes) do index[c] = i end
  local Y = core.zeros(#v, #classes)
  for j, l in ipairs(v) do
    local k = index[l]
    if not k then
      api.fail(string.format("%s[%d] = %s is not a class seen in fit", what, j, tostring(l)))
    end
    Y:set(j, k, 1)
  end
  return Y
end

--- labels.most_probable(S, classes) -> a Lua array: for each row of the
-- m x k scores S (probabilities or logits), the class of its largest entry
-- (the first of ties).
function labels.most_probable(S, classes)
  local out = {}
  for i = 1, S:rows() do
    local best, arg = -math.huge, 1
    for k = 1, S:cols() do
      local v = S:get(i, k)
      if v > best then best, arg = v, k end
    end
    out[i] = classes[arg]
  end
  return out
end

--- labels.accuracy(predicted, v) -> the fraction of v's labels that the
-- array predicted matches; their lengths must agree ("labels has .. entries,
-- X has .. rows").
function labels.accuracy(predicted, v)
  if #predicted ~= #v then
    api.fail(string.format("labels has %d entries, X has %d rows", #v, #predicted))
  end
  local right = 0
  for i, l in ipairs(v) do
    if predicted[i] == l then right = right + 1 end
  end
  return right / #v
end

--- labels.select(v, idx) -> {v[idx[1]], v[idx[2]], ...}, a new array.
function labels.select(v, idx)
  local out = {}
  for i, k in ipairs(idx) do out[i] = v[k] end
  return out
end

return labels
