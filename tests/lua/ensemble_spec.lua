-- ensemble_spec.lua: the mean of implicit models as one model
-- (idl.model.average) and the estimator's ensembles (ensemble_size).
local idl = require "idl"
local model = require "idl.model"

local support = dofile((os.getenv("IDL_SOURCE_DIR") or ".") .. "/tests/lua/support.lua")

local function random_model(h, n, p, g, kappa)
  local m = model.new{theta = {A = idl.randn(p, h, g), B = idl.randn(p, n, g), c = idl.randn(p, 1, g),
    D = idl.randn(h, h, g), E = idl.randn(h, n, g), f = idl.randn(h, 1, g)},
    constraint = {kind = "inf", kappa = kappa or 0.9}}
  return m:project()
end

-- y = sin(3 u1) + u2^2 - u1 u3 + noise: a small nonlinear table
local function nonlinear_table(m, seed)
  local g = idl.rng(seed)
  local X, y = idl.randn(m, 3, g), idl.zeros(m, 1)
  for i = 1, m do
    local a, b, c = X:get(i, 1), X:get(i, 2), X:get(i, 3)
    y:set(i, 1, math.sin(3 * a) + b * b - a * c + 0.1 * g:normal())
  end
  return X, y
end

describe("idl.model.average", function()
  local g = idl.rng(3)
  local members = {random_model(3, 4, 2, g), random_model(5, 4, 2, g), random_model(1, 4, 2, g)}

  it("predicts the mean of the members' predictions, each solved on its own", function()
    local avg = model.average(members)
    assert.are.equal(9, avg.h)
    local U = idl.randn(4, 20, g)
    local sum = idl.zeros(2, 20)
    for _, m in ipairs(members) do sum = sum + m:predict_u(U, {tol = 1e-14}) end
    assert.is_true((avg:predict_u(U, {tol = 1e-14}) - sum / 3):norm("max") < 1e-12)
    -- block-diagonal D: in the set, with the largest block's norm
    local largest = 0
    for _, m in ipairs(members) do largest = math.max(largest, m.theta.D:norm("inf")) end
    assert.are.equal(largest, avg.theta.D:norm("inf"))
    assert.is_true(avg:wellposed().in_constraint)
  end)

  it("is solved block by block to the dense solve's equilibrium", function()
    -- 20, 5 and 25 units: the 5 are solved with the 25 (blocks under 16 units
    -- join the next), the 20 alone
    local big = model.average{random_model(20, 4, 2, g), random_model(5, 4, 2, g), random_model(25, 4, 2, g)}
    assert.are.same({20, 25, 50}, idl.diagonal_blocks(big.theta.D))
    local U = idl.randn(4, 30, g)
    local X, info = big:hidden(U, {tol = 1e-13})
    local dense = idl.equilibrium(big.theta, U, {tol = 1e-13})
    -- each within tol * scale / (1 - kappa) (about 1.2e-11 here) of the equilibrium
    assert.is_true((X - dense):norm("max") < 1e-10)
    assert.is_true(info.converged and info.residual < 1e-13 and info.iterations > 0)
    -- from the solution: every block converged at once
    local again, info0 = big:hidden(U, {tol = 1e-13, x0 = X})
    assert.are.equal(0, info0.iterations)
    assert.is_true(again == X)
    -- a block that does not converge in the steps allowed says so, after one
    -- that did (its D a tenth of the other's: contracting ten times faster)
    local fast = random_model(20, 4, 2, g)
    idl.scale(fast.theta.D, 0.1)
    local mixed = model.average{fast, random_model(20, 4, 2, g)}
    local _, short = mixed:hidden(U, {tol = 1e-13, max_iter = 30})
    assert.is_false(short.converged)
    assert.are.equal(30, short.iterations)
  end)

  it("leaves the members as they were", function()
    local before = {}
    for r, m in ipairs(members) do before[r] = m.theta.A:copy() end
    model.average(members)
    for r, m in ipairs(members) do assert.is_true(before[r] == m.theta.A) end
  end)

  it("raises on members that cannot be averaged, naming itself", function()
    local other_n = random_model(2, 3, 2, g)
    local other_set = random_model(2, 4, 2, g, 0.5)
    for _, case in ipairs{{{}, "models is empty"}, {{members[1], 3}, "models%[2%] must be an idl.model"},
      {{members[1], other_n}, "models%[2%] maps 3 inputs"},
      {{members[1], other_set}, "models%[2%] has constraint inf 0.5"}} do
      local ok, msg = pcall(model.average, case[1])
      assert.is_false(ok)
      assert.matches("idl.model.average: " .. case[2], msg)
    end
  end)
end)

describe("an ensemble of idl.IDLModel", function()
  local X, y = nonlinear_table(300, 1)

  it("is one model: the mean of its members, seeded random_state + 1000 (r - 1)", function()
    local est = idl.IDLModel{ensemble_size = 3, random_state = 5, hidden_variables = 8, verbosity = false}
      :fit(X, y, {rounds_number = 30})
    assert.are.equal(3, #est.members)
    local models, sum = {}, nil
    for r, member in ipairs(est.members) do
      assert.are.equal(5 + 1000 * (r - 1), member.random_state)
      models[r] = member.model
      local yhat = member.model:predict_u(X:t()):t()
      sum = sum and sum + yhat or yhat
    end
    assert.are.equal(24, est.model.h)
    assert.is_true(est.model.theta.D == model.average(models).theta.D)
    assert.is_true((est:predict(X) - sum / 3):norm("max") < 1e-8)
    assert.are.equal(est.members[1].history, est.history)
  end)

  it("retrains its members at least to the round where their mean hold-out loss is least", function()
    local est = idl.IDLModel{ensemble_size = 3, random_state = 2, verbosity = false}:fit(X, y)
    local retrained = {}
    for _, member in ipairs(est.members) do
      if member.refit_rounds then retrained[#retrained + 1] = member end
    end
    assert.is_true(#retrained >= 2, "members retrained: " .. #retrained)
    -- the mean curve, each member's hold-out loss carried past its last round
    local best, best_loss, last = nil, math.huge, 0
    for _, member in ipairs(retrained) do last = math.max(last, #member.history - 1) end
    for round = 0, last do
      local loss = 0
      for _, member in ipairs(retrained) do
        local h = member.history
        loss = loss + h[math.min(round + 1, #h)].eval_l2 / #retrained
      end
      if loss < best_loss then best, best_loss = round, loss end
    end
    local raised = 0
    for _, member in ipairs(retrained) do
      local rounds = math.max(best, member.best_round)
      assert.are.equal(rounds, member.refit_rounds)
      if member.best_round < best then raised = raised + 1 end
      -- the member is a fit on all 300 samples for that many rounds, at its seed
      local alone = idl.IDLModel{ensemble_size = 1, random_state = member.random_state,
        early_stopping = false, verbosity = false}:fit(X, y, {rounds_number = rounds})
      assert.is_true(alone.model.theta.D == member.model.theta.D)
    end
    assert.is_true(raised >= 1, "no member ran past its own best round")
  end)

  it("is what the defaults fit below 2,000 samples, and predicts no worse than its members on average",
    function()
      local Xt, yt = nonlinear_table(2000, 2)
      local est = idl.IDLModel{verbosity = false}:fit(X, y)
      assert.are.equal(3, #est.members)
      local mean_single = 0
      for _, member in ipairs(est.members) do
        local single = idl.IDLModel{ensemble_size = 1, random_state = member.random_state, verbosity = false}
          :fit(X, y)
        mean_single = mean_single + idl.metrics.rmse(yt, single:predict(Xt)) / 3
      end
      local rmse = idl.metrics.rmse(yt, est:predict(Xt))
      assert.is_true(rmse <= mean_single, string.format("ensemble %.4f, single fits %.4f", rmse, mean_single))
      local Xb, yb = nonlinear_table(2000, 3)
      assert.are.equal(1, #idl.IDLModel{verbosity = false}:fit(Xb, yb, {rounds_number = 1}).members)
    end)

  it("ends with the member that a fault stopped: the mean of the members fitted so far", function()
    -- a callback writes Inf into the second member's D after its round 2
    local runs = 0
    local function corrupt(state)
      if state.round == 1 then runs = runs + 1 end
      if runs == 2 and state.round == 2 then state.model.theta.D:set(1, 1, math.huge) end
    end
    local warned, est = support.capture_stderr(function()
      return idl.IDLModel{ensemble_size = 3, hidden_variables = 4, verbosity = false}
        :fit(X, y, {rounds_number = 5, callbacks = corrupt})
    end)
    assert.matches("idl.IDLModel:fit: training stopped at round 2", warned)
    assert.are.equal(2, #est.members)
    assert.are.equal("non-finite", est.stop_reason)
    assert.are.equal(est.members[2].stop_message, est.stop_message)
    assert.are.equal(8, est.model.h)
    assert.is_true(est.model.theta.D:all_finite())
    assert.is_true(est.model.theta.D == model.average{est.members[1].model, est.members[2].model}.theta.D)
  end)

  it("checks ensemble_size like every parameter", function()
    assert.are.equal("auto", idl.IDLModel{}:get_params().ensemble_size)
    for _, case in ipairs{{0, "ensemble_size must be >= 1, got 0"},
      {1.5, "ensemble_size must be an integer, got 1.5"},
      {"x", "ensemble_size must be \"auto\" or an integer >= 1, got \"x\""}} do
      local ok, msg = pcall(idl.IDLModel, {ensemble_size = case[1]})
      assert.is_false(ok)
      assert.matches("idl.IDLModel: " .. case[2]:gsub("%p", "%%%0"), msg)
      assert.matches("ensemble_spec.lua", msg)
    end
  end)

  it("trains one model with checkpoints, and says so when asked for more", function()
    local path = os.tmpname()
    local est = idl.IDLModel{hidden_variables = 4, verbosity = false}
      :fit(X, y, {rounds_number = 2, checkpoint_path = path})
    assert.are.equal(1, #est.members)
    local ok, msg = pcall(idl.IDLModel{ensemble_size = 2, verbosity = false}.fit,
      idl.IDLModel{ensemble_size = 2, verbosity = false}, X, y, {checkpoint_path = path})
    os.remove(path)
    assert.is_false(ok)
    assert.matches("idl.IDLModel:fit: ensemble_size = 2: a fit with checkpoint_path", msg)
    assert.matches("ensemble_spec.lua", msg)
  end)

  it("saves and loads as one model that predicts the same", function()
    local est = idl.IDLModel{ensemble_size = 2, hidden_variables = 5, verbosity = false}
      :fit(X, y, {rounds_number = 3})
    local path = os.tmpname()
    est:save(path)
    local back = idl.IDLModel.load(path)
    os.remove(path)
    assert.are.same(est:predict(X):totable(), back:predict(X):totable())
    assert.are.equal(5, back:get_params().hidden_variables)
    assert.are.equal(2, back:get_params().ensemble_size)
  end)
end)
