--- Private helpers of the Lua modules: argument checks with messages that name
-- the function and the argument, and conversion of Lua tables to matrices.
-- Every error is raised at the level of the public function's caller, so the
-- user's line is blamed (`level` counts from the function that calls us).
-- @module idl._util

local core = require "idl.core"

local util = {}

--- Raises "<fname>: <message>" blaming the caller of the public function.
-- `level` is the error level as seen from the public function (default 2,
-- its caller); helpers add their own frames.
function util.fail(fname, message, level)
  error(fname .. ": " .. message, (level or 2) + 1)
end

local function describe(v)
  if core.is_matrix(v) then return string.format("a %dx%d matrix", v:rows(), v:cols()) end
  if type(v) == "number" then return tostring(v) end
  if type(v) == "string" then return string.format("%q", v) end
  return type(v)
end
util.describe = describe

--- The first NaN or infinite entry of a matrix: i, j (1-based) or nil.
function util.first_nonfinite(m)
  if m:all_finite() then return nil end
  for j = 1, m:cols() do
    for i = 1, m:rows() do
      local v = m:get(i, j)
      if v ~= v or v == math.huge or v == -math.huge then return i, j end
    end
  end
end

--- v as a matrix: a matrix is returned as it is (the caller must not write
-- into it); a flat Lua table {v1, v2, ...} becomes a column; a table of rows
-- {{...}, {...}} becomes a matrix with those rows. Errors name fname and what.
-- `finite` (default true) rejects NaN and infinities.
function util.as_matrix(v, fname, what, level, finite)
  level = (level or 2) + 1
  local m
  if core.is_matrix(v) then
    m = v
  elseif type(v) == "table" then
    if #v == 0 then util.fail(fname, what .. " is empty", level) end
    local ok, res = pcall(core.from_table, v)
    if not ok then
      -- from_table's message starts with its position and "from_table: "
      local detail = tostring(res):gsub("^.-from_table: ", "")
      util.fail(fname, what .. ": " .. detail, level)
    end
    m = res
  else
    util.fail(fname, what .. " must be a matrix or a Lua table, got " .. type(v), level)
  end
  if finite ~= false then
    local i, j = util.first_nonfinite(m)
    if i then
      util.fail(fname, string.format("%s has a NaN or infinite entry at (%d, %d)", what, i, j), level)
    end
  end
  return m
end

--- Checks that v is a number (an integer when opts.integer) within
-- [opts.min, opts.max]; opts.gt gives a strict lower bound. Returns v.
function util.check_number(v, fname, what, opts, level)
  opts = opts or {}
  level = (level or 2) + 1
  if type(v) ~= "number" or v ~= v then
    util.fail(fname, what .. " must be a number, got " .. describe(v), level)
  end
  if opts.integer and math.type(v) ~= "integer" and v ~= math.floor(v) then
    util.fail(fname, what .. " must be an integer, got " .. describe(v), level)
  end
  if v == math.huge or v == -math.huge then
    util.fail(fname, what .. " must be finite, got " .. describe(v), level)
  end
  if opts.gt and v <= opts.gt then
    util.fail(fname, string.format("%s must be > %s, got %s", what, opts.gt, describe(v)), level)
  end
  if opts.min and v < opts.min then
    util.fail(fname, string.format("%s must be >= %s, got %s", what, opts.min, describe(v)), level)
  end
  if opts.max and v > opts.max then
    util.fail(fname, string.format("%s must be <= %s, got %s", what, opts.max, describe(v)), level)
  end
  if opts.integer then
    -- an integral float beyond 2^63 (1e308) has no integer representation
    local i = math.tointeger(v)
    if not i then
      util.fail(fname, string.format("%s must be an integer in [%d, %d], got %s", what, math.mininteger,
        math.maxinteger, describe(v)), level)
    end
    return i
  end
  return v
end

--- The largest matrix dimension the engine accepts (idl.zeros and friends).
util.MAX_DIM = 1 << 30

--- The largest loop bound a count of rounds or iterations may take: more is a
-- request to run for ever (rounds_number = 2^53), refused up front.
util.MAX_ITERATIONS = 10000000

--- Checks that v is an integer count in [min (default 0), util.MAX_ITERATIONS]
-- (a number of rounds, iterations or epochs). Returns it as a Lua integer.
-- (The helpers below keep their frame: `return f(...)` would be a tail call,
-- which drops a frame and puts the error one level too high.)
function util.check_count(v, fname, what, min, level)
  local n = util.check_number(v, fname, what, {integer = true, min = min or 0, max = util.MAX_ITERATIONS},
    (level or 2) + 1)
  return n
end

--- Checks that v is a matrix dimension: an integer in [min (default 0), util.MAX_DIM].
function util.check_dim(v, fname, what, min, level)
  local n = util.check_number(v, fname, what, {integer = true, min = min or 0, max = util.MAX_DIM},
    (level or 2) + 1)
  return n
end

--- Checks that v is a table (not a matrix); returns it.
function util.check_table(v, fname, what, level)
  if type(v) ~= "table" then
    util.fail(fname, what .. " must be a table, got " .. describe(v), (level or 2) + 1)
  end
  return v
end

--- Checks that v is a string; returns it.
function util.check_string(v, fname, what, level)
  if type(v) ~= "string" then
    util.fail(fname, what .. " must be a string, got " .. describe(v), (level or 2) + 1)
  end
  return v
end

--- Checks that v is a function; returns it.
function util.check_function(v, fname, what, level)
  if type(v) ~= "function" then
    util.fail(fname, what .. " must be a function, got " .. describe(v), (level or 2) + 1)
  end
  return v
