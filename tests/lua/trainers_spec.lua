-- trainers_spec.lua: the relaxed-training steps against idl.gradients and
-- idl.lipschitz, monotone decrease of G, feasibility of every iterate, the
-- training loop (history, callbacks, best model, early stopping, registry).
-- The initializations are in init_spec.lua.
local idl = require "idl"
local model = require "idl.model"
local trainers = require "idl.trainers"

local function problem(seed, n, h, p, m)
  local rng = idl.rng(seed)
  local U = idl.randn(n, m, rng)
  local Y = idl.randn(p, m, rng)
  local theta = {A = idl.randn(p, h, rng), B = idl.randn(p, n, rng), c = idl.randn(p, 1, rng),
    D = idl.randn(h, h, rng, 0, 0.3), E = idl.randn(h, n, rng), f = idl.randn(h, 1, rng)}
  idl.project_inf_(theta.D, 0.5)
  local X = idl.rand(h, m, rng)
  local lambda = idl.rand(h, 1, rng, 0.5, 1.5)
  return theta, X, U, Y, lambda
end

local function state(seed, constraint, lambda_const)
  local theta, X, U, Y, lambda = problem(seed, 3, 6, 2, 40)
  if lambda_const then lambda = idl.full(6, 1, lambda_const) end
  local mdl = model.new{theta = theta, lambda = lambda,
    constraint = constraint or {kind = "inf", kappa = 0.5}}
  return trainers.new_state{model = mdl, U = U, Y = Y, X = X}
end

local function rel_close(a, b, tol)
  return idl.equal(a, b, tol * math.max(1, b:norm("max")))
end

describe("idl.trainers steps", function()
  it("objective agrees with idl.objective", function()
    local s = state(1)
    local G, L, F = trainers.objective(s)
    local G2, L2, F2 = idl.objective(s.model.theta, s.X, s.U, s.Y, s.model.lambda)
    assert.is_near(G2, G, 1e-12 * math.abs(G2)); assert.is_near(L2, L, 1e-12 * math.abs(L2))
    assert.is_true(rel_close(F, F2, 1e-12))
  end)

  it("theta_step is the projected gradient step with idl.lipschitz's constants", function()
    local s = state(2)
    local th, X, U, Y, lam = s.model.theta, s.X, s.U, s.Y, s.model.lambda
    local g = idl.gradients(th, X, U, Y, lam)
    local lip = idl.lipschitz(th, X, U, lam)
    local want = {}
    for _, k in ipairs{"A", "B", "c"} do want[k] = th[k] - g[k] * (1 / lip.theta1) end
    for _, k in ipairs{"D", "E", "f"} do want[k] = th[k] - g[k] * (1 / lip.theta2) end
    idl.project_inf_(want.D, 0.5)
    trainers.theta_step(s)
    for k, v in pairs(want) do assert.is_true(rel_close(th[k], v, 1e-12), k) end
  end)

  it("x_step is the projected gradient step with the X constant", function()
    local s = state(3)
    local th, X, U, Y, lam = s.model.theta, s.X, s.U, s.Y, s.model.lambda
    local g = idl.gradients(th, X, U, Y, lam)
    local lip = idl.lipschitz(th, X, U, lam)
    local want = (X - g.X * (1 / lip.x)):relu()
    trainers.x_step(s)
    assert.is_near(lip.x, s.last_constants.x, 1e-12 * lip.x)
    assert.is_true(rel_close(s.X, want, 1e-12))
  end)

  it("dual_step raises lambda where F >= eps only", function()
    local s = state(4)
    local _, _, F = idl.objective(s.model.theta, s.X, s.U, s.Y, s.model.lambda)
    local eps = (F:get(1, 1) + F:get(2, 1)) / 2 -- some units above, some below
    local before = s.model.lambda:copy()
    local count = trainers.dual_step(s, {dual_learning_rate = 0.5, tol_fenchel = eps})
    local expected = 0
    for i = 1, 6 do
      local f = F:get(i, 1)
      local want = before:get(i, 1) + (f >= eps and 0.5 * f or 0)
      if f >= eps then expected = expected + 1 end
      assert.is_near(want, s.model.lambda:get(i, 1), 1e-14)
    end
    assert.are.equal(expected, count)
  end)

  it("abc_exact zeroes the (A, B, c) gradients", function()
    local s = state(5)
    trainers.abc_exact(s)
    local g = idl.gradients(s.model.theta, s.X, s.U, s.Y, s.model.lambda)
    for _, k in ipairs{"A", "B", "c"} do assert.is_true(g[k]:norm("max") < 1e-8, k) end
  end)

  it("uses constants that bound the exact ones at every step", function()
    local s = state(12)
    local carried = 0
    for k = 1, 12 do
      local th, lam = s.model.theta, s.model.lambda
      local exact = idl.lipschitz(th, s.X, s.U, lam)
      if k % 2 == 1 then
        trainers.theta_step(s)
        assert.is_true(s.last_constants.theta1 >= exact.theta1 * (1 - 1e-12))
        assert.is_true(s.last_constants.theta2 >= exact.theta2 * (1 - 1e-12))
        assert.is_true(s.last_constants.theta1 <= 1.1 ^ 2 * 1.5 * exact.theta1)
      else
        trainers.x_step(s)
        -- valid, and at most lipschitz_slack (1.1) above the exact constant
        local lx = s.last_constants.x
        assert.is_true(lx >= exact.x * (1 - 1e-12) and lx <= 1.1 * exact.x * (1 + 1e-12))
        if math.abs(lx - exact.x) > 1e-12 * exact.x then carried = carried + 1 end
      end
    end
    assert.is_true(carried > 0) -- some X steps took the bound carried from an exact one
  end)

  for _, c in ipairs{{kind = "inf", kappa = 0.4}, {kind = "spectral", kappa = 0.4}, {kind = "lmi"}} do
    it("never increases G and keeps D in the " .. c.kind .. " set, step after step", function()
      -- constant lambda: the LMI projection is then Euclidean (projected gradient theory applies)
      local s = state(6, c, 0.8)
      local lam = s.model.lambda
      model.project_(s.model.theta.D, c, lam)
      trainers.invalidate(s)
      local g0 = trainers.objective(s)
      for k = 1, 20 do
        local step = k % 2 == 1 and trainers.theta_step or trainers.x_step
        step(s)
        local g1 = trainers.objective(s)
        assert.is_true(g1 <= g0 + 1e-12 * math.abs(g0), string.format("step %d: %.17g > %.17g", k, g1, g0))
        assert.is_true(model.in_set(s.model.theta.D, c, lam, 1e-9))
        assert.is_true(s.X:relu():norm("max") == s.X:norm("max") and (-s.X):relu():norm("max") == 0)
        g0 = g1
      end
    end)
  end
end)

