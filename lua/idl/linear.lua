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
local api = require "idl._api"
local metrics = require "idl.metrics"

local linear = {}

local LinearRegression = {}
LinearRegression.__index = LinearRegression

local OPTIONS = {ridge = true}

--- idl.LinearRegression{ridge = 0} -> an unfitted linear model.
linear.LinearRegression = api.public("idl.LinearRegression", function(opts)
  opts = api.options(opts, OPTIONS, "parameters")
  local ridge = opts.ridge == nil and 0 or api.check(opts.ridge, {"number", min = 0}, "ridge")
  return setmetatable({ridge = ridge}, LinearRegression)
end)

--- lr:get_params() -> {ridge = lr.ridge}: the parameters that rebuild an
-- unfitted copy (idl.LinearRegression(lr:get_params()), model_selection.clone).
LinearRegression.get_params = api.method(LinearRegression, "idl.LinearRegression:get_params", function(self)
  return {ridge = self.ridge}
end)

local function inputs(X, y)
  X = api.check(X, "matrix_like", "X")
  if X:rows() == 0 or X:cols() == 0 then api.fail("X is empty") end
  if y == nil then return X end
  y = api.check(y, "matrix_like", "y")
  if y:rows() ~= X:rows() then api.failf("X has %d rows (samples), y has %d", X:rows(), y:rows()) end
  return X, y
end

--- lr:fit(X, y) -> lr, with lr.coef (n x p) and lr.intercept (1 x p).
LinearRegression.fit = api.method(LinearRegression, "idl.LinearRegression:fit", function(self, X, y)
  X, y = inputs(X, y)
  if y == nil then api.fail("y is missing") end
  local m = X:rows()
  local ones = core.ones(m, 1)
  local x_mean, y_mean = X:sum(1) / m, y:sum(1) / m
  local xc, yc = X - ones * x_mean, y - ones * y_mean
  self.coef = core.lstsq(xc, yc, self.ridge)
  self.intercept = y_mean - x_mean * self.coef
  return self
end)

--- lr:predict(X) -> X coef + 1 intercept (m x p).
LinearRegression.predict = api.method(LinearRegression, "idl.LinearRegression:predict", function(self, X)
  if not self.coef then api.fail("the model is not fitted: call fit(X, y) first") end
  X = inputs(X)
  api.check_features(X, self.coef:rows())
  return X * self.coef + core.ones(X:rows(), 1) * self.intercept
end)

--- lr:score(X, y) -> R^2 of the predictions on (X, y).
LinearRegression.score = api.method(LinearRegression, "idl.LinearRegression:score", function(self, X, y)
  if not self.coef then api.fail("the model is not fitted: call fit(X, y) first") end
  X, y = inputs(X, y)
  if y == nil then api.fail("y is missing") end
  api.check_features(X, self.coef:rows())
  if y:cols() ~= self.coef:cols() then
    api.failf("y has %d columns (outputs), the model was fitted on %d", y:cols(), self.coef:cols())
  end
  return metrics.r2(y, self:predict(X))
end)

linear.class = LinearRegression

return linear