end

--- Checks that v is a matrix, rows x cols when these are given (nil: any),
-- with finite entries unless finite == false. Returns v.
function util.check_matrix(v, fname, what, rows, cols, level, finite)
  level = (level or 2) + 1
  if not core.is_matrix(v) then util.fail(fname, what .. " must be a matrix, got " .. describe(v), level) end
  if rows and cols and (v:rows() ~= rows or v:cols() ~= cols) then
    util.fail(fname, string.format("%s is %dx%d, expected %dx%d", what, v:rows(), v:cols(), rows, cols),
      level)
  elseif rows and v:rows() ~= rows then
    util.fail(fname, string.format("%s has %d rows, expected %d", what, v:rows(), rows), level)
  elseif cols and v:cols() ~= cols then
    util.fail(fname, string.format("%s has %d columns, expected %d", what, v:cols(), cols), level)
  end
  if finite ~= false then
    local i, j = util.first_nonfinite(v)
    if i then
      util.fail(fname, string.format("%s has a NaN or infinite entry at (%d, %d)", what, i, j), level)
    end
  end
  return v
end

local RNG_META = getmetatable(core.rng(0))

--- True when v is a generator from idl.rng(seed).
function util.is_rng(v)
  return type(v) == "userdata" and getmetatable(v) == RNG_META
end

--- Checks that v is a generator from idl.rng(seed); returns it.
function util.check_rng(v, fname, what, level)
  if not util.is_rng(v) then
    util.fail(fname, (what or "rng") .. " must be a generator from idl.rng(seed), got " .. describe(v),
      (level or 2) + 1)
  end
  return v
end

--- Checks that self is an object whose metatable is mt, as in a method call
-- obj:method(...); a call with '.' instead of ':' is named as such.
-- `name` is "<Class>:<method>".
function util.check_self(self, mt, name, level)
  if getmetatable(self) == mt then return self end
  level = (level or 2) + 1
  local class = name:match("^[^:]*")
  if self == nil then util.fail(name, "call it with ':' (self is nil)", level) end
  util.fail(name, string.format("self must be a %s (call it with ':'), got %s", class, describe(self)), level)
end

--- Calls f(...) and returns its results; an error it raises is raised again as
-- "<fname>: <its message>" (without its position), blaming the public
-- function's caller. For inner calls whose messages name another function.
function util.relabel(fname, level, f, ...)
  local res = table.pack(pcall(f, ...))
  if res[1] then return table.unpack(res, 2, res.n) end
  local msg = tostring(res[2]):gsub("^[^:\n]*:%d+: ", "")
  util.fail(fname, msg, (level or 2) + 1)
end

function util.check_boolean(v, fname, what, level)
  if type(v) ~= "boolean" then
    util.fail(fname, what .. " must be a boolean, got " .. describe(v), (level or 2) + 1)
  end
  return v
end

--- Checks that v is one of the strings of the array choices.
function util.check_choice(v, choices, fname, what, level)
  for _, c in ipairs(choices) do
    if v == c then return v end
  end
  local quoted = {}
  for i, c in ipairs(choices) do quoted[i] = string.format("%q", c) end
  util.fail(fname, string.format("%s must be one of %s, got %s", what, table.concat(quoted, ", "),
    describe(v)), (level or 2) + 1)
end

-- Levenshtein distance, for "did you mean" hints on misspelled option names.
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = {[0] = i}
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

--- Raises on any key of opts that is not in the set `allowed` (a table whose
-- keys are the valid names), suggesting the closest valid name.
-- `what` names the table ("options", "fit options").
function util.check_options(opts, allowed, fname, what, level)
  level = (level or 2) + 1
  if opts == nil then return {} end
  if type(opts) ~= "table" or core.is_matrix(opts) then
    util.fail(fname, what .. " must be a table, got " .. describe(opts), level)
  end
  local names = {}
  for k in pairs(allowed) do names[#names + 1] = k end
  table.sort(names)
  for k in pairs(opts) do
    if type(k) ~= "string" then
      util.fail(fname, what .. " must be a table of named options, got key " .. describe(k), level)
    end
    if not allowed[k] then
      local best, best_d = nil, math.huge
      for _, n in ipairs(names) do
        local d = distance(k, n)
        if d < best_d then best, best_d = n, d end
      end
      local hint = (best and best_d <= math.max(2, #k // 3)) and (" (did you mean '" .. best .. "'?)") or ""
      util.fail(fname, string.format("unknown option '%s' in %s%s", k, what, hint), level)
    end
  end
  return opts
end

--- A deep copy of a table of matrices (and plain values); matrices are copied.
function util.copy_matrices(t)
  local out = {}
  for k, v in pairs(t) do
    if core.is_matrix(v) then out[k] = v:copy()
    elseif type(v) == "table" then out[k] = util.copy_matrices(v)
    else out[k] = v end
  end
  return out
end

--- M * diag(v) for M r x c and v a c-vector (matrix c x 1 or 1 x c): scales
-- each column (a small GEMM, used at the estimator's boundary only).
function util.scale_cols(m, v)
  local c = m:cols()
  local d = core.zeros(c, c)
  for j = 1, c do d:set(j, j, v:get(j)) end
  return m * d
end

--- util.sh_quote(s) -> s quoted for /bin/sh (single quotes, embedded ones
-- escaped); a plain word or path is returned as it is, so messages stay readable.
function util.sh_quote(s)
  if s:match("^[%w%._/%-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- util.read_file(path) -> the whole file as a string, or nil when it cannot be read.
function util.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

return util
