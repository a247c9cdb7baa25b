-- training_quality_spec.lua: what training achieves, through the public API
-- only (idl.IDLModel, idl.trainers.register, idl.model, idl.metrics), so that
-- these tests hold whatever the trainers look like inside.
--
-- The data are off-centre and differently scaled on purpose: features in
-- [5, 9], targets around 100, made by a known
-- teacher IDL model plus Gaussian noise (sd 0.5). Two references come from
-- outside the program: the noise floor (the RMSE of the noise itself on the
-- eval set: no model can do better on average) and the least-squares linear
-- fit computed here by the normal equations (not idl.LinearRegression).
local idl = require "idl"
local model = require "idl.model"
local metrics = require "idl.metrics"

local N, H, M, M_TRAIN = 3, 6, 400, 300

-- The teacher: ReLU units whose kinks fall inside the input box (f = -7 E 1 +
-- small), so the target is far from linear in u; y = teacher(u) + noise.
local function teacher_data()
  local g = idl.rng(7)
  local U = idl.rand(N, M, g, 5, 9)
  local T = {A = idl.randn(1, H, g, 0, 2), B = idl.from_table{{1, -2, 0.5}}, c = idl.full(1, 1, 100),
    D = idl.randn(H, H, g, 0, 0.3), E = idl.randn(H, N, g)}
  T.f = T.E * idl.full(N, 1, -7) + idl.randn(H, 1, g, 0, 0.5)
  idl.project_inf_(T.D, 0.5)
  local clean = model.new{theta = T}:predict_u(U, {tol = 1e-12, max_iter = 1000})
  local noise = idl.randn(1, M, g, 0, 0.5)
  local X, y = U:t(), (clean + noise):t()
  return {Xtr = X:sub(1, M_TRAIN, 1, N):copy(), ytr = y:sub(1, M_TRAIN, 1, 1):copy(),
    Xte = X:sub(M_TRAIN + 1, M, 1, N):copy(), yte = y:sub(M_TRAIN + 1, M, 1, 1):copy(),
    noise_te = noise:t():sub(M_TRAIN + 1, M, 1, 1):copy()}
end

-- Least squares y ~ w0 + X w by the normal equations, solved by Gaussian
-- elimination with partial pivoting in plain Lua; returns the predictor.
local function normal_equations_fit(X, y)
  local m, n = X:rows(), X:cols()
  local k = n + 1
  local function feat(i, j) return j == 1 and 1 or X:get(i, j - 1) end
  local a = {}
  for r = 1, k do
    a[r] = {}
    for c = 1, k + 1 do
      local s = 0
      for i = 1, m do s = s + feat(i, r) * (c <= k and feat(i, c) or y:get(i, 1)) end
      a[r][c] = s
    end
  end
  for col = 1, k do
    local piv = col
    for r = col + 1, k do if math.abs(a[r][col]) > math.abs(a[piv][col]) then piv = r end end
    a[col], a[piv] = a[piv], a[col]
    for r = col + 1, k do
      local f = a[r][col] / a[col][col]
      for c = col, k + 1 do a[r][c] = a[r][c] - f * a[col][c] end
    end
  end
  local w = {}
  for r = k, 1, -1 do
    local s = a[r][k + 1]
    for c = r + 1, k do s = s - a[r][c] * w[c] end
    w[r] = s / a[r][r]
  end
  return function(Xq)
    local out = idl.zeros(Xq:rows(), 1)
    for i = 1, Xq:rows() do
      local s = w[1]
      for j = 1, n do s = s + w[j + 1] * Xq:get(i, j) end
      out:set(i, 1, s)
    end
    return out
  end
end

local function rms(v)
  local s = 0
  for i = 1, v:rows() do s = s + v:get(i, 1) ^ 2 end
  return math.sqrt(s / v:rows())
end

local D = teacher_data()
local NOISE_FLOOR = rms(D.noise_te)
local LINEAR = metrics.rmse(D.yte, normal_equations_fit(D.Xtr, D.ytr)(D.Xte))

