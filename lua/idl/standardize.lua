--- Standardization, in one place: per-feature means and scales, the
-- standardized data, and the parameters of an implicit model rewritten
-- between raw and standardized coordinates.
--
-- The engine's layout has samples in columns: rows(M) -> mean, scale (k x 1)
-- and standardize(M, mean, scale). data.Standardizer is the same for
-- rows-are-samples data (scikit-learn's layout). A model theta and its
-- standardized twin theta' (u = su .* u' + mu, y = sy .* y' + my) describe
-- the same function with the same hidden state X:
--   E' = E Su, f' = f + E mu, A' = Sy^-1 A, B' = Sy^-1 B Su,
--   c' = Sy^-1 (c + B mu - my), D' = D   (Su = diag(su), Sy = diag(sy)).
-- Training by implicit differentiation runs in standardized coordinates
-- (idl.train.implicit), the picard_ls initialization draws E and f for
-- standardized features (input_layer).
-- @module idl.standardize

local core = require "idl.core"
local api = require "idl._api"
local model_mod = require "idl.model"

local standardize = {}

--- standardize.row_scaler(M) -> mean, scale: the per-row mean and scale (population
-- standard deviation, 1 for a constant row, so that it maps to zero, not
-- NaN) of M (k x m, columns are samples), as k x 1 matrices.
local function rows(M)
  api.check(M, "matrix", "M")
  local m = M:cols()
  if m == 0 then api.fail("M has no columns (samples)") end
  local mean = M:sum(2) / m
  local C = M:copy()
  core.add_col(C, -1, mean)
  local scale = C:hadamard(C):sum(2) / m
  for i = 1, scale:rows() do
    local sd = math.sqrt(scale:get(i, 1))
    scale:set(i, 1, sd > 0 and sd or 1)
  end
  return mean, scale
end
standardize.row_scaler = api.public("idl.standardize.row_scaler", rows)

local function reciprocal(v)
  local r = v:copy()
  for i = 1, r:rows() do r:set(i, 1, 1 / r:get(i, 1)) end
  return r
end

--- standardize.standardize(M, mean, scale) -> (M - mean 1^T) ./ scale, row by
-- row (a new matrix).
standardize.standardize = api.public("idl.standardize.standardize", function(M, mean, scale)
  api.check(M, "matrix", "M")
  api.check(mean, {"matrix", rows = M:rows(), cols = 1}, "mean")
  api.check(scale, {"matrix", rows = M:rows(), cols = 1}, "scale")
  local S = M:copy()
  core.add_col(S, -1, mean)
  return core.scale_rows(S, reciprocal(scale))
end)

-- The standardizers sc = {u_mean, u_scale, y_mean, y_scale} for n inputs, p outputs.
local function check_scalers(sc, n, p)
  api.check(sc, "table", "sc")
  for _, k in ipairs{"u_mean", "u_scale", "y_mean", "y_scale"} do
    api.check(sc[k], {"matrix", rows = k:sub(1, 1) == "u" and n or p, cols = 1}, "sc." .. k)
  end
end

-- theta's n, h, p (its blocks checked).
local function theta_dims(theta, what)
  api.check(theta, "table", what)
  return model_mod.check_theta(theta)
end

--- standardize.to_standardized(theta, sc) -> theta' in standardized coordinates (new
-- matrices); sc = {u_mean, u_scale, y_mean, y_scale}.
standardize.to_standardized = api.public("idl.standardize.to_standardized", function(theta, sc)
  local n, _, p = theta_dims(theta, "theta")
  check_scalers(sc, n, p)
  local t = {D = theta.D:copy()}
  t.E = core.scale_cols(theta.E:copy(), sc.u_scale)
  t.f = theta.f + theta.E * sc.u_mean
  local inv_sy = reciprocal(sc.y_scale)
  t.A = core.scale_rows(theta.A:copy(), inv_sy)
  t.B = core.scale_rows(core.scale_cols(theta.B:copy(), sc.u_scale), inv_sy)
  t.c = core.scale_rows(theta.c + theta.B * sc.u_mean - sc.y_mean, inv_sy)
  return t
end)

