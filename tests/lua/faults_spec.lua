-- faults_spec.lua: numerical faults during training. A NaN or Inf loss or
-- parameter stops training with a message; the model keeps the parameters of
-- the last good round (checked against a run that stopped there by itself);
-- an equilibrium that does not converge is recorded in the history, or raised
-- with raise_on_nonconvergence.

local idl = require "idl"
local trainers = require "idl.trainers"

local support = dofile((os.getenv("IDL_SOURCE_DIR") or ".") .. "/tests/lua/support.lua")
local data, estimator, capture_stderr = support.data, support.estimator, support.capture_stderr

local function all_finite(model)
  for _, k in ipairs(idl.model.THETA_NAMES) do
    if not model.theta[k]:all_finite() then return false end
  end
  return model.lambda:all_finite()
end

-- A registered trainer: two_loops rounds, with `corrupt(s)` after each.
local function register_corrupting(name, corrupt)
  trainers.register(name, function(s, c)
    trainers.two_loops(s, c)
    corrupt(s)
    return false
  end)
end

describe("numerical faults", function()
  local X, y = data()

  it("a trainer writing NaN into theta.A at round 3: fit returns, the model is that of round 2", function()
    register_corrupting("faults_nan_a", function(s)
      if s.round == 3 then s.model.theta.A:set(1, 1, 0 / 0) end
    end)
    local warned, est = capture_stderr(function()
      return estimator():fit(X, y, {rounds_number = 6, type_of_training = "faults_nan_a"})
    end)
    local msg = "training stopped at round 3: theta.A has a NaN entry at (1, 1); "
      .. "the model keeps the parameters of round 2"
    assert.are.equal("non-finite", est.stop_reason)
    assert.are.equal(msg, est.stop_message)
    assert.are.equal("idl.IDLModel:fit: " .. msg .. "\n", warned)
    assert.are.equal(3, #est.history)               -- rounds 0, 1, 2
    assert.are.equal(2, est.history[#est.history].round)
    assert.is_true(all_finite(est.model))
    -- the same rounds, stopped by the round count: the very same model
    local ref = estimator():fit(X, y, {rounds_number = 2})
    assert.is_true(idl.equal(ref:predict(X), est:predict(X), 0))
    assert.is_true(idl.equal(ref.model.lambda, est.model.lambda, 0))
    assert.is_true(idl.equal(ref.state.X, est.state.X, 0)) -- the relaxed X rolled back too
  end)

  it("a callback writing Inf into theta.D after round 3: the model is that of round 3", function()
    local warned, est = capture_stderr(function()
      return estimator():fit(X, y, {rounds_number = 6, callbacks = function(s)
        if s.round == 3 then s.model.theta.D:set(2, 2, math.huge) end
      end})
    end)
    assert.are.equal("non-finite", est.stop_reason)
    assert.are.equal("training stopped at round 3: after the callbacks, theta.D has an Inf entry at "
      .. "(2, 2); the model keeps the parameters of round 3", est.stop_message)
    assert.truthy(warned:find("fit: training stopped at round 3", 1, true))
    local ref = estimator():fit(X, y, {rounds_number = 3})
    assert.is_true(idl.equal(ref:predict(X), est:predict(X), 0))
  end)

  it("the implicit trainer with an absurd learning rate: an Inf loss, the last good model kept", function()
    local warned, est = capture_stderr(function()
      return estimator():fit(X, y, {rounds_number = 6, type_of_training = "implicit",
        trainer_options = {learning_rate = 1e200}})
    end)
    assert.are.equal("non-finite", est.stop_reason)
    local good = est.history[#est.history].round
    assert.are.equal(string.format("training stopped at round %d: the training loss is Inf; "
      .. "the model keeps the parameters of round %d", good + 1, good), est.stop_message)
    assert.truthy(warned:find("fit: training stopped", 1, true))
    assert.is_true(all_finite(est.model))
    local ref = estimator():fit(X, y, {rounds_number = good, type_of_training = "implicit",
      trainer_options = {learning_rate = 1e200}})
    assert.is_true(idl.equal(ref:predict(X), est:predict(X), 0))
  end)

  it("run: a NaN in the relaxed X, a NaN round loss, a round that raises on NaN parameters", function()
    local function state()
      local g = idl.rng(5)
      local theta = {A = idl.randn(1, 3, g), B = idl.randn(1, 2, g), c = idl.zeros(1, 1),
        D = idl.randn(3, 3, g, 0, 0.1), E = idl.randn(3, 2, g), f = idl.zeros(3, 1)}
      idl.project_inf_(theta.D, 0.5)
      local m = idl.model.new{theta = theta, lambda = idl.full(3, 1, 0.1)}
      local U = idl.randn(2, 20, g)
      return trainers.new_state{model = m, U = U, Y = m:predict_u(U) + idl.randn(1, 20, g, 0, 0.1)}
    end
    local messages = {}
    local function cfg(t)
      t.warn = function(msg) messages[#messages + 1] = msg end
      t.tol_fenchel, t.inner_max_iter = 1e-6, 5
      return t
    end

    local s = state()
    trainers.run("two_loops", s, cfg{rounds_number = 2})
    local X2 = s.X:copy()
    trainers.run(function(st, c)
      trainers.two_loops(st, c)
      st.X:set(2, 3, 0 / 0)
    end, s, cfg{rounds_number = 3})
    assert.are.equal("non-finite", s.stop_reason)
    assert.are.equal("training stopped at round 3: the relaxed variable X has a NaN entry at (2, 3); "
      .. "the model keeps the parameters of round 2", s.stop_message)
    assert.are.equal(s.stop_message, messages[#messages])
    assert.is_true(idl.equal(X2, s.X, 0))
    assert.are.equal(2, s.round)

    s = state()
    trainers.run(function() return {loss = 0 / 0} end, s, cfg{rounds_number = 3})
    assert.are.equal("training stopped at round 1: the training loss is NaN; "
      .. "the model keeps the parameters of round 0", s.stop_message)

    s = state()
    local D0 = s.model.theta.D:copy()
    trainers.run(function(st)
      st.model.theta.D:set(1, 1, 0 / 0)
      st.model:hidden(st.U) -- the equilibrium refuses a NaN D
    end, s, cfg{rounds_number = 3})
    assert.are.equal("non-finite", s.stop_reason)
    assert.truthy(s.stop_message:find("theta.D has a NaN entry at (1, 1) (the round raised: ", 1, true))
    assert.is_true(idl.equal(D0, s.model.theta.D, 0))

    -- an error of a round with finite parameters is an error, message intact
    s = state()
    assert.has_error(function()
      trainers.run(function() error("a bug in the round", 0) end, s, cfg{rounds_number = 3})
    end, "a bug in the round")
  end)

  it("with early stopping and an evaluation set, a fault keeps the best model and says so", function()
    local Xe, ye = idl.randn(20, 3, idl.rng(9)), idl.randn(20, 1, idl.rng(10))
    register_corrupting("faults_nan_late", function(s)
      if s.round == 4 then s.model.theta.E:set(1, 1, -math.huge) end
    end)
    local _, est = capture_stderr(function()
      return estimator():fit(X, y, {rounds_number = 6, type_of_training = "faults_nan_late",
        eval_set = {Xe, ye}})
    end)
    assert.are.equal("non-finite", est.stop_reason)
    local best = est.best_round
    local keeps = best == 3 and "the parameters of round 3"
      or string.format("the best parameters, of round %d (early stopping)", best)
    assert.are.equal("training stopped at round 4: theta.E has an -Inf entry at (1, 1); the model keeps "
      .. keeps, est.stop_message)
    local ref = estimator():fit(X, y, {rounds_number = 3, eval_set = {Xe, ye}})
    assert.are.equal(best, ref.best_round)
    assert.is_true(idl.equal(ref:predict(X), est:predict(X), 0))
  end)

  it("projecting a diverged D (entries ~1e100) still lands in the constraint set", function()
    local D = idl.randn(4, 4, idl.rng(2), 0, 1e100)
    idl.model.project_(D, {kind = "inf", kappa = 0.9})
    assert.is_true(D:norm("inf") <= 0.9 * (1 + 1e-12))
    assert.is_true(idl.wellposed(D).wellposed)
  end)
end)

describe("equilibria that do not converge", function()
  local X, y = data()

  it("are recorded in the history (eq_converged, eq_failures), or raised on request", function()
    local g = idl.rng(4)
    local theta = {A = idl.randn(1, 3, g), B = idl.randn(1, 2, g), c = idl.zeros(1, 1),
      D = idl.randn(3, 3, g, 0, 0.3), E = idl.randn(3, 2, g), f = idl.randn(3, 1, g)}
    idl.project_inf_(theta.D, 0.8)
    local m = idl.model.new{theta = theta, lambda = idl.full(3, 1, 0.1)}
    local U = idl.randn(2, 20, g)
    local Y = m:predict_u(U)
    local function state()
      return trainers.new_state{model = m:copy(), U = U, Y = Y, eval = {U = U, Y = Y}}
    end
    -- one Picard step from the warm start: independently, not converged
    local _, info = m:hidden(U, {max_iter = 1, tol = 1e-14})
    assert.is_false(info.converged)
    local cfg = {rounds_number = 2, monitor_max_iter = 1, monitor_tol = 1e-14, inner_max_iter = 3}
    local s = state()
    trainers.run("one_loop", s, cfg)
    assert.are.equal(3, #s.history)
    for _, e in ipairs(s.history) do
      assert.is_false(e.eq_converged)
      assert.are.equal(2, e.eq_failures) -- the training and the evaluation set
    end
    cfg.raise_on_nonconvergence = true
    assert.has_error(function() trainers.run("one_loop", state(), cfg) end)
    local ok, err = pcall(trainers.run, "one_loop", state(), cfg)
    assert.is_false(ok)
    assert.truthy(err:find("run: round 1: the equilibrium on the training set did not converge (residual ",
      1, true), err)
    assert.truthy(err:find("after 1 iterations) (raise_on_nonconvergence is set)", 1, true), err)
  end)

  it("a trainer's own solves count too; fit raises with raise_on_nonconvergence", function()
    trainers.register("faults_unconverged", function(s, c)
      local result = trainers.two_loops(s, c)
      if s.round == 2 then result.eq_failures = 3 end
      return result
    end)
    local est = estimator():fit(X, y, {rounds_number = 3, type_of_training = "faults_unconverged"})
    local h = est.history
    assert.is_true(h[2].eq_converged and h[4].eq_converged)
    assert.are.same({false, 3}, {h[3].eq_converged, h[3].eq_failures})
    assert.are.same({0, 0}, {h[2].eq_failures, h[4].eq_failures})
    assert.are.equal("rounds_number", est.stop_reason)
    local ok, err = pcall(function()
      estimator{raise_on_nonconvergence = true}:fit(X, y, {rounds_number = 3,
        type_of_training = "faults_unconverged"})
    end)
    assert.is_false(ok)
    assert.truthy(err:find("fit: round 2: 3 equilibrium solves of the round did not converge "
      .. "(raise_on_nonconvergence is set)", 1, true), err)
    assert.has_error(function() estimator{raise_on_nonconvergence = 1} end,
      "idl.IDLModel: raise_on_nonconvergence must be a boolean, got 1")
  end)

  it("a normal fit converges everywhere", function()
    for _, kind in ipairs{"two_loops", "implicit"} do
      local est = estimator():fit(X, y, {rounds_number = 3, type_of_training = kind})
      assert.is_true(#est.history >= 2, kind .. ": history of " .. #est.history .. " entries")
      for _, e in ipairs(est.history) do
        assert.is_true(e.eq_converged)
        assert.are.equal(0, e.eq_failures)
      end
    end
  end)
end)