describe("idl.trainers rounds", function()
  for _, name in ipairs{"two_loops", "one_loop", "bcd"} do
    it(name .. " decreases G over rounds (lambda fixed) and keeps D in the set", function()
      local s = state(7, {kind = "inf", kappa = 0.5})
      local seen = 0
      trainers.run(name, s, {rounds_number = 6, dual_learning_rate = 0, tol_fenchel = 0, inner_max_iter = 20,
        callbacks = function(st, e)
          seen = seen + 1
          assert.are.equal(seen, e.round)
          assert.is_true(st.model.theta.D:norm("inf") <= 0.5 + 1e-12)
        end})
      assert.are.equal(6, seen)
      assert.are.equal(7, #s.history)
      assert.are.equal(0, s.history[1].round)
      for k = 2, #s.history do
        local a, b = s.history[k - 1].G, s.history[k].G
        assert.is_true(b <= a + 1e-12 * a, string.format("%s round %d: G %.17g > %.17g", name, k - 1, b, a))
      end
      assert.is_true(s.history[#s.history].G < s.history[1].G)
    end)
  end

  it("two_loops runs two forward passes a step: a round's last one serves the next round", function()
    -- a step: theta step, X step, G after them; the theta step reads the forward
    -- pass of G before it (the last round's), so 2 a round after the first pass
    -- of the run (round 0's G), plus one for the centred twin's first round
    local core = require "idl.core"
    local raw = core.relaxed_forward
    for _, centre in ipairs{true, false} do
      local s, calls = state(9), 0
      core.relaxed_forward = function(...) calls = calls + 1; return raw(...) end
      local ok, err = pcall(trainers.run, "two_loops", s, {rounds_number = 3, inner_max_iter = 1,
        centre_inputs = centre, monitor_train_every = 0})
      core.relaxed_forward = raw
      assert(ok, err)
      assert.are.equal(1 + 2 * 3 + (centre and 1 or 0), calls, "centre_inputs = " .. tostring(centre))
    end
  end)

  it("records what each history field says", function()
    local s = state(8)
    local Ue, Ye = idl.randn(3, 15, idl.rng(80)), idl.randn(2, 15, idl.rng(81))
    s.eval = {U = Ue, Y = Ye}
    trainers.run("one_loop", s, {rounds_number = 2, monitor_tol = 1e-12})
    local e = s.history[3]
    local G, L = idl.objective(s.model.theta, s.X, s.U, s.Y, s.model.lambda)
    assert.is_near(G, e.G, 1e-12 * G); assert.is_near(L, e.relaxed_l2, 1e-12 * L)
    -- true losses: an independent equilibrium by plain Picard
    local function true_l2(U, Y)
      local th = s.model.theta
      local X = idl.zeros(6, U:cols())
      for _ = 1, 300 do
        local Z = th.D * X + th.E * U
        idl.add_col(Z, 1, th.f)
        X = Z:relu()
      end
      local R = th.A * X + th.B * U - Y
      idl.add_col(R, 1, th.c)
      return R:norm("fro") ^ 2 / (2 * U:cols())
    end
    assert.is_near(true_l2(s.U, s.Y), e.train_l2, 1e-7)
    assert.is_near(true_l2(Ue, Ye), e.eval_l2, 1e-7)
    assert.is_near(math.sqrt(2 * e.eval_l2 / 2), e.eval_rmse, 1e-12)
    local th = s.model.theta
    local Z = th.D * s.X + th.E * s.U
    idl.add_col(Z, 1, th.f)
    assert.is_near((s.X - Z:relu()):norm("fro"), e.residual, 1e-10)
    local l1 = 0
    for i = 1, 6 do l1 = l1 + math.abs(s.model.lambda:get(i, 1)) end
    assert.is_near(l1, e.lambda_l1, 1e-12)
    assert.is_true(e.seconds >= 0 and e.round_seconds >= 0)
  end)

  it("solves the per-round losses in float32 with monitor_precision = \"single\"", function()
    -- the same rounds (monitoring does not steer one_loop), losses within
    -- float's rounding of the double ones; monitor_tol 1e-12 is raised to 1e-6
    local runs = {}
    for _, precision in ipairs{"double", "single"} do
      local s = state(8)
      s.eval = {U = idl.randn(3, 15, idl.rng(80)), Y = idl.randn(2, 15, idl.rng(81))}
      trainers.run("one_loop", s, {rounds_number = 2, monitor_tol = 1e-12, monitor_precision = precision})
      runs[precision] = s
    end
    local d, f = runs.double.history[3], runs.single.history[3]
    assert.are.equal(d.G, f.G)
    assert.is_near(d.train_l2, f.train_l2, 1e-5 * d.train_l2)
    assert.are_not.equal(d.train_l2, f.train_l2)
    assert.is_near(d.eval_l2, f.eval_l2, 1e-5 * d.eval_l2)
    assert.has_error(function() trainers.run("one_loop", state(8), {rounds_number = 1,
      monitor_precision = "half"}) end)
  end)

  it("keeps the best round's X only for trainers that train X", function()
    -- implicit (relaxed = false) does not move s.X: its best has no copy of it
    for _, t in ipairs{{"one_loop", true}, {"implicit", false}} do
      local s = state(8)
      s.eval = {U = idl.randn(3, 15, idl.rng(80)), Y = idl.randn(2, 15, idl.rng(81))}
      trainers.run(t[1], s, {rounds_number = 2})
      assert.are.equal(t[2], s.best.X ~= nil, t[1])
      trainers.restore_best(s)
    end
  end)

  it("keeps a copy of the best model and restores it when the eval loss stalls", function()
    local s = state(9)
    s.eval = {U = s.U, Y = s.Y}
    -- a schedule that only makes the model worse: A drifts away
    local function worse(st)
      idl.axpy(st.model.theta.A, 1, idl.ones(2, 6))
      trainers.invalidate(st)
    end
    local A0 = s.model.theta.A:copy()
    local m0 = s.model
    trainers.run(worse, s, {rounds_number = 50, early_stopping = true, patience = 3, relaxed = false})
    assert.are.equal("early_stopping", s.stop_reason)
    assert.are.equal(3, s.round)
    assert.are.equal(0, s.best.round)
    assert.are.equal(m0, s.model) -- restored in place
    assert.is_true(idl.equal(s.model.theta.A, A0))
    assert.is_false(rawequal(s.model.theta.A, s.best.model.theta.A)) -- a copy, not an alias
  end)

  it("measures the true train loss every k rounds and at the end", function()
    local s = state(13)
    trainers.run("one_loop", s, {rounds_number = 5, monitor_train_every = 2})
    local have = {}
    for _, e in ipairs(s.history) do have[#have + 1] = e.train_l2 ~= nil end
    assert.are.same({true, false, true, false, true, true}, have)
  end)

  it("stops when a callback says so or when no unit needs a dual step", function()
    local s = state(10)
    trainers.run("one_loop", s, {rounds_number = 10, callbacks = {function(_, e) return e.round == 2 end}})
    assert.are.equal("callback", s.stop_reason); assert.are.equal(2, s.round)
    local s2 = state(10)
    trainers.run("two_loops", s2, {rounds_number = 10, tol_fenchel = math.huge})
    assert.are.equal("converged", s2.stop_reason); assert.are.equal(1, s2.round)
  end)

  it("runs registered trainers by name and is deterministic", function()
    local calls = 0
    trainers.register("spec_trainer", function(st)
      calls = calls + 1
      trainers.theta_step(st)
    end)
    local a, b = state(11), state(11)
    trainers.run("spec_trainer", a, {rounds_number = 3})
    trainers.run("spec_trainer", b, {rounds_number = 3})
    assert.are.equal(6, calls)
    for k, v in pairs(a.model.theta) do assert.is_true(idl.equal(v, b.model.theta[k]), k) end
    assert.are.equal(a.history[4].train_l2, b.history[4].train_l2)
    trainers.registry.spec_trainer = nil
    assert.has_error(function() trainers.run("nope", a, {}) end,
      "idl.trainers.run: unknown trainer 'nope' (known: bcd, hybrid, implicit, one_loop, two_loops)")
  end)
end)

describe("a trainer in a file of its own", function()
  it("is loaded by name from idl/train/<name>.lua, its options checked against its schema", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert.is_true(os.execute("mkdir -p '" .. dir .. "/idl/train'"))
    local f = assert(io.open(dir .. "/idl/train/spec_file_trainer.lua", "w"))
    f:write([[
local steps = require "idl.train.relaxed"
return {name = "spec_file_trainer",
  options = require("idl.params").schema{{"x_steps", 1, {"count", min = 1}, "X steps per round"}},
  round = function(s, _, opts)
    for _ = 1, opts.x_steps do steps.x_step(s) end
    return {iterations = opts.x_steps, stop = s.round >= 2}
  end}
]])
    f:close()
    local saved = package.path
    package.path = dir .. "/?.lua;" .. package.path
    local ok, err = pcall(function()
      local s = state(13)
      trainers.run("spec_file_trainer", s, {rounds_number = 5, trainer_options = {x_steps = 3}})
      assert.are.equal("converged", s.stop_reason) -- its round said stop at round 2
      assert.are.equal(2, s.round)
      assert.are.same({3, 3}, {s.history[2].inner_iterations, s.history[3].inner_iterations})
      assert.truthy(trainers.registry.spec_file_trainer)
      assert.has_error(function()
        trainers.run("spec_file_trainer", state(13), {trainer_options = {x_steps = 0}})
      end)
      local _, msg = pcall(trainers.run, "spec_file_trainer", state(13), {trainer_options = {x_step = 2}})
      assert.truthy(tostring(msg):find("trainers.run: unknown option 'x_step'", 1, true), msg)
      -- the estimator finds a trainer by its file too, on first use
      local g = assert(io.open(dir .. "/idl/train/spec_file_fit.lua", "w"))
      g:write([[return {name = "spec_file_fit", fit_defaults = {rounds_number = 3},
        round = function(s) require("idl.train.relaxed").x_step(s); return {iterations = 1} end}]])
      g:close()
      local rng = idl.rng(3)
      local Xs, ys = idl.randn(30, 2, rng), idl.randn(30, 1, rng)
      local est = idl.IDLModel{hidden_variables = 3, random_state = 1}:fit(Xs, ys,
        {type_of_training = "spec_file_fit"})
      assert.are.equal(4, #est.history) -- its fit_defaults' 3 rounds, after round 0
      trainers.registry.spec_file_fit = nil
      package.loaded["idl.train.spec_file_fit"] = nil
    end)
    package.path = saved
    trainers.registry.spec_file_trainer = nil
    package.loaded["idl.train.spec_file_trainer"] = nil
    os.execute("rm -rf '" .. dir .. "'")
    assert(ok, err)
  end)
end)
