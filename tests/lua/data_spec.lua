-- data_spec.lua: split, standardizer and the report's generators, checked
-- against their definitions.
local idl = require "idl"
local data = require "idl.data"

local function column(m, j)
  local t = {}
  for i = 1, m:rows() do t[i] = m:get(i, j or 1) end
  return t
end

describe("idl.data.train_test_split", function()
  local X = idl.zeros(20, 2)
  local y = idl.zeros(20, 1)
  for i = 1, 20 do X:set(i, 1, i); X:set(i, 2, -i); y:set(i, 1, 10 * i) end

  it("keeps rows together and covers every row once", function()
    local Xtr, Xte, ytr, yte = data.train_test_split(X, y, {test_size = 0.25, rng = idl.rng(1)})
    assert.are.equal(15, Xtr:rows()); assert.are.equal(5, Xte:rows())
    local seen = {}
    for _, pair in ipairs{{Xtr, ytr}, {Xte, yte}} do
      for i = 1, pair[1]:rows() do
        local k = pair[1]:get(i, 1)
        assert.are.equal(-k, pair[1]:get(i, 2))
        assert.are.equal(10 * k, pair[2]:get(i, 1))
        assert.is_nil(seen[k]); seen[k] = true
      end
    end
    for k = 1, 20 do assert.is_true(seen[k]) end
  end)

  it("is deterministic for a seed and takes the last rows without shuffling", function()
    local a = data.train_test_split(X, y, {rng = idl.rng(7)})
    local b = data.train_test_split(X, y, {rng = idl.rng(7)})
    assert.is_true(idl.equal(a, b))
    local _, Xte = data.train_test_split(X, nil, {test_size = 3, shuffle = false})
    assert.are.same({18, 19, 20}, column(Xte))
  end)

  it("names bad arguments", function()
    assert.has_error(function() data.train_test_split(X, idl.zeros(3, 1)) end,
      "idl.data.train_test_split: X has 20 rows (samples), y has 3")
    assert.has_error(function() data.train_test_split(X, y, {test_size = 20}) end,
      "idl.data.train_test_split: test_size 20 leaves 20 test rows of 20: need 1 <= test rows < 20")
    assert.has_error(function() data.train_test_split(X, y, {test_frac = 0.2}) end,
      "idl.data.train_test_split: unknown option 'test_frac' in options")
  end)
end)

describe("idl.data.Standardizer", function()
  it("centers and scales each column, remembers it, and inverts", function()
    local rng = idl.rng(2)
    local X = idl.hcat(idl.randn(100, 2, rng, 5, 3), idl.full(100, 1, 4))
    local s = data.Standardizer()
    local Z = s:fit_transform(X)
    for j = 1, 2 do
      local t = column(Z, j)
      local mean, sq = 0, 0
      for i = 1, 100 do mean = mean + t[i] end
      for i = 1, 100 do sq = sq + t[i] ^ 2 end
      assert.is_near(0, mean / 100, 1e-12)
      assert.is_near(1, sq / 100, 1e-12)
    end
    assert.are.equal(0, Z:sub(1, 100, 3, 3):norm("max"))  -- constant column -> 0, not NaN
    assert.are.equal(1, s.scale:get(1, 3))
    assert.is_true(idl.equal(s:inverse_transform(Z), X, 1e-12))
    -- new data uses the remembered parameters
    local x2 = idl.from_table{{5, 5, 4}}
    local z2 = s:transform(x2)
    assert.is_near((5 - s.mean:get(1, 1)) / s.scale:get(1, 1), z2:get(1, 1), 1e-12)
    assert.has_error(function() s:transform(idl.zeros(2, 2)) end,
      "idl.data.Standardizer:transform: X has 2 columns, the standardizer was fitted on 3")
    assert.has_error(function() data.Standardizer():transform(X) end,
      "idl.data.Standardizer:transform: the standardizer is not fitted: call fit(X) first")
  end)
end)

