-- initialization_refit_spec.lua: when early stopping keeps the initialization
-- (round 0) of a fit whose hold-out the estimator drew, the initialization is
-- fitted again on all the training samples: with the linear start that is
-- linear regression on all of them, not on the 80% trained on.
local idl = require "idl"

-- A noisy linear table: y = x1 - 2 x2 + 0.5 x3 + N(0, 1), m samples.
local function table_of(m, seed)
  local rng = idl.rng(seed)
  local X = idl.randn(m, 3, rng)
  local y = X * idl.from_table{{1}, {-2}, {0.5}} + idl.randn(m, 1, rng)
  return X, y
end

describe("early stopping that keeps the initialization", function()
  -- learning rate 1: every step overshoots (hold-out MSE 0.32 at round 0,
  -- then 14.3, 5.2, 0.76), and early stopping keeps round 0
  local wild = {rounds_number = 10, trainer_options = {learning_rate = 1}}

  it("refits the linear start on all the training samples", function()
    local X, y = table_of(60, 3)
    local est = idl.IDLModel{hidden_variables = 4, patience = 3, random_state = 1}:fit(X, y, wild)
    assert.are.equal(0, est.best_round)
    local all = idl.LinearRegression():fit(X, y)
    local B = est.model.theta.B
    local coef = all.coef:t()
    -- the linear start's ridge is 1e-4 of each feature's spread: OLS to ~1e-4
    assert.is_true(idl.equal(B, coef, 1e-3 * coef:norm("max")), tostring(B) .. " vs " .. tostring(coef))
    assert.is_true(math.abs(est.model.theta.c:get(1, 1) - all.intercept:get(1, 1)) <= 1e-3)
    assert.are.equal(0, est.model.theta.A:norm("max"))
    -- the 80% trained on gives other coefficients: the refit is what matters
    local part = idl.LinearRegression():fit(est.state.U:t(), est.state.Y:t())
    assert.is_true((part.coef:t() - coef):norm("max") > 1e-2)
  end)

  it("keeps the initialization as fitted when the user gave the eval_set", function()
    local X, y = table_of(60, 4)
    local Xe, ye = table_of(20, 5)
    local est = idl.IDLModel{hidden_variables = 4, patience = 3, random_state = 1}:fit(X, y,
      {rounds_number = 10, trainer_options = {learning_rate = 1}, eval_set = {Xe, ye}})
    assert.are.equal(0, est.best_round)
    local all = idl.LinearRegression():fit(X, y)
    assert.is_true(idl.equal(est.model.theta.B, all.coef:t(), 1e-3 * all.coef:norm("max")))
  end)
end)
