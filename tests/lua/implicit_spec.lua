-- Training by implicit differentiation: gradients of the true loss against
-- finite differences, training on data from a known model, constraints and
-- reproducibility.
local idl = require "idl"
local optim = require "idl.optim"
local implicit = require "idl.implicit"

-- A random well-posed theta: ||D||_inf = 0.6, entries of both signs in Z.
local function random_theta(n, h, p, rng)
  local D = idl.randn(h, h, rng)
  idl.project_inf_(D, 0.6)
  return {A = idl.randn(p, h, rng), B = idl.randn(p, n, rng), c = idl.randn(p, 1, rng),
          D = D, E = idl.randn(h, n, rng), f = idl.randn(h, 1, rng, 0, 0.5)}
end

local function one_hot(labels, p)
  local Y = idl.zeros(p, #labels)
  for j, l in ipairs(labels) do Y:set(l, j, 1) end
  return Y
end

describe("implicit gradients", function()
  local tight = {tol = 1e-14, max_iter = 2000}
  local function true_loss(U, Y, loss)
    return function(theta)
      return (implicit.loss_and_grad(theta, U, Y, {loss = loss, tol = 1e-14, max_iter = 2000}))
    end
  end

  it("match finite differences of the true squared loss, all six blocks", function()
    for _, shape in ipairs{{3, 5, 1}, {4, 6, 2}} do
      local rng = idl.rng(shape[2])
      local theta = random_theta(shape[1], shape[2], shape[3], rng)
      local U, Y = idl.randn(shape[1], 7, rng), idl.randn(shape[3], 7, rng)
      local o = {loss = "squared"}
      for k, v in pairs(tight) do o[k] = v end
      local _, grads = implicit.loss_and_grad(theta, U, Y, o)
      local worst, per_key = optim.check_gradient(true_loss(U, Y, "squared"), theta, grads,
        {eps = 1e-6, floor = 1e-4})
      assert.is_true(worst < 1e-6, string.format("worst relative error %.2e (D %.1e, E %.1e, f %.1e)",
        worst, per_key.D, per_key.E, per_key.f))
    end
  end)

  it("match finite differences of the true cross-entropy", function()
    local rng = idl.rng(3)
    local theta = random_theta(3, 5, 4, rng)
    local U = idl.randn(3, 8, rng)
    local labels = {}
    for j = 1, 8 do labels[j] = rng:integer(4) end
    local Y = one_hot(labels, 4)
    local _, grads = implicit.loss_and_grad(theta, U, Y,
      {loss = "softmax_xent", tol = 1e-14, max_iter = 2000})
    local worst = optim.check_gradient(true_loss(U, Y, "softmax_xent"), theta, grads,
      {eps = 1e-6, floor = 1e-4})
    assert.is_true(worst < 1e-6, string.format("worst relative error %.2e", worst))
  end)
end)

describe("implicit gradients with backward_steps", function()
  -- one sample: dY = grads.c, G = A^T dY, Phi = 1[X > 0], and V = df; the
  -- k-step phantom gradient is V_1 = Phi G, V_k = Phi (D^T V_(k-1) + G)
  local rng = idl.rng(14) -- five of six units active, coupled through D
  local theta = random_theta(3, 6, 2, rng)
  local U, Y = idl.randn(3, 1, rng), idl.randn(2, 1, rng)
  local function grads_of(steps)
    local _, g, X = implicit.loss_and_grad(theta, U, Y, {loss = "squared", tol = 1e-14, max_iter = 2000,
      backward_steps = steps})
    return g, X
  end
  local exact, X = grads_of(0)
  local G = theta.A:t() * exact.c
  local function phantom(k)
    local V = idl.zeros(6, 1)
    for _ = 1, k do
      local W = theta.D:t() * V + G
      for i = 1, 6 do V:set(i, 1, X:get(i, 1) > 0 and W:get(i, 1) or 0) end
    end
    return V
  end

  it("are the k-term Neumann sums, tend to the exact gradient, and leave A, B, c alone", function()
    for _, k in ipairs{1, 2, 3} do
      local g = grads_of(k)
      assert.is_true(idl.equal(g.f, phantom(k), 1e-12), "k = " .. k)
      assert.is_true(idl.equal(g.E, phantom(k) * U:t(), 1e-12), "k = " .. k)
      assert.is_true(idl.equal(g.A, exact.A, 0) and idl.equal(g.c, exact.c, 0), "k = " .. k)
    end
    assert.is_false(idl.equal(grads_of(1).f, exact.f, 1e-6)) -- the phantom gradient is not the exact one
    assert.is_true(idl.equal(grads_of(500).f, exact.f, 1e-10))
  end)
end)

describe("implicit training", function()
  it("drives the true loss on data from a small known IDL model close to zero", function()
    local rng = idl.rng(7)
    local teacher = random_theta(2, 4, 1, rng)
    local U = idl.randn(2, 200, rng)
    local Y = implicit.predict(teacher, U)
    local theta = random_theta(2, 8, 1, idl.rng(99))
    for _, k in ipairs{"A", "B", "c"} do idl.scale(theta[k], 0.1) end
    local before = implicit.evaluate(theta, U, Y)
    local history = implicit.train(theta, U, Y, {epochs = 400, batch_size = 20, learning_rate = 1e-2,
      scales = {},
      patience = 400, lr_patience = 8, seed = 1})
    local after = implicit.evaluate(theta, U, Y)
    local var = 0
    local mean = Y:sum() / 200
    for j = 1, 200 do var = var + (Y:get(1, j) - mean) ^ 2 / 200 end
    assert.is_true(after < 1e-3 * var, string.format("loss %.3e, target variance %.3e, before %.3e",
      after, var, before))
    assert.is_true(#history >= 1)
  end)

  it("keeps every iterate's D in the constraint set and reproduces a seed", function()
    local function run(seed)
      local rng = idl.rng(5)
      local U, Y = idl.randn(3, 64, rng), idl.randn(1, 64, rng)
      local theta = random_theta(3, 6, 1, rng)
      local norms = {}
      implicit.train(theta, U, Y, {epochs = 5, batch_size = 16, learning_rate = 0.05, seed = seed,
        callback = function(_, t) norms[#norms + 1] = t.D:norm("inf") end})
      return theta, norms
    end
    local a, norms = run(1)
    assert.is_true(#norms >= 1, "the callback was never called")
    for _, v in ipairs(norms) do assert.is_true(v <= 0.95 + 1e-12) end
    local b = run(1)
    local c = run(2)
    assert.is_true(idl.equal(a.D, b.D, 0) and idl.equal(a.A, b.A, 0))
    assert.is_false(idl.equal(a.D, c.D, 1e-12))
  end)

  it("rejects unknown options and mismatched data", function()
    local theta = random_theta(2, 3, 1, idl.rng(1))
    local ok, msg = pcall(implicit.train, theta, idl.zeros(2, 4), idl.zeros(1, 4), {learnig_rate = 1})
    assert.is_false(ok)
    assert.matches("implicit.train: unknown option 'learnig_rate'", msg)
    ok, msg = pcall(implicit.train, theta, idl.zeros(2, 4), idl.zeros(1, 5))
    assert.is_false(ok)
    assert.matches("implicit.train: U has 4 columns, Y has 5", msg)
  end)
end)

describe("implicit training's defaults", function()
  it("are those of an estimator's implicit fit, but for the exact gradient", function()
    local d = implicit.defaults
    local spec = idl.trainers.registry.implicit
    local est = idl.IDLModel{}:get_params()
    assert.are.equal(spec.fit_defaults.rounds_number, d.epochs)
    assert.are.equal(spec.fit_defaults.patience, d.patience)
    assert.are.same({kind = d.constraint, kappa = d.kappa}, est.constraint)
    assert.are.equal(est.loss, d.loss)
    for _, name in ipairs(spec.options.names) do
      local exact = {backward_steps = true, forward_steps = true, forward_tol = true, precision = true}
      if not exact[name] then
        assert.are.equal(spec.options:info(name).default, d[name], name)
      end
    end
    assert.are.same({0, 0, "double"}, {d.backward_steps, d.forward_steps, d.precision})
    local info = spec.options
    assert.are.same({1, 1}, {info:info("backward_steps").default, info:info("forward_steps").default})
  end)
end)

describe("implicit training's solver tolerances", function()
  -- a small well-posed problem: the epochs' mean iterations per batch
  -- (history inner_iterations = forward + backward) and the model trained
  local X, y = idl.data.implicit(200, idl.rng(4), {n = 3, h = 6, p = 1, density = 0.5, kappa = 0.8})
  local function run(trainer_options, phantom)
    -- the tolerances concern the exact backward solve unless phantom
    if not phantom then
      trainer_options.backward_steps = trainer_options.backward_steps or 0
      trainer_options.forward_steps = trainer_options.forward_steps or 0
    end
    trainer_options.warmup_epochs = 0 -- the solves of the MLP phase are no solves
    local est = idl.IDLModel{hidden_variables = 8, random_state = 1, verbosity = false,
      early_stopping = false}
    est:fit(X, y, {rounds_number = 2, type_of_training = "implicit", trainer_options = trainer_options})
    return est.history[2].inner_iterations + est.history[3].inner_iterations, est
  end

  it("forward_tol and backward_tol each set one solve; tol stands in for an unset backward_tol", function()
    local _, both = run{tol = 1e-4}
    local _, split = run{tol = 1e-12, forward_tol = 1e-3, backward_tol = 1e-4}
    assert.is_true(idl.equal(both.model.theta.D, split.model.theta.D, 0))
    assert.is_true(idl.equal(both:predict(X), split:predict(X), 0))
    local tight = run{tol = 1e-10, forward_tol = 1e-10}
    local loose_forward, lf = run{tol = 1e-10, forward_tol = 1e-2}
    local loose_backward, lb = run{tol = 1e-10, backward_tol = 1e-2}
    assert.is_true(loose_forward < tight, string.format("%d vs %d iterations", loose_forward, tight))
    assert.is_true(loose_backward < tight, string.format("%d vs %d iterations", loose_backward, tight))
    assert.is_false(idl.equal(lf.model.theta.D, lb.model.theta.D, 0)) -- not the same solve loosened
  end)

  it("the estimator trains with the 1-step phantom gradient unless backward_steps = 0 asks for the exact one",
    function()
    local _, default = run({}, true)
    local _, one = run({backward_steps = 1}, true)
    local _, exact = run({backward_steps = 0}, true)
    assert.is_true(idl.equal(default.model.theta.D, one.model.theta.D, 0))
    assert.is_false(idl.equal(default.model.theta.D, exact.model.theta.D, 1e-8))
  end)
end)

describe("implicit training's MLP phase (warmup_epochs)", function()
  local X, y = idl.data.implicit(200, idl.rng(4), {n = 3, h = 6, p = 1, density = 0.5, kappa = 0.8})
  local function fit(params, trainer_options, rounds)
    local p = {hidden_variables = 6, random_state = 1, verbosity = false, early_stopping = false,
      initialization = "linear"}
    for k, v in pairs(params) do p[k] = v end
    local D_max = {}
    local est = idl.IDLModel(p)
    est:fit(X, y, {rounds_number = rounds, type_of_training = "implicit", trainer_options = trainer_options,
      callbacks = function(s) D_max[s.round] = s.model.theta.D:norm("max") end})
    return est, D_max
  end

  it("is exactly the training of the network with D projected to 0, without solves", function()
    -- with D = 0 the equilibrium is (E u + f)_+ and V = Phi G: the same steps
    -- of E, f, A, B, c whichever way they are computed (up to rounding: the
    -- solver's first warm start is the raw model's X, equal to (E u + f)_+ in
    -- standardized units to ~1e-16, which its tolerance accepts)
    local warm = fit({}, {warmup_epochs = 3, backward_steps = 0, forward_tol = 1e-12, precision = "double"},
      3)
    local projected = fit({constraint = {kind = "inf", kappa = 0}},
      {warmup_epochs = 0, backward_steps = 0, forward_tol = 1e-12, precision = "double"}, 3)
    for _, k in ipairs{"A", "B", "c", "E", "f"} do
      assert.is_true(idl.equal(warm.model.theta[k], projected.model.theta[k], 1e-12), "theta." .. k)
    end
    for r = 2, 4 do
      assert.are.equal(0, warm.history[r].inner_iterations)
      assert.is_true(projected.history[r].inner_iterations > 0)
    end
  end)

  it("holds D at 0 for warmup_epochs epochs, then trains it", function()
    local _, D_max = fit({}, {warmup_epochs = 2}, 4)
    assert.are.same({0, 0}, {D_max[1], D_max[2]})
    assert.is_true(D_max[3] > 0 and D_max[4] > 0)
  end)

  it("ends when the training loss stalls for lr_patience epochs", function()
    -- min_delta 1: no epoch improves by 100%, so the first epoch sets the
    -- best and two more without improvement end the phase
    local _, D_max = fit({}, {warmup_epochs = 10, min_delta = 1, lr_patience = 2}, 5)
    assert.are.same({0, 0, 0}, {D_max[1], D_max[2], D_max[3]})
    assert.is_true(D_max[4] > 0 and D_max[5] > 0)
  end)

  it("restarts early stopping's patience count when D is released", function()
    -- min_improvement 0.99: no epoch restarts the count by itself (it would
    -- take a 99% fall of the hold-out loss), so patience 4 ends the fit 4
    -- epochs after the release at epoch 3, not at epoch 4
    local est = fit({early_stopping = true, patience = 4, min_improvement = 0.99}, {warmup_epochs = 3}, 50)
    assert.are.equal("early_stopping", est.stop_reason)
    assert.are.equal(3 + 4, #est.history - 1)
  end)

  it("measures the train loss from the epoch's warm starts, to monitor_tol", function()
    -- every 2nd epoch, the solve starting at the trainer's per-sample X; the
    -- loss against a tight solve of the same model (standardization does not
    -- change the hidden state)
    local est = fit({monitor_train_every = 2}, {warmup_epochs = 1}, 4)
    local s, e = est.state, est.history[5]
    assert.are.equal(4, e.round)
    local Yhat = est.model:predict_u(s.U, {tol = 1e-12, max_iter = 10000})
    local want = (Yhat - s.Y):norm("fro") ^ 2 / (2 * s.U:cols())
    assert.is_near(want, e.train_l2, 1e-3 * want)
  end)

  it("does not run from a nonzero D (the picard_ls start)", function()
    local est = fit({initialization = "picard_ls"}, {warmup_epochs = 5}, 1)
    assert.is_true(est.history[2].inner_iterations > 0)
  end)
end)

describe("implicit training in single precision (precision = \"single\")", function()
  local X, y = idl.data.implicit(200, idl.rng(4), {n = 3, h = 6, p = 1, density = 0.5, kappa = 0.8})
  local function fit(trainer_options)
    local est = idl.IDLModel{hidden_variables = 6, random_state = 1, verbosity = false,
      early_stopping = false}
    trainer_options.warmup_epochs = 0
    est:fit(X, y, {rounds_number = 2, type_of_training = "implicit", trainer_options = trainer_options})
    return est
  end

  it("trains what double precision trains, to float rounding", function()
    -- the solves differ by ~1e-7 relative; two epochs of Adam steps carry
    -- that into the parameters without amplifying it much
    local single, double = fit{precision = "single"}, fit{precision = "double"}
    local D1, D2 = single.model.theta.D, double.model.theta.D
    assert.is_true((D1 - D2):norm("max") <= 1e-4 * D2:norm("max"))
    assert.is_false(idl.equal(D1, D2, 0)) -- the single solves did run
  end)

  it("raises a tolerance below what float reaches, and refuses anderson", function()
    local est = fit{precision = "single", tol = 1e-12, backward_steps = 0, forward_steps = 0}
    assert.are.equal(3, #est.history)
    local ok, err = pcall(fit, {precision = "single", method = "anderson", forward_steps = 0})
    assert.is_false(ok)
    assert.matches("implicit_spec.lua:%d+: idl.IDLModel:fit: trainer_options.precision = \"single\" needs "
      .. "method = \"picard\"", err)
  end)
end)