describe("the report's generators", function()
  it("linear: y = a x + noise with x in [0, 1)", function()
    local X, y = data.linear(4000, idl.rng(1), {a = 2, noise = 0.5})
    local res, sq = 0, 0
    for i = 1, 4000 do
      local x = X:get(i, 1)
      assert.is_true(x >= 0 and x < 1)
      local e = y:get(i, 1) - 2 * x
      res, sq = res + e, sq + e * e
    end
    assert.is_true(math.abs(res / 4000) < 0.05)
    assert.is_near(0.5, math.sqrt(sq / 4000), 0.03)
  end)

  it("sin: y = sin x + noise with x in [0, 2 pi)", function()
    local X, y = data.sin(4000, idl.rng(2), {noise = 0.1})
    local sq = 0
    for i = 1, 4000 do
      local x = X:get(i, 1)
      assert.is_true(x >= 0 and x < 2 * math.pi)
      sq = sq + (y:get(i, 1) - math.sin(x)) ^ 2
    end
    assert.is_near(0.1, math.sqrt(sq / 4000), 0.01)
    local X2 = data.sin(10, idl.rng(2), {noise = 0.1})
    assert.is_true(idl.equal(X2, X:sub(1, 10, 1, 1)))
  end)

  it("gaussian_classes: uniform classes, each N(its mean, I) in the informative features", function()
    local m = 6000
    local X, labels, means = data.gaussian_classes(m, idl.rng(5), {classes = 3, n = 5, informative = 2})
    assert.are.equal(3, means:rows()); assert.are.equal(2, means:cols())
    local count, sum, sq = {0, 0, 0}, {}, {}
    for c = 1, 3 do sum[c], sq[c] = {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0} end
    for i = 1, m do
      local c = labels[i] + 1
      count[c] = count[c] + 1
      for j = 1, 5 do
        local shift = j <= 2 and means:get(c, j) or 0
        sum[c][j] = sum[c][j] + X:get(i, j)
        sq[c][j] = sq[c][j] + (X:get(i, j) - shift) ^ 2
      end
    end
    for c = 1, 3 do
      assert.is_near(m / 3, count[c], 4 * math.sqrt(m / 3)) -- binomial sd ~ sqrt(m p (1 - p))
      for j = 1, 5 do
        local want = j <= 2 and means:get(c, j) or 0
        assert.is_near(want, sum[c][j] / count[c], 4 / math.sqrt(count[c]))
        assert.is_near(1, sq[c][j] / count[c], 0.1)
      end
    end
    -- the same means give more samples of the same table
    local _, _, again = data.gaussian_classes(10, idl.rng(9),
      {classes = 3, n = 5, informative = 2, means = means})
    assert.is_true(idl.equal(again, means))
  end)

  it("sparse_random: the requested number of entries, uniform on [0, 1)", function()
    local M = data.sparse_random(30, 20, 0.1, idl.rng(3))
    local nz = 0
    for i = 1, 30 do
      for j = 1, 20 do
        local v = M:get(i, j)
        assert.is_true(v >= 0 and v < 1)
        if v ~= 0 then nz = nz + 1 end
      end
    end
    assert.are.equal(60, nz)
  end)

  it("implicit: outputs of a well-posed implicit model with sparse parameters", function()
    assert.is_function(idl.equilibrium)
    local X, y, theta = data.implicit(200, idl.rng(4), {n = 3, h = 20, p = 2, density = 0.3, kappa = 0.8})
    assert.are.equal(200, X:rows()); assert.are.equal(3, X:cols())
    assert.are.equal(200, y:rows()); assert.are.equal(2, y:cols())
    assert.is_true(theta.D:norm("inf") <= 0.8 + 1e-12)
    -- independent check: iterate the fixed point to convergence in plain matrix ops
    local U = X:t()
    local H = idl.zeros(20, 200)
    local B0 = theta.E * U
    idl.add_col(B0, 1, theta.f)
    for _ = 1, 400 do H = (theta.D * H + B0):relu() end
    local Y = theta.A * H + theta.B * U
    idl.add_col(Y, 1, theta.c)
    assert.is_true(idl.equal(Y:t(), y, 1e-10 * math.max(1, y:norm("max"))))
  end)
end)
