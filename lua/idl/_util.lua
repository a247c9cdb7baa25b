--- Private helpers of the Lua modules: copies of tables of matrices, column
-- scaling, shell quoting and whole-file reads and atomic writes. Argument
-- checks and errors are idl._api's (one mechanism: the public name, the
-- caller's line).
-- @module idl._util

local core = require "idl.core"
local api = require "idl._api"

local util = {}

--- util.solve_tol(tol, precision) -> the tolerance an equilibrium solve in
-- that precision can be asked for: single precision reaches 1e-6 relative at
-- best (the solvers refuse less), so a tighter tol is raised to it there.
function util.solve_tol(tol, precision)
  return precision == "single" and math.max(tol, 1e-6) or tol
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

--- util.write_file(path, text) writes text to path atomically
-- (idl.write_file_atomic: a temporary beside path, every write and the close
-- checked, fsync, rename; on failure the old file is intact). Raises "cannot
-- write '<path>': <the system's reason>" through idl._api (the public
-- function's name, the caller's line).
function util.write_file(path, text)
  local ok, err = core.write_file_atomic(path, text)
  if not ok then api.fail(err) end
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
