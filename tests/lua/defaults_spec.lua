-- defaults_spec.lua: idl.IDLModel{} with no options at all gives a model a
-- newcomer would keep: on a small noisy linear table about as good as the
-- linear fit it contains, on a small nonlinear one far better. The linear fit
-- is computed here, by the normal equations in plain Lua (not idl's solver).
local idl = require "idl"
local metrics = require "idl.metrics"

-- beta of min ||[X 1] beta - y||^2 by the normal equations (Gaussian
-- elimination with partial pivoting), as a predict function.
local function normal_equations_fit(X, y)
  local m, n = X:rows(), X:cols()
  local k = n + 1
  local A, b, row = {}, {}, {}
  for i = 1, k do
    A[i], b[i] = {}, 0
    for j = 1, k do A[i][j] = 0 end
  end
  for r = 1, m do
    for j = 1, n do row[j] = X:get(r, j) end
    row[k] = 1
    for i = 1, k do
      b[i] = b[i] + row[i] * y:get(r, 1)
      for j = 1, k do A[i][j] = A[i][j] + row[i] * row[j] end
    end
  end
  for c = 1, k do
    local p = c
    for r = c + 1, k do
      if math.abs(A[r][c]) > math.abs(A[p][c]) then p = r end
    end
    A[c], A[p], b[c], b[p] = A[p], A[c], b[p], b[c]
    for r = c + 1, k do
      local f = A[r][c] / A[c][c]
      for j = c, k do A[r][j] = A[r][j] - f * A[c][j] end
      b[r] = b[r] - f * b[c]
    end
  end
  local beta = {}
  for i = k, 1, -1 do
    local s = b[i]
    for j = i + 1, k do s = s - A[i][j] * beta[j] end
    beta[i] = s / A[i][i]
  end
  return function(Xt)
    local out = idl.zeros(Xt:rows(), 1)
    for r = 1, Xt:rows() do
      local s = beta[k]
      for j = 1, n do s = s + beta[j] * Xt:get(r, j) end
      out:set(r, 1, s)
    end
    return out
  end
end

-- m training and m test samples of 5 features U(-1, 1), y = fn(x) + N(0, noise^2).
local function table_of(seed, m, fn, noise)
  local rng = idl.rng(seed)
  local X = idl.rand(2 * m, 5, rng, -1, 1)
  local eps = idl.randn(2 * m, 1, rng, 0, noise)
  local y, row = idl.zeros(2 * m, 1), {}
  for i = 1, 2 * m do
    for j = 1, 5 do row[j] = X:get(i, j) end
    y:set(i, 1, fn(row) + eps:get(i, 1))
  end
  return X:sub(1, m, 1, 5):copy(), y:sub(1, m, 1, 1):copy(), X:sub(m + 1, 2 * m, 1, 5):copy(),
    y:sub(m + 1, 2 * m, 1, 1):copy()
end

local function linear(x) return x[1] - 2 * x[2] + 0.5 * x[3] + x[4] - x[5] end
local function nonlinear(x) return x[1] * x[2] + math.sin(3 * x[3]) + x[4] ^ 2 - 0.5 * x[5] end

-- test RMSE of IDLModel{} (no option but silence) and of the linear fit
local function rmses(seed, fn, noise)
  local Xtr, ytr, Xte, yte = table_of(seed, 300, fn, noise)
  local est = idl.IDLModel{verbosity = false}:fit(Xtr, ytr)
  return metrics.rmse(yte, est:predict(Xte)), metrics.rmse(yte, normal_equations_fit(Xtr, ytr)(Xte)), est
end

describe("idl.IDLModel{} with no options", function()
  it("on a noisy linear table scores within 5% of the linear fit", function()
    -- the noise (sd 1) is as large as the signal's spread: nothing but the
    -- linear part can be learnt, and the defaults start from it
    for seed = 0, 2 do
      local r, r_linear = rmses(seed, linear, 1.0)
      assert.is_true(r <= 1.05 * r_linear,
        string.format("seed %d: test RMSE %.4f, linear fit %.4f", seed, r, r_linear))
    end
  end)

  it("on a nonlinear table is far better than the linear fit", function()
    for seed = 0, 2 do
      local r, r_linear, est = rmses(100 + seed, nonlinear, 0.1)
      assert.is_true(r <= 0.5 * r_linear,
        string.format("seed %d: test RMSE %.4f, linear fit %.4f", seed, r, r_linear))
      -- the documented rule: 300 training samples -> max(30, 300 / 10) = 30
      -- units in each of the three models
      assert.are.equal(90, est.model.h)
    end
  end)

  it("follows the hidden size rule min(300, max(30, floor(m / 10)))", function()
    local schema = require "idl.estimator.schema"
    assert.are.same({30, 30, 45, 300, 300}, {schema.auto_hidden(1), schema.auto_hidden(309),
      schema.auto_hidden(459), schema.auto_hidden(3000), schema.auto_hidden(10 ^ 6)})
    -- an explicit value always wins
    local Xtr, ytr = table_of(1, 100, linear, 0.1)
    local est = idl.IDLModel{hidden_variables = 7, verbosity = false}:fit(Xtr, ytr, {rounds_number = 1})
    -- (100 samples: the mean of three models, whose hidden states it stacks)
    assert.are.equal(3, #est.members)
    for _, member in ipairs(est.members) do assert.are.equal(7, member.model.h) end
    assert.are.equal(21, est.model.h)
    assert.are.equal("auto", idl.IDLModel{}:get_params().hidden_variables)
  end)
end)