--- standardize.from_standardized(ts, sc, theta) -> theta: theta'
-- (standardized) written back into theta in raw units, in place.
standardize.from_standardized = api.public("idl.standardize.from_standardized", function(ts, sc, theta)
  local n, h, p = theta_dims(ts, "ts")
  local n2, h2, p2 = theta_dims(theta, "theta")
  if n ~= n2 or h ~= h2 or p ~= p2 then
    api.failf("ts has n = %d, h = %d, p = %d, theta has n = %d, h = %d, p = %d", n, h, p, n2, h2, p2)
  end
  check_scalers(sc, n, p)
  local inv_su = reciprocal(sc.u_scale)
  core.copy(theta.D, ts.D)
  core.copy(theta.E, core.scale_cols(ts.E:copy(), inv_su))
  core.copy(theta.f, ts.f - theta.E * sc.u_mean)
  core.copy(theta.A, core.scale_rows(ts.A:copy(), sc.y_scale))
  core.copy(theta.B, core.scale_rows(core.scale_cols(ts.B:copy(), inv_su), sc.y_scale))
  core.copy(theta.c, core.scale_rows(ts.c:copy(), sc.y_scale) + sc.y_mean - theta.B * sc.u_mean)
  return theta
end)

--- standardize.input_layer(theta, U): E and f, drawn for standardized inputs
-- u' = (u - mu) ./ su, rewritten in place for raw u (E u + f = E' u' + f':
-- E = E' diag(1/su), f = f' - E mu), the input half of from_standardized.
standardize.input_layer = api.public("idl.standardize.input_layer", function(theta, U)
  api.check(theta, "table", "theta")
  local E = api.check(theta.E, "matrix", "theta.E")
  api.check(theta.f, {"matrix", rows = E:rows(), cols = 1}, "theta.f")
  api.check(U, {"matrix", rows = E:cols()}, "U")
  return standardize.input_layer_from(theta, rows(U))
end)

--- standardize.input_layer_from(theta, mean, scale): input_layer with the
-- inputs' per-feature mean and scale given (n x 1 matrices; from a streamed
-- pass, idl.data.CSVSource:stats, when the data are not in memory).
standardize.input_layer_from = api.public("idl.standardize.input_layer_from", function(theta, mean, scale)
  api.check(theta, "table", "theta")
  local E = api.check(theta.E, "matrix", "theta.E")
  api.check(theta.f, {"matrix", rows = E:rows(), cols = 1}, "theta.f")
  api.check(mean, {"matrix", rows = E:cols(), cols = 1}, "mean")
  api.check(scale, {"matrix", rows = E:cols(), cols = 1, finite = true}, "scale")
  core.scale_cols(theta.E, reciprocal(scale))
  core.gemm(theta.f, theta.E, mean, -1, 1)
  return theta
end)

-- ---------------------------------------------------------------------------
-- Rows are samples (data.Standardizer)

local Standardizer = {}
Standardizer.__index = Standardizer
standardize.Standardizer = Standardizer

--- standardize.new() -> a Standardizer: fit(X), transform(X),
-- inverse_transform(Z), fit_transform(X) for X m x n (rows are samples).
-- After fit, s.mean and s.scale are 1 x n matrices (per column: the mean and
-- the population standard deviation, 1 for a constant column), standardize.row_scaler
-- of X^T.
standardize.new = api.public("idl.data.Standardizer", function()
  return setmetatable({}, Standardizer)
end)

--- s:fit(X) -> s: the per-column mean and scale of X (rows are samples).
Standardizer.fit = api.method(Standardizer, "idl.data.Standardizer:fit", function(self, X)
  X = api.check(X, "matrix_like", "X")
  if X:rows() == 0 then api.fail("X is empty") end
  local mean, scale = rows(X:t())
  self.mean, self.scale = mean:t(), scale:t()
  return self
end)

local function check_fitted(self, X)
  if not self.mean then api.fail("the standardizer is not fitted: call fit(X) first") end
  X = api.check(X, "matrix_like", "X")
  if X:cols() ~= self.mean:cols() then
    api.failf("X has %d columns, the standardizer was fitted on %d", X:cols(), self.mean:cols())
  end
  return X
end

--- s:transform(X) -> (X - mean) ./ scale, a new matrix.
Standardizer.transform = api.method(Standardizer, "idl.data.Standardizer:transform", function(self, X)
  X = check_fitted(self, X)
  local Z = X:t()
  core.add_col(Z, -1, self.mean:t())
  return core.scale_rows(Z, reciprocal(self.scale:t())):t()
end)

--- s:inverse_transform(Z) -> Z .* scale + mean, a new matrix.
Standardizer.inverse_transform = api.method(Standardizer, "idl.data.Standardizer:inverse_transform",
  function(self, Z)
  Z = check_fitted(self, Z)
  local X = Z:t()
  core.scale_rows(X, self.scale:t())
  core.add_col(X, 1, self.mean:t())
  return X:t()
end)

--- s:fit_transform(X) -> s:fit(X):transform(X).
Standardizer.fit_transform = api.method(Standardizer, "idl.data.Standardizer:fit_transform",
  function(self, X)
  return self:fit(X):transform(X)
end)

return standardize
