--- Regression metrics: mse, rmse, mae, r2.
--
-- Rows are samples: y and y_hat are m x p matrices (or Lua tables: a flat table
-- is a column, a table of rows a matrix), as the estimator returns them. Each
-- function raises "<name>: ..." when the shapes differ or the data hold NaN or
-- infinities. Multi-output scores average over the p outputs, uniformly (as
-- scikit-learn's defaults do).
-- @module idl.metrics

local core = require "idl.core"
local util = require "idl._util"

local metrics = {}

local function pair(fname, y, y_hat)
  y = util.as_matrix(y, fname, "y", 3)
  y_hat = util.as_matrix(y_hat, fname, "y_hat", 3)
  if y:rows() ~= y_hat:rows() or y:cols() ~= y_hat:cols() then
    util.fail(fname, string.format("y is %dx%d, y_hat is %dx%d", y:rows(), y:cols(), y_hat:rows(),
      y_hat:cols()), 3)
  end
  if y:rows() == 0 or y:cols() == 0 then util.fail(fname, "y is empty", 3) end
  return y, y_hat
end

--- metrics.mse(y, y_hat) -> the mean of (y - y_hat)^2 over all entries.
-- Note: the report's "L2 loss" L = ||.||_F^2 / (2m) is mse * p / 2.
function metrics.mse(y, y_hat)
  y, y_hat = pair("mse", y, y_hat)
  local d = y_hat - y
  return d:norm("fro") ^ 2 / (d:rows() * d:cols())
end

--- metrics.rmse(y, y_hat) -> sqrt(mse).
function metrics.rmse(y, y_hat)
  y, y_hat = pair("rmse", y, y_hat)
  local d = y_hat - y
  return math.sqrt(d:norm("fro") ^ 2 / (d:rows() * d:cols()))
end

--- metrics.mae(y, y_hat) -> the mean of |y - y_hat| over all entries.
function metrics.mae(y, y_hat)
  y, y_hat = pair("mae", y, y_hat)
  local d = y_hat - y
  -- |d| = (d)_+ + (-d)_+: two vectorized passes instead of a Lua loop
  return (d:relu():sum() + (-d):relu():sum()) / (d:rows() * d:cols())
end

--- metrics.r2(y, y_hat) -> the coefficient of determination 1 - SS_res / SS_tot,
-- computed per output column and averaged. A constant column scores 1 when
-- predicted exactly and 0 otherwise (scikit-learn's convention).
function metrics.r2(y, y_hat)
  y, y_hat = pair("r2", y, y_hat)
  local m, p = y:rows(), y:cols()
  local d = y_hat - y
  local ss_res = d:hadamard(d):sum(1)                       -- 1 x p
  local mean = y:sum(1) / m                                 -- 1 x p
  local centered = y - core.ones(m, 1) * mean
  local ss_tot = centered:hadamard(centered):sum(1)
  local total = 0
  for j = 1, p do
    local res, tot = ss_res:get(1, j), ss_tot:get(1, j)
    if tot > 0 then
      total = total + (1 - res / tot)
    else
      total = total + (res == 0 and 1 or 0)
    end
  end
  return total / p
end

return metrics
