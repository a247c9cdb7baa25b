--- The one error mechanism of the Lua modules: public names, a declarative
-- argument checker, and errors that blame the caller's line.
--
--     IDLModel.predict = api.public("idl.IDLModel:predict", function(self, X, opts)
--       opts = api.options(opts, PREDICT_OPTIONS, "options")
--       local k = api.check(opts.k_iterations, {"count", optional = true}, "k_iterations")
--       if X:cols() ~= n then api.fail("X has 3 columns, the model was fitted on 2") end
--       ...
--     end)
--
-- api.public registers the public name once. api.fail(message) walks the call
-- stack up to the first frame outside lua/idl (the caller's line, which the
-- error blames); the name is that of the OUTERMOST public function on the
-- way, so a public function called by another reports under the name the
-- user called (score's name for a bad X that predict found). Nothing counts
-- levels, and nothing catches an error to raise it again.
-- @module idl._api

local core = require "idl.core"

local api = {}

-- The directory of the library's Lua files ("@.../lua/idl/"): a frame whose
-- source starts with it is a library frame; the first other Lua frame is the
-- caller whose line an error blames.
local LIBRARY = debug.getinfo(1, "S").source:match("^(@.*[/\\])[^/\\]*$") or "@lua/idl/"

-- public function -> its public name; the set of the names
local NAMES = setmetatable({}, {__mode = "k"})
local IS_NAME = {}

local function pass(...) return ... end

--- api.public(name, f) -> a function that calls f and returns its results.
-- Errors raised by api.fail while it runs read "<name>: <message>" and blame
-- the line that called it. `name` is written as the user writes the call:
-- "idl.metrics.r2", "idl.IDLModel:fit".
function api.public(name, f)
  -- `pass` keeps the wrapper's frame on the stack while f runs (a plain
  -- `return f(...)` is a tail call that would drop it)
  local function public(...) return pass(f(...)) end
  NAMES[public], IS_NAME[name] = name, true
  return public
end

