-- keep_start_spec.lua: which model a fit keeps when it drew its own hold-out
-- (idl.estimator.select): the trained one only when it beats the start by
-- more than one standard error of the per-sample loss differences.
local idl = require "idl"
local model = require "idl.model"
local losses = require "idl.losses"
local select_model = require "idl.estimator.select"

-- y = b u + c (one input, one output, no hidden unit at work).
local function affine(b, c)
  return model.new{theta = {A = idl.zeros(1, 1), B = idl.full(1, 1, b), c = idl.full(1, 1, c),
    D = idl.zeros(1, 1), E = idl.zeros(1, 1), f = idl.zeros(1, 1)}}
end

describe("idl.estimator.select.trained_wins", function()
  local squared = losses.get("squared")
  local start = affine(0, 1) -- predicts 1 everywhere: loss 1/2 per sample of Y = 0

  it("keeps the trained model when it is better on every sample", function()
    local eval = {U = idl.full(1, 4, 0.9), Y = idl.zeros(1, 4)}
    local wins, mean, se = select_model.trained_wins(affine(1, 0), start, eval, 1e-10, squared)
    assert.is_true(wins)
    assert.is_near((0.81 - 1) / 2, mean, 1e-15)
    assert.is_near(0, se, 1e-15)
  end)

  it("keeps the start when the mean gain is under one standard error", function()
    -- losses 0 and 0.845 against 0.5: differences -0.5, 0.345, -0.5, 0.345
    local eval = {U = idl.from_table{{0, 1.3, 0, 1.3}}, Y = idl.zeros(1, 4)}
    local wins, mean, se = select_model.trained_wins(affine(1, 0), start, eval, 1e-10, squared)
    local d = {-0.5, 0.345, -0.5, 0.345}
    local m = (d[1] + d[2] + d[3] + d[4]) / 4
    local ss = 0
    for _, v in ipairs(d) do ss = ss + (v - m) ^ 2 end
    assert.is_near(m, mean, 1e-12)
    assert.is_near(math.sqrt(ss / 3 / 4), se, 1e-12)
    assert.is_false(wins)
    -- the same gains, each sample twice as often: a smaller standard error
    local twice = {U = idl.from_table{{0, 1.3, 0, 1.3, 0, 1.3, 0, 1.3}}, Y = idl.zeros(1, 8)}
    local _, mean2, se2 = select_model.trained_wins(affine(1, 0), start, twice, 1e-10, squared)
    assert.is_near(mean, mean2, 1e-12)
    assert.is_true(se2 < se)
  end)

  it("a fit on pure noise keeps its start, refitted on all the samples", function()
    -- y independent of X: no trained round can beat the linear start by a
    -- standard error on the hold-out but by chance
    local g = idl.rng(5)
    local X, y = idl.randn(120, 3, g), idl.randn(120, 1, g)
    local kept = 0
    for seed = 0, 9 do
      local est = idl.IDLModel{verbosity = false, ensemble_size = 1, random_state = seed}:fit(X, y)
      if est.best_round == 0 then
        kept = kept + 1
        -- the start on all 120 samples: the least-squares linear model
        local lr = idl.LinearRegression():fit(X, y)
        assert.is_true((est:predict(X) - lr:predict(X)):norm("max") < 1e-3)
      end
    end
    assert.is_true(kept >= 9, "kept the start in " .. kept .. " of 10 fits")
  end)
end)

describe("a small table's fit trained again on all its samples", function()
  local X, y = idl.data.implicit(300, idl.rng(11), {n = 3, h = 6, p = 1, density = 0.5, kappa = 0.8})

  it("runs the epochs the hold-out chose on all the samples, as a fit without hold-out would", function()
    local est = idl.IDLModel{verbosity = false, ensemble_size = 1, random_state = 3}:fit(X, y)
    assert.is_true(est.best_round > 0, "a trained round won")
    assert.are.equal(est.best_round, est.refit_rounds)
    local again = idl.IDLModel{verbosity = false, ensemble_size = 1, random_state = 3, early_stopping = false}
      :fit(X, y, {rounds_number = est.best_round})
    assert.are.same(again.model.theta.D:totable(), est.model.theta.D:totable())
    assert.are.same(again:predict(X):totable(), est:predict(X):totable())
    -- the history is the hold-out run's, which chose the epochs
    assert.is_not_nil(est.history[2].eval_l2)
  end)

  it("not from 1,000 samples on, nor with checkpoints", function()
    local Xb, yb = idl.data.implicit(1000, idl.rng(12), {n = 3, h = 6, p = 1, density = 0.5, kappa = 0.8})
    local big = idl.IDLModel{verbosity = false, ensemble_size = 1, random_state = 3}
      :fit(Xb, yb, {rounds_number = 5})
    assert.is_nil(big.refit_rounds)
    local path = os.tmpname()
    local ck = idl.IDLModel{verbosity = false, ensemble_size = 1, random_state = 3}
      :fit(X, y, {checkpoint_path = path})
    os.remove(path)
    assert.is_true(ck.best_round > 0)
    assert.is_nil(ck.refit_rounds)
  end)
end)