local function fit(params, opts)
  -- the report's settings (the picard_ls start) unless a test says otherwise
  local p = {preset = "report", hidden_variables = 20, random_state = 0, verbosity = false}
  for k, v in pairs(params or {}) do p[k] = v end
  local o = {eval_set = {D.Xte, D.yte}}
  for k, v in pairs(opts or {}) do o[k] = v end
  return idl.IDLModel(p):fit(D.Xtr, D.ytr, o)
end

local function eval_rmse(est) return metrics.rmse(D.yte, est:predict(D.Xte)) end

describe("the fixture", function()
  it("is off-centre, scaled, and far from linear", function()
    local mean = D.ytr:sum(1):get(1, 1) / M_TRAIN
    assert.is_true(mean > 80 and mean < 110, "target mean " .. mean)
    for i = 1, M_TRAIN do
      for j = 1, N do
        local v = D.Xtr:get(i, j)
        assert.is_true(v >= 5 and v <= 9, "feature " .. v)
      end
    end
    assert.is_near(0.5, NOISE_FLOOR, 0.1)
    -- the normal equations agree with an SVD least squares
    local lr = idl.LinearRegression():fit(D.Xtr, D.ytr)
    assert.is_near(metrics.rmse(D.yte, lr:predict(D.Xte)), LINEAR, 1e-8 * LINEAR)
    assert.is_true(LINEAR > 3 * NOISE_FLOOR, "linear " .. LINEAR .. ", noise " .. NOISE_FLOOR)
  end)
end)