--- api.is_a(v, class) -> true when v's metatable is class, or a class that
-- derives from it (its metatable's __index chain reaches class).
function api.is_a(v, class)
  local mt = getmetatable(v)
  while type(mt) == "table" do
    if mt == class then return true end
    local up = getmetatable(mt)
    mt = up and up.__index
  end
  return false
end

--- api.method(class, name, f) -> api.public(name, f) that first checks self:
-- an object of class (or of a class deriving from it), as in obj:method(...);
-- a call with '.' instead of ':' is named as such. name is "idl.Class:method".
function api.method(class, name, f)
  local cls = name:match("([%w_]+):") or name
  return api.public(name, function(self, ...)
    if not api.is_a(self, class) then
      if self == nil then api.fail("call it with ':' (self is nil)") end
      api.fail(string.format("self must be a %s (call it with ':'), got %s", cls, api.describe(self)))
    end
    return f(self, ...)
  end)
end

--- api.name_of(f) -> the public name registered for f, or nil.
function api.name_of(f) return NAMES[f] end

local function in_library(info)
  return info.what == "C" or info.source:sub(1, #LIBRARY) == LIBRARY
end

--- api.fail(message [, name]): raises "<public name>: <message>" blaming the
-- caller's line (see above). `name` serves when no public function is on the
-- stack (a helper called directly).
function api.fail(message, name)
  -- getinfo's level k and error's level k both count api.fail itself as 1
  local level, found = 2, nil
  while true do
    local info = debug.getinfo(level, "Sf")
    if info == nil then break end -- no caller outside the library: no position
    if NAMES[info.func] then found = NAMES[info.func] end
    if not in_library(info) then break end
    level = level + 1
  end
  local prefix = (found or name or "idl") .. ": "
  -- a message passed on by an older module that caught it already has it
  if message:sub(1, #prefix) ~= prefix then message = prefix .. message end
  error(message, level)
end

--- api.unplace(message) -> message without a leading "<file>:<line>: ".
function api.unplace(message)
  return (tostring(message):gsub("^[^:\n]*:%d+: ", ""))
end

--- api.strip(message) -> message without a leading "<file>:<line>: " and a
-- leading "<public name>: " (what api.fail added), for the older modules that
-- catch an error to raise it again under their own name.
function api.strip(message)
  message = api.unplace(message)
  local name, rest = message:match("^(%S-): (.*)$")
  if name and IS_NAME[name] then return rest end
  return message
end

--- api.engine(f, ...) -> the results of f(...), a function of the C engine
-- whose arguments come from the user: C raises at the library line that
-- called it, so its error is raised again through api.fail (the caller's
-- line, the public name), keeping the engine's own words ("idl.zeros: ...").
function api.engine(f, ...)
  local res = table.pack(pcall(f, ...))
  if res[1] then return table.unpack(res, 2, res.n) end
  api.fail(api.unplace(res[2]))
end

--- api.failf(format, ...): api.fail(string.format(format, ...)).
function api.failf(fmt, ...) api.fail(string.format(fmt, ...)) end

--- api.check_features(X, n) -> X: raises "X has .. columns (features), the
-- model was fitted on n" unless the rows-are-samples X has n columns (what
-- every fitted model's predict checks first).
function api.check_features(X, n)
  if X:cols() ~= n then api.failf("X has %d columns (features), the model was fitted on %d", X:cols(), n) end
  return X
end

-- ---------------------------------------------------------------------------
-- The checker: each rule returns the (normalized) value, or nil and what is
-- wrong. api.check raises; idl._util's older helpers share the same rules.

--- How a value reads in a message: "a 3x4 matrix", 0.5, "text", "table".
function api.describe(v)
  if core.is_matrix(v) then return string.format("a %dx%d matrix", v:rows(), v:cols()) end
  if type(v) == "number" then return tostring(v) end
  if type(v) == "string" then return string.format("%q", v) end
  return type(v)
end
local describe = api.describe

--- The largest matrix dimension the engine accepts (idl.zeros and friends).
api.MAX_DIM = 1 << 30

--- The largest loop bound a count of rounds or iterations may take: more is a
-- request to run for ever (rounds_number = 2^53), refused up front.
api.MAX_ITERATIONS = 10000000

local rules = {}

-- spec: {min =, max =, gt = (strict lower bound), integer = true}
function rules.number(v, spec)
  if type(v) ~= "number" or v ~= v then return nil, "must be a number, got " .. describe(v) end
  if spec.integer and math.type(v) ~= "integer" and v ~= math.floor(v) then
    return nil, "must be an integer, got " .. describe(v)
  end
  if v == math.huge or v == -math.huge then return nil, "must be finite, got " .. describe(v) end
  if spec.gt and v <= spec.gt then return nil, string.format("must be > %s, got %s", spec.gt, describe(v)) end
  if spec.min and v < spec.min then
    return nil, string.format("must be >= %s, got %s", spec.min, describe(v))
  end
  if spec.max and v > spec.max then
    return nil, string.format("must be <= %s, got %s", spec.max, describe(v))
  end
  if spec.integer then
    -- an integral float beyond 2^63 (1e308) has no integer representation
    local i = math.tointeger(v)
    if not i then
      return nil, string.format("must be an integer in [%d, %d], got %s", math.mininteger, math.maxinteger,
        describe(v))
    end
    return i
  end
  return v
end

-- an integer count of rounds or iterations in [min (default 0), api.MAX_ITERATIONS]
function rules.count(v, spec)
  return rules.number(v, {integer = true, min = spec.min or 0, max = api.MAX_ITERATIONS})
end

-- a matrix dimension in [min (default 0), api.MAX_DIM]
function rules.dim(v, spec)
  return rules.number(v, {integer = true, min = spec.min or 0, max = api.MAX_DIM})
end

local function of_type(t)
  return function(v)
    if type(v) ~= t then return nil, "must be a " .. t .. ", got " .. describe(v) end
    return v
  end
end
rules.boolean = of_type("boolean")
rules.string = of_type("string")
rules["function"] = of_type("function")

function rules.table(v)
  if type(v) ~= "table" then return nil, "must be a table, got " .. describe(v) end
  return v
end

-- spec.choices: an array of strings, or a function returning one
function rules.choice(v, spec)
  local choices = type(spec.choices) == "function" and spec.choices() or spec.choices
  for _, c in ipairs(choices) do
    if v == c then return v end
  end
  local quoted = {}
  for i, c in ipairs(choices) do quoted[i] = string.format("%q", c) end
  return nil, string.format("must be one of %s, got %s", table.concat(quoted, ", "), describe(v))
end

--- The first NaN or infinite entry of a matrix: i, j (1-based) or nil.
function api.first_nonfinite(m)
  if m:all_finite() then return nil end
  for j = 1, m:cols() do
    for i = 1, m:rows() do
      local v = m:get(i, j)
      if v ~= v or v == math.huge or v == -math.huge then return i, j end
    end
  end
end

local function finite_problem(m, spec)
  if spec.finite == false then return nil end
  local i, j = api.first_nonfinite(m)
  if i then return string.format("has a NaN or infinite entry at (%d, %d)", i, j) end
end

-- spec: {rows =, cols = (nil: any), finite = false to accept NaN and Inf}
function rules.matrix(v, spec)
  if not core.is_matrix(v) then return nil, "must be a matrix, got " .. describe(v) end
  local r, c = spec.rows, spec.cols
  if r and c and (v:rows() ~= r or v:cols() ~= c) then
    return nil, string.format("is %dx%d, expected %dx%d", v:rows(), v:cols(), r, c)
  elseif r and v:rows() ~= r then
    return nil, string.format("has %d rows, expected %d", v:rows(), r)
  elseif c and v:cols() ~= c then
    return nil, string.format("has %d columns, expected %d", v:cols(), c)
  end
  local bad = finite_problem(v, spec)
  if bad then return nil, bad end
  return v
end

-- a matrix, or a Lua table converted by idl.from_table (a flat table is a
-- column); a matrix is returned as it is (not to be written into)
function rules.matrix_like(v, spec)
  local m = v
  if type(v) == "table" then
    if #v == 0 then return nil, "is empty" end
    local ok, res = pcall(core.from_table, v)
    -- from_table's message starts with its position and "idl.from_table: "
    if not ok then return nil, ": " .. tostring(res):gsub("^.-from_table: ", "") end
    m = res
  elseif not core.is_matrix(v) then
    return nil, "must be a matrix or a Lua table, got " .. type(v)
  end
  local bad = finite_problem(m, spec)
  if bad then return nil, bad end
  return m
end

local RNG_META = getmetatable(core.rng(0))

--- True when v is a generator from idl.rng(seed).
function api.is_rng(v)
  return type(v) == "userdata" and getmetatable(v) == RNG_META
end

function rules.rng(v)
  if not api.is_rng(v) then return nil, "must be a generator from idl.rng(seed), got " .. describe(v) end
  return v
end

--- api.test(v, spec, what) -> the checked value, or nil and the message
-- ("<what> must be ..."). spec is a rule name ("boolean") or a table
-- {rule, optional = true, <the rule's fields>}: rules number {min, max, gt,
-- integer}, count {min}, dim {min}, boolean, string, function, table, choice
-- {choices}, matrix {rows, cols, finite}, matrix_like {finite}, rng; or a
-- function(v, what) -> value, or nil and message.
function api.test(v, spec, what)
  if type(spec) == "function" then
    local value, problem = spec(v, what)
    if problem then return nil, problem end
    return value
  end
  if type(spec) == "string" then spec = {spec} end
  if v == nil and spec.optional then return nil end
  local rule = rules[spec[1]] or error("api.test: unknown rule " .. describe(spec[1]), 2)
  local value, problem = rule(v, spec)
  if problem then
    return nil, what .. (problem:sub(1, 1) == ":" and "" or " ") .. problem
  end
  return value
end

--- api.check(v, spec, what) -> the checked value (see api.test); raises
-- through api.fail otherwise.
function api.check(v, spec, what)
  local value, problem = api.test(v, spec, what)
  if problem then api.fail(problem) end
  return value
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

--- api.test_options(opts, allowed, what) -> opts ({} for nil), or nil and the
-- message: opts must be a table whose keys are all in the set `allowed`; a
-- misspelled name gets a "did you mean" hint.
function api.test_options(opts, allowed, what)
  if opts == nil then return {} end
  if type(opts) ~= "table" or core.is_matrix(opts) then
    return nil, what .. " must be a table, got " .. describe(opts)
  end
  local names = {}
  for k in pairs(allowed) do names[#names + 1] = k end
  table.sort(names)
  for k in pairs(opts) do
    if type(k) ~= "string" then
      return nil, what .. " must be a table of named options, got key " .. describe(k)
    end
    if not allowed[k] then
      local best, best_d = nil, math.huge
      for _, n in ipairs(names) do
        local d = distance(k, n)
        if d < best_d then best, best_d = n, d end
      end
      local hint = (best and best_d <= math.max(2, #k // 3)) and (" (did you mean '" .. best .. "'?)") or ""
      return nil, string.format("unknown option '%s' in %s%s", k, what, hint)
    end
  end
  return opts
end

--- api.options(opts, allowed, what) -> opts, or {} for nil (see api.test_options); raises otherwise.
function api.options(opts, allowed, what)
  local o, problem = api.test_options(opts, allowed, what)
  if problem then api.fail(problem) end
  return o
end

return api
