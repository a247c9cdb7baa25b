--- Private helpers of the Lua modules: argument checks with messages that name
-- the function and the argument, and conversion of Lua tables to matrices.
-- Every error is raised at the level of the public function's caller, so the
-- user's line is blamed (`level` counts from the function that calls us).
-- @module idl._util

local core = require "idl.core"
local api = require "idl._api"

local util = {}

--- Raises "<fname>: <message>" through idl._api's one mechanism: the name
-- is that of the outermost public function on the stack (fname when there is
-- none) and the position is the caller's line; a message caught from another
-- error loses its position. `level` is ignored (kept until the last callers
-- that pass one are converted).
function util.fail(fname, message, _level)
  api.fail(api.unplace(message), fname)
end

-- The rules live in idl._api (one checker); these helpers raise their
-- messages the older way, with a name and a level, for the modules not yet
-- converted to api.public.
local describe = api.describe
util.describe = describe
util.first_nonfinite = api.first_nonfinite
util.is_rng = api.is_rng
util.MAX_DIM = api.MAX_DIM
util.MAX_ITERATIONS = api.MAX_ITERATIONS

-- Checks v against an idl._api spec; raises "<fname>: <message>" at `level`
-- (as seen from the public function) plus one for the helper calling us.
local function checked(v, spec, fname, what, level)
  local value, problem = api.test(v, spec, what)
  if problem then util.fail(fname, problem, level + 2) end
  return value
end

--- v as a matrix: a matrix is returned as it is (the caller must not write
-- into it); a flat Lua table {v1, v2, ...} becomes a column; a table of rows
-- {{...}, {...}} becomes a matrix with those rows. Errors name fname and what.
-- `finite` (default true) rejects NaN and infinities.
function util.as_matrix(v, fname, what, level, finite)
  local m = checked(v, {"matrix_like", finite = finite}, fname, what, level or 2)
  return m
end

--- Checks that v is a number (an integer when opts.integer) within
-- [opts.min, opts.max]; opts.gt gives a strict lower bound. Returns v.
function util.check_number(v, fname, what, opts, level)
  opts = opts or {}
  local n = checked(v, {"number", min = opts.min, max = opts.max, gt = opts.gt, integer = opts.integer},
    fname, what, level or 2)
  return n
end

--- Checks that v is an integer count in [min (default 0), util.MAX_ITERATIONS]
-- (a number of rounds, iterations or epochs). Returns it as a Lua integer.
-- (The helpers here keep their frame: `return f(...)` would be a tail call,
-- which drops a frame and puts the error one level too high.)
function util.check_count(v, fname, what, min, level)
  local n = checked(v, {"count", min = min}, fname, what, level or 2)
  return n
end

--- Checks that v is a matrix dimension: an integer in [min (default 0), util.MAX_DIM].
function util.check_dim(v, fname, what, min, level)
  local n = checked(v, {"dim", min = min}, fname, what, level or 2)
  return n
end

--- Checks that v is a table (not a matrix); returns it.
function util.check_table(v, fname, what, level)
  local t = checked(v, "table", fname, what, level or 2)
  return t
end

--- Checks that v is a string; returns it.
function util.check_string(v, fname, what, level)
  local s = checked(v, "string", fname, what, level or 2)
  return s
end

--- Checks that v is a function; returns it.
function util.check_function(v, fname, what, level)
  local f = checked(v, "function", fname, what, level or 2)
  return f
end

--- Checks that v is a matrix, rows x cols when these are given (nil: any),
-- with finite entries unless finite == false. Returns v.
function util.check_matrix(v, fname, what, rows, cols, level, finite)
  local m = checked(v, {"matrix", rows = rows, cols = cols, finite = finite}, fname, what, level or 2)
  return m
end

--- Checks that v is a generator from idl.rng(seed); returns it.
function util.check_rng(v, fname, what, level)
  local r = checked(v, "rng", fname, what or "rng", level or 2)
  return r
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

function util.check_boolean(v, fname, what, level)
  local b = checked(v, "boolean", fname, what, level or 2)
  return b
end

--- Checks that v is one of the strings of the array choices.
function util.check_choice(v, choices, fname, what, level)
  local c = checked(v, {"choice", choices = choices}, fname, what, level or 2)
  return c
end

--- Raises on any key of opts that is not in the set `allowed` (a table whose
-- keys are the valid names), suggesting the closest valid name.
-- `what` names the table ("options", "fit options").
function util.check_options(opts, allowed, fname, what, level)
  local o, problem = api.test_options(opts, allowed, what)
  if problem then util.fail(fname, problem, (level or 2) + 1) end
  return o
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

--- util.write_file(path, text, fname [, level]) writes text to path atomically
-- (idl.write_file_atomic: a temporary beside path, every write and the close
-- checked, fsync, rename; on failure the old file is intact). Raises
-- "<fname>: cannot write '<path>': <the system's reason>" blaming the caller
-- of the public function (level as in util.fail).
function util.write_file(path, text, fname, level)
  local ok, err = core.write_file_atomic(path, text)
  if not ok then util.fail(fname, err, (level or 2) + 1) end
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