describe("training quality on off-centre, scaled data", function()
  it("implicit gets within 40% of the noise floor, far better than its start and than linear", function()
    -- 2 Picard steps a batch and the learning rate halved after 3 stalled
    -- epochs: from the picard_ls start D is far from 0 at once, where the
    -- default single step from each sample's warm start ends at 0.697 and the
    -- default halving after 2 stalled epochs at 0.692 (this setting: 0.684;
    -- from the default linear start, whose D grows from 0 after the MLP
    -- phase, 0.545 with 3 and 0.541 with 2)
    local est = fit({}, {type_of_training = "implicit", rounds_number = 300,
      trainer_options = {forward_steps = 2, lr_patience = 3}})
    local r, r0 = eval_rmse(est), est.history[1].eval_rmse
    assert.is_true(r <= 1.4 * NOISE_FLOOR, string.format("eval RMSE %.4g, noise floor %.4g", r, NOISE_FLOOR))
    -- the start is a centred readout (eval RMSE 0.95; 1.29 while the readout
    -- penalized the intercept); training takes off close to a third of it
    -- (0.684 with the implicit stopping rule of patience 15 / 5%)
    assert.is_true(r <= 0.72 * r0, string.format("eval RMSE %.4g, at initialization %.4g", r, r0))
    assert.is_true(r <= 0.4 * LINEAR, string.format("eval RMSE %.4g, linear fit %.4g", r, LINEAR))
    assert.is_true(est.best_round >= 10, "best round " .. tostring(est.best_round))
  end)

  it("hybrid gets within 80% of the noise floor, far better than its start", function()
    local est = fit({}, {type_of_training = "hybrid", rounds_number = 300})
    local r, r0 = eval_rmse(est), est.history[1].eval_rmse
    assert.is_true(r <= 1.8 * NOISE_FLOOR, string.format("eval RMSE %.4g, noise floor %.4g", r, NOISE_FLOOR))
    assert.is_true(r <= 0.6 * r0, string.format("eval RMSE %.4g, at initialization %.4g", r, r0))
  end)

  -- the report's trainer does not improve the real model (README, "Choosing a
  -- trainer"), but it must not spoil the least-squares readout it starts from
  it("two_loops (without early stopping) ends no worse than its start, which beats linear", function()
    local est = fit({tol_fenchel = 1e-6, early_stopping = false},
      {type_of_training = "two_loops", rounds_number = 20})
    assert.are.equal(21, #est.history)
    local r, r0 = eval_rmse(est), est.history[1].eval_rmse
    assert.is_true(r0 <= LINEAR,
      string.format("eval RMSE at initialization %.4g, linear fit %.4g", r0, LINEAR))
    assert.is_true(r <= 1.01 * r0, string.format("eval RMSE %.4g, at initialization %.4g", r, r0))
  end)
end)

describe("implicit training's standardized coordinates", function()
  -- One epoch with learning rate 0 maps theta to standardized coordinates
  -- (features and targets centred and scaled) and back without a step: the
  -- model must predict exactly as before, to rounding. The data's means
  -- (features ~7, targets ~100) make every term of the back-transform count:
  -- f' = f + E mu, c' = Sy^-1 (c + B mu - my).
  it("round trip of theta gives the same predictions (learning rate 0, one epoch)", function()
    local start = fit({early_stopping = false}, {type_of_training = "implicit", rounds_number = 0})
    local same = fit({early_stopping = false}, {type_of_training = "implicit", rounds_number = 1,
      trainer_options = {learning_rate = 0}})
    assert.are.equal(2, #same.history)
    local y0, y1 = start:predict(D.Xte), same:predict(D.Xte)
    local diff = (y1 - y0):norm("max")
    assert.is_true(diff <= 1e-10 * y0:norm("max"), "predictions moved by " .. diff)
    for _, k in ipairs{"A", "B", "c", "D", "E", "f"} do
      local a, b = start.model.theta[k], same.model.theta[k]
      assert.is_true(idl.equal(a, b, 1e-10 * math.max(1, a:norm("max"))), "theta." .. k)
    end
  end)
end)

-- A scripted trainer: round r sets the model to a planned readout c = C[r]
-- (A = 0, B = 0: the model predicts the constant c) and the relaxed X to the
-- constant r. With zero targets the eval loss of round r is C[r]^2 / 2, so
-- which round is best, and when early stopping must fire, is known exactly.
local PLAN = {[0] = 10, 5, 3, 2, 2, 2 * 1.0004, 4, 1, 1}
-- round 3 is the best: round 4 only equals it, round 5 is within 0.1% of it
-- (its loss is 1.0008 times the best), round 6 is worse; with patience 3 the
-- run must stop after round 6, before rounds 7 and 8 would have improved.
local function scripted(s)
  local r = s.round
  local th = s.model.theta
  idl.fill(th.A, 0); idl.fill(th.B, 0); idl.fill(th.c, PLAN[r])
  idl.fill(s.X, r)
  idl.trainers.invalidate(s) -- theta changed outside the steps
  return false
end
idl.trainers.register("test_scripted_plan", scripted)

describe("early stopping with a planned best round", function()
  local U = idl.rand(40, 2, idl.rng(3), 5, 9)
  local zeros = idl.zeros(40, 1)
  local function planned_fit(opts)
    local X_at = {}
    local est = idl.IDLModel{hidden_variables = 3, random_state = 0, verbosity = false, patience = 3,
      initialization_theta = {A = idl.zeros(1, 3), B = idl.zeros(1, 2), c = idl.full(1, 1, PLAN[0]),
        D = idl.zeros(3, 3), E = idl.ones(3, 2), f = idl.zeros(3, 1)}}
    local o = {type_of_training = "test_scripted_plan", rounds_number = #PLAN, eval_set = {U, zeros},
      callbacks = function(s) X_at[s.round] = s.X:copy() end}
    for k, v in pairs(opts or {}) do o[k] = v end
    est:fit(U, zeros, o)
    return est, X_at
  end

  it("the plan gives the eval losses it was made for", function()
    local est = planned_fit()
    for r = 0, 6 do assert.is_near(PLAN[r] ^ 2 / 2, est.history[r + 1].eval_l2, 1e-12 * PLAN[r] ^ 2) end
  end)

  it("stops early: patience 3 after the best round, before the later, better rounds", function()
    local est = planned_fit()
    assert.are.equal("early_stopping", est.stop_reason)
    assert.are.equal(7, #est.history) -- rounds 0..6 of #PLAN = 8
  end)

  it("min_improvement: a smaller fall gives a new best model but does not restart patience", function()
    -- min_improvement 0.6: rounds 1 and 2 fall by 75% and 64%, round 3 by
    -- 56% only: patience runs from round 2 and ends after round 5
    local est = idl.IDLModel{hidden_variables = 3, random_state = 0, verbosity = false, patience = 3,
      min_improvement = 0.6, initialization_theta = planned_fit().params.initialization_theta}
    est:fit(U, zeros, {type_of_training = "test_scripted_plan", rounds_number = #PLAN, eval_set = {U, zeros}})
    assert.are.equal("early_stopping", est.stop_reason)
    assert.are.equal(6, #est.history)
    assert.are.equal(3, est.best_round)
  end)

  it("keeps the first of equal rounds, and a round within 0.1% of the best does not replace it", function()
    local est = planned_fit()
    assert.are.equal(3, est.best_round)
  end)

  it("restores the best round's parameters AND its relaxed X (the warm start of a resumed run)", function()
    local est, X_at = planned_fit()
    assert.are.equal(3, est.best_round)
    assert.are.equal(PLAN[3], est.model.theta.c:get(1, 1))
    assert.is_near(PLAN[3], est:predict(U):get(1, 1), 1e-12)
    assert.is_true(idl.equal(X_at[3], est.state.X, 0), "X is not that of round 3")
    assert.is_false(idl.equal(X_at[6], est.state.X, 0))
  end)

  it("without early stopping runs every round and keeps the last", function()
    local est = idl.IDLModel{hidden_variables = 3, random_state = 0, verbosity = false,
      early_stopping = false,
      initialization_theta = planned_fit().params.initialization_theta}
    est:fit(U, zeros, {type_of_training = "test_scripted_plan", rounds_number = #PLAN, eval_set = {U, zeros}})
    assert.are.equal(#PLAN + 1, #est.history)
    assert.are.equal(PLAN[#PLAN], est.model.theta.c:get(1, 1))
  end)
end)

describe("the trainers' schedules", function()
  it("hybrid runs exactly fenchel_rounds two_loops rounds (each with a dual step), then implicit", function()
    local est = fit({tol_fenchel = 1e-6, early_stopping = false}, {type_of_training = "hybrid",
      rounds_number = 5, trainer_options = {fenchel_rounds = 2}})
    local h = est.history
    assert.are.equal(6, #h)
    -- a two_loops round ends with a dual step, which raises lambda (tol_fenchel
    -- 1e-6: some unit always qualifies); an implicit epoch leaves lambda alone
    for r = 1, 2 do
      assert.is_true(h[r + 1].lambda_l1 > h[r].lambda_l1, "round " .. r .. " made no dual step")
    end
    for r = 3, 5 do assert.are.equal(h[3].lambda_l1, h[r + 1].lambda_l1, "round " .. r) end
  end)

  it("early stopping without an eval set holds out 20% of the samples, disjoint from training", function()
    local U = idl.zeros(50, 1)
    for i = 1, 50 do U:set(i, 1, i) end
    local est = idl.IDLModel{hidden_variables = 2, random_state = 0, verbosity = false}
    est:fit(U, U * 0.5, {type_of_training = "implicit", rounds_number = 1})
    local train, held = est.state.U, est.state.eval.U
    assert.are.equal(40, train:cols()); assert.are.equal(10, held:cols())
    local seen = {}
    for _, part in ipairs{train, held} do
      for j = 1, part:cols() do
        local v = part:get(1, j)
        assert.is_nil(seen[v], "sample " .. v .. " is both trained on and held out")
        seen[v] = true
      end
    end
    for i = 1, 50 do assert.is_true(seen[i], "sample " .. i .. " is lost") end
  end)
end)
