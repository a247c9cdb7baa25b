--- The data fit, predict and score take, checked at the estimator's boundary
-- (rows are samples), and what fit derives from it before training: the
-- early-stopping hold-out, the memory check of hidden_variables and the
-- starting dual variable.
-- @module idl.estimator.inputs

local core = require "idl.core"
local api = require "idl._api"

local inputs = {}

--- inputs.x(X, what) -> X (m x n, rows are samples) as a matrix, checked; `what` names it.
function inputs.x(X, what)
  if X == nil then api.fail(what .. " is missing") end
  if require("idl.stream").is_source(X) then
    api.fail(what .. " is a data source: fit and predict take one, not this function (yet)")
  end
  local M = api.check(X, "matrix_like", what)
  if M:rows() == 0 or M:cols() == 0 then
    api.fail(string.format("%s is empty (%dx%d)", what, M:rows(), M:cols()))
  end
  return M
end

--- inputs.y(y, m, what, xwhat) -> y (m x p or a vector) as a matrix, checked
-- against the m rows of the X named `xwhat`.
function inputs.y(y, m, what, xwhat)
  if y == nil then api.fail(what .. " is missing") end
  local M = api.check(y, "matrix_like", what)
  if M:rows() == 0 or M:cols() == 0 then
    api.fail(string.format("%s is empty (%dx%d)", what, M:rows(), M:cols()))
  end
  if M:rows() ~= m then
    api.fail(string.format("%s has %d rows (samples), %s has %d: one target row per sample",
      xwhat, m, what, M:rows()))
  end
  return M
end

--- inputs.eval_set(es, Xm, ym) -> {U =, Y =} (columns are samples): fit's
-- eval_set {X_eval, y_eval}, checked against the training X and y.
function inputs.eval_set(es, Xm, ym)
  local Xe = inputs.x(es[1], "eval_set[1]")
  if Xe:cols() ~= Xm:cols() then
    api.fail(string.format("eval_set[1] has %d columns (features), X has %d", Xe:cols(), Xm:cols()))
  end
  local ye = inputs.y(es[2], Xe:rows(), "eval_set[2]", "eval_set[1]")
  if ye:cols() ~= ym:cols() then
    api.fail(string.format("eval_set[2] has %d columns (outputs), y has %d", ye:cols(), ym:cols()))
  end
  return {U = Xe:t(), Y = ye:t()}
end

--- inputs.hold_out(U, Y, fraction, seed) -> U, Y, eval: splits the columns of
-- (U, Y) at random (seeded): the last `fraction` of a permutation becomes the
-- early-stopping set, kept out of training (eval nil when it would be empty
-- or take every sample).
function inputs.hold_out(U, Y, fraction, seed)
  local m = U:cols()
  local k = math.floor(m * fraction + 0.5)
  if k < 1 or k >= m then return U, Y, nil end
  local perm = core.rng(seed):permutation(m)
  local train_idx, eval_idx = table.move(perm, 1, m - k, 1, {}), table.move(perm, m - k + 1, m, 1, {})
  return U:select_cols(train_idx), Y:select_cols(train_idx),
    {U = U:select_cols(eval_idx), Y = Y:select_cols(eval_idx)}
end

--- inputs.holdout_fraction(holdout, m) -> the fraction a trainer's declared
-- holdout (idl.trainers.register) holds out of m training samples: a
-- fraction, or steps {{m1, f1}, {m2, f2}, ...} (the last with mi <= m).
function inputs.holdout_fraction(holdout, m)
  if type(holdout) == "number" then return holdout end
  local fraction = 0
  for _, step in ipairs(holdout) do
    if m >= step[1] then fraction = step[2] end
  end
  return fraction
end

-- The machine's memory in bytes (MemTotal of /proc/meminfo), or nil when unknown.
local function machine_memory()
  local f = io.open("/proc/meminfo")
  if not f then return nil end
  local text = f:read("a") or ""
  f:close()
  local kb = text:match("MemTotal:%s*(%d+)%s*kB")
  return kb and tonumber(kb) * 1024
end

--- inputs.check_size(h, n, m): refuses, before any allocation, a
-- hidden_variables whose matrices cannot fit in memory: D (h x h), E (h x n)
-- and the hidden states of the m samples (h x m), which training holds a few
-- times over (X, its equilibrium, steps).
function inputs.check_size(h, n, m)
  local hf = h + 0.0 -- in floating point: h * h overflows the integers for h > 3e9
  local bytes = 8 * (hf * hf + hf * n + 4 * hf * m)
  local ram = machine_memory()
  if ram and bytes > ram then
    api.failf("hidden_variables = %d needs at least %.3g GB (D is h x h, the hidden states h x %d "
      .. "samples), the machine has %.3g GB", h, bytes / 1e9, m, ram / 1e9)
  end
end

--- inputs.starting_lambda(params, h) -> lambda0 (h x 1, a new matrix) from
-- the starting_lambda parameter (nil: tol_fenchel * 1).
function inputs.starting_lambda(params, h)
  local v = params.starting_lambda
  if v == nil then return core.full(h, 1, params.tol_fenchel) end
  if type(v) == "number" then return core.full(h, 1, v) end
  if v:rows() ~= h or v:cols() ~= 1 then
    api.fail(string.format("starting_lambda is %dx%d, expected %dx1 (hidden_variables = %d)",
      v:rows(), v:cols(), h, h))
  end
  return v:copy()
end

return inputs
