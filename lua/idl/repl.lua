--- idl.repl: how the idl REPL shows values, and its per-command timing.
--
--     > {1, 2, {a = "x"}}
--     {1, 2, {a = "x"}}
--     > est                       -- an estimator: class, parameters, fitted or not, sizes
--     > idl.timing(true)          -- from now on each command's wall time is shown
--
-- The REPL prints every table through repl.repr (nested, bounded in depth, width and count,
-- cycles marked) and every other value through tostring. Estimators and training histories get
-- a one-screen summary, like scikit-learn's repr; matrices, models and generators print
-- through their own __tostring.
-- @module idl.repl

local api = require "idl._api"

local repl = {}

--- True while the REPL shows each command's wall time (set by idl.timing).
repl.timing_enabled = false

--- idl.timing([on]) -> whether the REPL shows each command's wall time after its result
-- ("(0.53 s)"), like trepl's timing; `on` (a boolean) switches it, nothing reads it.
repl.timing = api.public("idl.timing", function(on)
  if on ~= nil then repl.timing_enabled = api.check(on, "boolean", "on") end
  return repl.timing_enabled
end)

local MAX_DEPTH = 4     -- deeper tables print as {...}
local MAX_ITEMS = 30    -- entries shown per table, then "... (k more)"
local WIDTH = 96        -- a table that fits prints on one line
local MAX_LINES = 60    -- the whole text is cut after this many lines

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil and not ({
    ["and"] = 1, ["break"] = 1, ["do"] = 1, ["else"] = 1, ["elseif"] = 1, ["end"] = 1, ["false"] = 1,
    ["for"] = 1, ["function"] = 1, ["goto"] = 1, ["if"] = 1, ["in"] = 1, ["local"] = 1, ["nil"] = 1,
    ["not"] = 1, ["or"] = 1, ["repeat"] = 1, ["return"] = 1, ["then"] = 1, ["true"] = 1,
    ["until"] = 1, ["while"] = 1})[k]
end

