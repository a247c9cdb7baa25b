-- readout_loo_spec.lua: the readout whose ridge is chosen by leave-one-out
-- (idl.readout_loo, initializers.least_squares_abc(..., "loo"), the "loo"
-- ridge of the linear and picard_ls starts). The core's LOO errors are checked
-- against brute-force refits in tests/c/test_relaxed.c; here, brute force once
-- more through the Lua face, what the chosen ridge means, and the errors.
local idl = require "idl"
local init = require "idl.initializers"

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok)
  return (tostring(msg):gsub("^.-:%d+: ", ""))
end

local function readout_theta(p, h, n)
  return {A = idl.zeros(p, h), B = idl.zeros(p, n), c = idl.zeros(p, 1)}
end

-- Samples 1..m but i, as the columns of M.
local function without(M, i)
  local idx = {}
  for j = 1, M:cols() do if j ~= i then idx[#idx + 1] = j end end
  return M:select_cols(idx)
end

-- y = u1 - 2 u2 + noise_sd * N(0, 1) over n = 3 features, m samples.
local function linear_problem(m, noise_sd, seed)
  local rng = idl.rng(seed)
  local U = idl.randn(3, m, rng)
  local Y = idl.from_table{{1, -2, 0}} * U + idl.randn(1, m, rng, 0, noise_sd)
  return U, Y
end

describe("idl.readout_loo", function()
  it("gives the mean squared error of the refits without each sample (no hidden units)", function()
    -- with X of 0 rows the features are U alone; each refit without sample i
    -- keeps the penalty of all m samples (relaxed.h), which is an absolute
    -- ridge r_k on feature k: brute force with idl.solve on [U; 1]
    local U, Y = linear_problem(25, 1.0, 7)
    local m, grid = U:cols(), {1e-3, 1e-1, 3}
    local t = readout_theta(1, 0, 3)
    local _, loo = idl.readout_loo(t, idl.zeros(0, m), U, Y, grid)
    local mean = U:sum(2) / m
    local floor_sum = 0
    local ss = {}
    for k = 1, 3 do
      ss[k] = 0
      for j = 1, m do ss[k] = ss[k] + (U:get(k, j) - mean:get(k, 1)) ^ 2 end
      floor_sum = floor_sum + ss[k]
    end
    for g, ridge in ipairs(grid) do
      local total = 0
      for i = 1, m do
        local S = idl.vcat(without(U, i), idl.ones(1, m - 1))
        local G = S * S:t()
        for k = 1, 3 do G:set(k, k, G:get(k, k) + ridge * (ss[k] + 1e-12 * floor_sum / 3)) end
        local w = idl.solve(G, S * without(Y, i):t())
        local s_i = idl.vcat(U:sub(1, 3, i, i), idl.ones(1, 1))
        total = total + ((w:t() * s_i):get(1, 1) - Y:get(1, i)) ^ 2
      end
      assert.is_true(math.abs(loo[g] - total / m) <= 1e-9 * total / m, "ridge " .. ridge)
    end
  end)

  it("fits idl.readout's model at the least LOO error of the grid", function()
    local rng = idl.rng(3)
    local X, U = idl.rand(4, 40, rng), idl.randn(2, 40, rng)
    local Y = idl.randn(2, 40, rng)
    local t = readout_theta(2, 4, 2)
    local grid = {1e-6, 1e-3, 1e-1, 10}
    local ridge, loo, best = idl.readout_loo(t, X, U, Y, grid)
    assert.are.equal(grid[best], ridge)
    for g = 1, #grid do assert.is_true(loo[g] >= loo[best]) end
    local want = readout_theta(2, 4, 2)
    idl.readout(want, X, U, Y, ridge)
    for _, k in ipairs{"A", "B", "c"} do assert.is_true(idl.equal(t[k], want[k], 1e-10), k) end
  end)

  it("chooses the least ridge without noise and a large one for a target unrelated to the data", function()
    local U, Y = linear_problem(200, 0, 1)
    local _, ridge = init.least_squares_abc(readout_theta(1, 0, 3), idl.zeros(0, 200), U, Y, "loo")
    assert.are.equal(init.RIDGE_GRID[1], ridge)
    local noise = idl.randn(1, 200, idl.rng(9))
    local _, ridge_noise = init.least_squares_abc(readout_theta(1, 0, 3), idl.zeros(0, 200), U, noise, "loo")
    assert.is_true(ridge_noise >= 1, "ridge " .. ridge_noise)
  end)

  it("is the linear start's ridge = \"loo\": the same B as the readout at the chosen ridge", function()
    local U, Y = linear_problem(60, 2.0, 4)
    local theta = init.linear({U = U, Y = Y, h = 5}, idl.rng(1), {ridge = "loo"})
    local t = readout_theta(1, 0, 3)
    local _, ridge = init.least_squares_abc(t, idl.zeros(0, 60), U, Y, "loo")
    assert.is_true(ridge > init.RIDGE_GRID[1])   -- noisy: some shrinkage pays
    assert.is_true(idl.equal(theta.B, t.B, 1e-12))
    assert.are.equal(0, theta.A:norm("max"))
  end)

  it("refuses bad grids, too few samples and bad ridge options", function()
    local U, Y = linear_problem(10, 1, 2)
    local t, X0 = readout_theta(1, 0, 3), idl.zeros(0, 10)
    assert.are.equal("idl.readout_loo: grid must be a table of ridges, got number",
      err_of(idl.readout_loo, t, X0, U, Y, 1e-3))
    assert.are.equal("idl.readout_loo: grid must hold 1 to 100000 ridges, got 0",
      err_of(idl.readout_loo, t, X0, U, Y, {}))
    assert.are.equal("idl.readout_loo: grid[2] must be a positive finite number",
      err_of(idl.readout_loo, t, X0, U, Y, {1, 0}))
    assert.are.equal("idl.readout_loo: leave-one-out needs at least 2 samples, got 1",
      err_of(idl.readout_loo, t, idl.zeros(0, 1), U:sub(1, 3, 1, 1), Y:sub(1, 1, 1, 1), {1}))
    assert.are.equal("idl.readout_loo: Y is 1x9, expected 1x10",
      err_of(idl.readout_loo, t, X0, U, Y:sub(1, 1, 1, 9), {1}))
    assert.are.equal(
      "idl.initializers.least_squares_abc: ridge_rel = \"loo\" needs at least 2 samples, got 1",
      err_of(init.least_squares_abc, t, idl.zeros(0, 1), U:sub(1, 3, 1, 1), Y:sub(1, 1, 1, 1), "loo"))
    assert.matches("opts.ridge", err_of(init.linear, {U = U, Y = Y, h = 2}, idl.rng(1), {ridge = "gcv"}))
  end)
end)
