-- metrics_spec.lua: idl.metrics against plain-loop definitions, and the
-- linear-regression baseline against the normal equations.
local idl = require "idl"
local metrics = require "idl.metrics"

local function ref(y, yh)
  local m, p = y:rows(), y:cols()
  local se, ae = 0, 0
  local r2 = 0
  for j = 1, p do
    local mean = 0
    for i = 1, m do mean = mean + y:get(i, j) end
    mean = mean / m
    local res, tot = 0, 0
    for i = 1, m do
      local d = yh:get(i, j) - y:get(i, j)
      se, ae = se + d * d, ae + math.abs(d)
      res, tot = res + d * d, tot + (y:get(i, j) - mean) ^ 2
    end
    r2 = r2 + 1 - res / tot
  end
  return se / (m * p), ae / (m * p), r2 / p
end

describe("idl.metrics", function()
  local rng = idl.rng(3)
  local y = idl.randn(50, 3, rng)
  local yh = y + idl.randn(50, 3, rng, 0, 0.3)

  it("agree with loop definitions (multi-output)", function()
    local mse, mae, r2 = ref(y, yh)
    assert.is_near(mse, metrics.mse(y, yh), 1e-12)
    assert.is_near(math.sqrt(mse), metrics.rmse(y, yh), 1e-12)
    assert.is_near(mae, metrics.mae(y, yh), 1e-12)
    assert.is_near(r2, metrics.r2(y, yh), 1e-12)
  end)

  it("accept Lua tables and give exact small cases", function()
    assert.are.equal(4 / 3, metrics.mse({1, 2, 3}, {1, 2, 5}))
    assert.are.equal(2 / 3, metrics.mae({1, 2, 3}, {1, 2, 5}))
    assert.are.equal(1, metrics.r2({1, 2, 3}, {1, 2, 3}))
    assert.are.equal(0, metrics.r2({1, 2, 3}, {2, 2, 2}))
    -- a constant column: 1 when predicted exactly, 0 otherwise
    assert.are.equal(1, metrics.r2({5, 5}, {5, 5}))
    assert.are.equal(0, metrics.r2({5, 5}, {5, 6}))
  end)

  it("name bad inputs", function()
    assert.has_error(function() metrics.mse({1, 2}, {1, 2, 3}) end, "idl.metrics.mse: y is 2x1, y_hat is 3x1")
    assert.has_error(function() metrics.rmse("a", {1}) end,
      "idl.metrics.rmse: y must be a matrix or a Lua table, got string")
    assert.has_error(function() metrics.r2({1, 0 / 0}, {1, 2}) end,
      "idl.metrics.r2: y has a NaN or infinite entry at (2, 1)")
    assert.has_error(function() metrics.mae({}, {}) end, "idl.metrics.mae: y is empty")
  end)
end)

describe("idl.LinearRegression", function()
  it("recovers an exact linear relation with intercept", function()
    local rng = idl.rng(5)
    local X = idl.randn(40, 3, rng)
    local W = idl.from_table{{1, -1}, {2, 0.5}, {-3, 0}}
    local b = idl.from_table{{0.25, -2}}
    local y = X * W + idl.ones(40, 1) * b
    local lr = idl.LinearRegression():fit(X, y)
    assert.is_true(idl.equal(lr.coef, W, 1e-10))
    assert.is_true(idl.equal(lr.intercept, b, 1e-10))
    assert.is_near(1, lr:score(X, y), 1e-12)
  end)

  it("solves the centered normal equations with a ridge that spares the intercept", function()
    local rng = idl.rng(6)
    local X = idl.randn(30, 2, rng, 3, 2)
    local y = idl.randn(30, 1, rng)
    local lr = idl.LinearRegression{ridge = 2}:fit(X, y)
    -- gradient of ||X w + b - y||^2 + 2 ||w||^2 vanishes in w and b
    local r = X * lr.coef + idl.ones(30, 1) * lr.intercept - y
    local gw = X:t() * r + lr.coef * 2
    assert.is_true(gw:norm("max") < 1e-9)
    assert.is_true(math.abs(r:sum()) < 1e-9)
  end)

  it("names bad inputs", function()
    local lr = idl.LinearRegression()
    assert.has_error(function() lr:predict({{1}}) end,
      "idl.LinearRegression:predict: the model is not fitted: call fit(X, y) first")
    assert.has_error(function() lr:fit({{1}, {2}}, {1, 2, 3}) end,
      "idl.LinearRegression:fit: X has 2 rows (samples), y has 3")
    assert.has_error(function() idl.LinearRegression{rige = 1} end,
      "idl.LinearRegression: unknown option 'rige' in parameters (did you mean 'ridge'?)")
    assert.has_error(function() idl.LinearRegression{ridge = -1} end,
      "idl.LinearRegression: ridge must be >= 0, got -1")
    lr:fit({{1}, {2}, {3}}, {1, 2, 3})
    assert.has_error(function() lr:predict({{1, 2}}) end,
      "idl.LinearRegression:predict: X has 2 columns (features), the model was fitted on 1")
  end)
end)