-- Keys in a stable order: the array part 1..n first, then numbers, then strings, then the rest.
local function ordered_keys(t)
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  local rest = {}
  for k in next, t do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then rest[#rest + 1] = k end
  end
  local rank = {number = 1, string = 2}
  table.sort(rest, function(a, b)
    local ra, rb = rank[type(a)] or 3, rank[type(b)] or 3
    if ra ~= rb then return ra < rb end
    if ra == 3 then return tostring(a) < tostring(b) end
    return a < b
  end)
  return n, rest
end

local summary -- forward: summaries of objects (below)

-- A value inside a table, on one line.
local function scalar(v)
  local t = type(v)
  if t == "string" then return string.format("%q", v):gsub("\\\n", "\\n") end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  local mt = getmetatable(v)
  if mt and mt.__name == "idl.matrix" then
    return string.format("<idl.matrix %dx%d>", v:rows(), v:cols())
  end
  return (tostring(v):match("^[^\n]*"))
end

local render

-- The entries of t as strings "k = v" (or "v" for the array part).
local function entries(t, depth, seen)
  local n, rest = ordered_keys(t)
  local out, total = {}, n + #rest
  for i = 1, n do
    if #out >= MAX_ITEMS then break end
    out[#out + 1] = render(rawget(t, i), depth + 1, seen)
  end
  for _, k in ipairs(rest) do
    if #out >= MAX_ITEMS then break end
    local key = is_identifier(k) and k or "[" .. scalar(k) .. "]"
    out[#out + 1] = key .. " = " .. render(rawget(t, k), depth + 1, seen)
  end
  if total > #out then out[#out + 1] = string.format("... (%d more)", total - #out) end
  return out
end

function render(v, depth, seen)
  if type(v) ~= "table" then return scalar(v) end
  if seen[v] then return "<cycle: " .. seen[v] .. ">" end
  local mt = getmetatable(v)
  if mt and mt.__tostring then return scalar(v) end
  local s = summary(v)
  if s then return depth == 0 and s or s:match("^[^\n]*") end
  if next(v) == nil then return "{}" end
  if depth >= MAX_DEPTH then return "{...}" end
  seen[v] = depth == 0 and "the table itself" or "an enclosing table"
  local items = entries(v, depth, seen)
  seen[v] = nil
  local one = "{" .. table.concat(items, ", ") .. "}"
  if #one + 2 * depth <= WIDTH and not one:find("\n") then return one end
  local pad = string.rep("  ", depth + 1)
  for i, item in ipairs(items) do items[i] = pad .. item:gsub("\n", "\n") end
  return "{\n" .. table.concat(items, ",\n") .. "\n" .. string.rep("  ", depth) .. "}"
end

-- Cuts a text to MAX_LINES lines.
local function bounded(text)
  local lines, count = {}, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    count = count + 1
    if count <= MAX_LINES then lines[#lines + 1] = line end
  end
  if count > MAX_LINES then lines[#lines + 1] = string.format("... (%d more lines)", count - MAX_LINES) end
  return table.concat(lines, "\n")
end

--- repl.repr(v) -> a readable Lua-like text of v: tables nested (depth <= 4, 30 entries each,
-- at most 60 lines), cycles marked `<cycle: ...>`, strings quoted, matrices as
-- `<idl.matrix RxC>` inside tables; estimators and histories as a summary; any other value
-- through tostring.
function repl.repr(v)
  if type(v) ~= "table" then
    local mt = getmetatable(v)
    if type(v) == "string" or not (mt and mt.__tostring) then return scalar(v) end
    return tostring(v)
  end
  return bounded(render(v, 0, {}))
end

--- repl.show(v) -> the text the REPL prints for a result: tables through repl.repr, anything
-- else through tostring (so a string prints without quotes, as in lua5.4).
function repl.show(v)
  if type(v) == "table" then return repl.repr(v) end
  return tostring(v)
end

-- ---------------------------------------------------------------------------
-- Summaries

-- The public name and constructor of an estimator class mt: a loaded idl module field `name`
-- whose .class is that class (idl.IDLModel, idl.IDLClassifier).
local function class_constructor(mt)
  if type(mt) ~= "table" or rawget(mt, "__index") ~= mt then return nil end
  for mname, mod in pairs(package.loaded) do
    if type(mname) == "string" and mname:match("^idl%.") and type(mod) == "table" then
      for k, v in pairs(mod) do
        if type(v) == "table" and rawget(v, "class") == mt and getmetatable(v) and getmetatable(v).__call then
          return k, v
        end
      end
    end
  end
  return nil
end

local function same(a, b)
  if type(a) == "table" and type(b) == "table" then
    for k, v in pairs(a) do if not same(v, b[k]) then return false end end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
  end
  return a == b
end

-- The parameters that differ from a fresh estimator's, as "k = v" (scikit-learn shows those).
local function changed_params(obj, constructor)
  local ok, params = pcall(obj.get_params, obj)
  if not ok or type(params) ~= "table" then return "?" end
  local ok2, fresh = pcall(constructor, {})
  local defaults = ok2 and fresh:get_params() or {}
  local keys, out = {}, {}
  for k in pairs(params) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if not same(params[k], defaults[k]) then out[#out + 1] = k .. " = " .. render(params[k], 1, {}) end
  end
  return table.concat(out, ", ")
end

local function is_history(t)
  local first = rawget(t, 1)
  return type(first) == "table" and getmetatable(first) == nil
    and math.type(rawget(first, "round")) == "integer"
    and type(rawget(t, #t)) == "table" and rawget(rawget(t, #t), "round") ~= nil
end

local HISTORY_COLUMNS = {"round", "G", "relaxed_l2", "train_l2", "eval_l2", "train_rmse", "eval_rmse",
  "loss", "lambda_l1", "seconds"}

local function history_summary(h)
  local cols = {}
  for _, c in ipairs(HISTORY_COLUMNS) do
    if h[#h][c] ~= nil or h[1][c] ~= nil then cols[#cols + 1] = c end
  end
  local keys = {}
  for k in pairs(h[#h]) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local out = {string.format("training history: %d entries (round %s to %s; entry 1 is the initialization)",
    #h, tostring(h[1].round), tostring(h[#h].round)), "fields: " .. table.concat(keys, ", ")}
  local header = {}
  for i, c in ipairs(cols) do header[i] = string.format("%12s", c) end
  out[#out + 1] = table.concat(header)
  local function row(e)
    local cells = {}
    for i, c in ipairs(cols) do
      local v = e[c]
      cells[i] = string.format("%12s", math.type(v) == "integer" and tostring(v)
        or type(v) == "number" and string.format("%.4g", v) or "-")
    end
    out[#out + 1] = table.concat(cells)
  end
  local shown = {}
  for _, i in ipairs({1, 2, 3, #h - 2, #h - 1, #h}) do
    if i >= 1 and i <= #h and not shown[i] then
      if i > 4 and not shown[i - 1] then out[#out + 1] = string.format("%12s", "...") end
      shown[i] = true
      row(h[i])
    end
  end
  return table.concat(out, "\n")
end

local function estimator_summary(obj, name, constructor)
  local lines = {string.format("%s(%s)", name, changed_params(obj, constructor))}
  local model = rawget(obj, "model")
  if model == nil then
    lines[#lines + 1] = "  not fitted"
    return table.concat(lines, "\n")
  end
  -- an ensemble (est.members) is one model whose hidden state stacks its members'
  local members = rawget(obj, "members")
  local k = type(members) == "table" and #members or 1
  local hidden = k > 1 and string.format("%d hidden (the mean of %d models of %d)", model.h, k, model.h // k)
    or string.format("%d hidden", model.h)
  local sizes = type(model) == "table" and model.n
    and string.format("n = %d features, h = %s, p = %d outputs", model.n, hidden, model.p)
    or tostring(model)
  lines[#lines + 1] = "  fitted: " .. sizes
  local classes = rawget(obj, "classes")
  if type(classes) == "table" then
    lines[#lines + 1] = string.format("  classes: %d (%s)", #classes, render(classes, 1, {}):sub(2, -2))
  end
  local h = rawget(obj, "history")
  if type(h) == "table" and #h > 0 then
    lines[#lines + 1] = string.format("  %s%d round%s, stop_reason = %s, best_round = %s",
      k > 1 and "model 1: " or "", #h - 1,
      #h == 2 and "" or "s", tostring(rawget(obj, "stop_reason")), tostring(rawget(obj, "best_round")))
    local last = h[#h]
    local parts = {}
    for _, c in ipairs({"train_l2", "eval_l2", "train_rmse", "eval_rmse", "loss"}) do
      if type(last[c]) == "number" then parts[#parts + 1] = string.format("%s = %.4g", c, last[c]) end
    end
    if #parts > 0 then lines[#lines + 1] = "  last round: " .. table.concat(parts, ", ") end
  end
  return table.concat(lines, "\n")
end

--- repl.summary(v) -> a one-screen text for an estimator (class, the parameters that differ from
-- the defaults, fitted or not, sizes, rounds) or a training history (rounds and the first and last
-- entries), or nil for any other value.
function summary(v)
  if type(v) ~= "table" then return nil end
  local name, constructor = class_constructor(getmetatable(v))
  if name then return estimator_summary(v, name, constructor) end
  name = class_constructor(rawget(v, "class"))
  if name and getmetatable(v) and getmetatable(v).__call then
    return string.format("<class %s: idl.%s{...} makes one; help(idl.%s) for its parameters>", name, name,
      name)
  end
  if is_history(v) then return history_summary(v) end
  return nil
end
repl.summary = summary

return repl
