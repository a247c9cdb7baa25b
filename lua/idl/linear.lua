--- The closed-form linear-regression baseline: y ~ X W + 1 b, by least squares
-- (optionally ridge), the comparison the report makes in sections 6 and 7.
--
--     local lr = idl.LinearRegression{ridge = 0}:fit(X, y)
--     local y_hat = lr:predict(X_test)          -- m x p
--     print(lr:score(X_test, y_test))          -- R^2
--
-- Rows are samples (X m x n, y m x p or a vector), as for idl.IDLModel.
-- The intercept is not penalized: X and y are centered, W solves the (ridge)
-- least squares on the centered data (idl.lstsq: SVD when ridge = 0, so
-- collinear features are fine), b = mean(y) - mean(X) W.
-- @module idl.linear

local core = require "idl.core"
local util = require "idl._util"
local metrics = require "idl.metrics"

local linear = {}

local LinearRegression = {}
LinearRegression.__index = LinearRegression

local OPTIONS = {ridge = true}

--- idl.LinearRegression{ridge = 0} -> an unfitted linear model.
function linear.LinearRegression(opts)
  opts = util.check_options(opts, OPTIONS, "LinearRegression", "options")
  local ridge = opts.ridge == nil and 0 or
    util.check_number(opts.ridge, "LinearRegression", "ridge", {min = 0})
  return setmetatable({ridge = ridge}, LinearRegression)
end

--- lr:get_params() -> {ridge = lr.ridge}: the parameters that rebuild an
-- unfitted copy (idl.LinearRegression(lr:get_params()), model_selection.clone).
function LinearRegression:get_params()
  util.check_self(self, LinearRegression, "LinearRegression:get_params")
  return {ridge = self.ridge}
end

local function inputs(fname, X, y)
  X = util.as_matrix(X, fname, "X", 3)
  if X:rows() == 0 or X:cols() == 0 then util.fail(fname, "X is empty", 3) end
  if y == nil then return X end
  y = util.as_matrix(y, fname, "y", 3)
  if y:rows() ~= X:rows() then
    util.fail(fname, string.format("X has %d rows (samples), y has %d", X:rows(), y:rows()), 3)
  end
  return X, y
end

--- lr:fit(X, y) -> lr, with lr.coef (n x p) and lr.intercept (1 x p).
function LinearRegression:fit(X, y)
  util.check_self(self, LinearRegression, "LinearRegression:fit")
  X, y = inputs("fit", X, y)
  if y == nil then util.fail("fit", "y is missing") end
  local m = X:rows()
  local ones = core.ones(m, 1)
  local x_mean, y_mean = X:sum(1) / m, y:sum(1) / m
  local xc, yc = X - ones * x_mean, y - ones * y_mean
  self.coef = core.lstsq(xc, yc, self.ridge)
  self.intercept = y_mean - x_mean * self.coef
  return self
end

--- lr:predict(X) -> X coef + 1 intercept (m x p).
function LinearRegression:predict(X)
  util.check_self(self, LinearRegression, "LinearRegression:predict")
  if not self.coef then util.fail("predict", "the model is not fitted: call fit(X, y) first") end
  X = inputs("predict", X)
  if X:cols() ~= self.coef:rows() then
    util.fail("predict", string.format("X has %d columns (features), the model was fitted on %d",
      X:cols(), self.coef:rows()))
  end
  return X * self.coef + core.ones(X:rows(), 1) * self.intercept
end

--- lr:score(X, y) -> R^2 of the predictions on (X, y).
function LinearRegression:score(X, y)
  util.check_self(self, LinearRegression, "LinearRegression:score")
  if not self.coef then util.fail("score", "the model is not fitted: call fit(X, y) first") end
  X, y = inputs("score", X, y)
  if y == nil then util.fail("score", "y is missing") end
  if X:cols() ~= self.coef:rows() then
    util.fail("score", string.format("X has %d columns (features), the model was fitted on %d",
      X:cols(), self.coef:rows()))
  end
  if y:cols() ~= self.coef:cols() then
    util.fail("score", string.format("y has %d columns (outputs), the model was fitted on %d",
      y:cols(), self.coef:cols()))
  end
  return metrics.r2(y, self:predict(X))
end

linear.class = LinearRegression

return linear
