--- The "implicit" trainer: training by implicit differentiation, the
-- gradient of the TRUE loss through the equilibrium (El Ghaoui et al.;
-- README: what the 2019 report gets wrong). For a batch U (n x b) with targets Y (p x b):
--
--     B0 = E U + f 1^T,  X = (D X + B0)_+ (equilibrium)
--     Yhat = A X + B U + c 1^T,  loss = l(Yhat, Y),  dY = dl/dYhat
--     dA = dY X^T, dB = dY U^T, dc = dY 1, G = A^T dY
--     V solves (I - Phi D^T) V = Phi G with Phi = 1[X > 0]
--     dD = V X^T,  dE = V U^T,  df = V 1
--
-- then one projected optimizer step (idl.optim.projected: D back into the
-- constraint set, so every iterate is well-posed). One round is one epoch of
-- mini-batches in standardized coordinates (idl.standardize); each sample's
-- equilibrium is warm-started from its previous state. The learning rate
-- follows idl.optim's plateau schedule on the training loss. The model (raw
-- units) is written after each round, so the loop measures, keeps the best
-- model and stops early as for every trainer. One batch's forward, loss and
-- gradients are idl.train.implicit_batch; this file has the options, the
-- epochs (in memory and data-parallel), the MLP phase and the state.
-- @module idl.train.implicit

local core = require "idl.core"
local api = require "idl._api"
local distributed = require "idl.distributed"
local mpi = require "idl.mpi"
local util = require "idl._util"
local model_mod = require "idl.model"
local optim = require "idl.optim"
local params = require "idl.params"
local standardize = require "idl.standardize"
local state = require "idl.train.state"
local steps = require "idl.train.relaxed"
local registry = require "idl.train.registry"
local batch = require "idl.train.implicit_batch"

local implicit = {name = "implicit", relaxed = false}

local function batch_size_check(v, what)
  if v == "auto" or (math.type(v) == "integer" and v >= 0) then return v end
  return nil, what .. " must be \"auto\" or an integer >= 0, got " .. api.describe(v)
end

local function scales_check(v, what)
  if v == "auto" or type(v) == "table" then return v end
  return nil, what .. " must be \"auto\" or a table of per-block factors, got " .. api.describe(v)
end

-- implicit.OPTIONS: the entries of its options (config.trainer_options).
implicit.OPTIONS = {
  {"learning_rate", 1e-2, {"number", min = 0}, "the optimizer's step size (halved on plateaus)"},
  {"optimizer", "adam", {"choice", choices = {"adam", "sgd"}}, "the optimizer (idl.optim)"},
  {"momentum", 0.9, {"number", min = 0}, "sgd only"},
  {"weight_decay", 0, {"number", min = 0}, "L2 penalty of the optimizer"},
  {"batch_size", "auto", batch_size_check,
    "mini-batch size: \"auto\" = m/32 within [32, 256]; 0: full batch"},
  {"tol", 1e-7, {"number", gt = 0}, "the backward solves' tolerance when backward_tol is nil (predict uses "
    .. "the estimator's tol)"},
  -- loose forward solves during training: as accurate, 11% faster on small
  -- tables (cv_defaults ftol1e-3); the losses early stopping compares are
  -- measured at monitor_tol, predictions at the estimator's tol
  {"forward_tol", 1e-3, {"number", gt = 0}, "the forward (equilibrium) solves' tolerance during training"},
  {"backward_tol", nil, {"number", gt = 0}, "the backward (implicit_backward) solves' tolerance (nil: tol)"},
  -- 1 step from the warm starts (each sample's X of its previous epoch):
  -- 5-fold CV, seeds 0, 1 on noisy5/10/20, nonlinear5, friedman1/2/3 and
  -- digits, geo/best 1.0009 against 1.0004 with 2 steps (which measured
  -- 1.004 against 1.003 solving to forward_tol, 12% less time); on sec71 a
  -- fit a quarter to a third shorter (one product D X a batch instead of two,
  -- early stopping sooner) for a test RMSE 5-7% higher (scratch curves)
  {"forward_steps", 1, {"count", min = 0}, "0: forward solves to forward_tol; k > 0: at most k Picard steps "
    .. "from the warm start (fewer when forward_tol is met): k products D X, not one more than the steps"},
  -- the phantom gradient: cv_defaults (noisy5, noisy10, nonlinear5,
  -- friedman1, seed 0) geo/best 1.004 (k = 3) and 1.001 (k = 1) vs 1.077
  -- exact; bench_vs_mlp sec71: 146.8 s -> 46.4 s with k = 3; k = 1 (the
  -- Jacobian-free gradient, V = Phi G) costs no product at all: the solve
  -- starts at V = 0, whose first step needs no GEMM
  {"backward_steps", 1, {"count", min = 0}, "0: the exact gradient (backward solve to backward_tol); k > 0: "
    .. "the k-step phantom gradient sum_{i<k} (Phi D^T)^i Phi G (k = 1: Jacobian-free), cheaper, inexact"},
  {"warmup_epochs", 20, {"count", min = 0}, "an MLP phase first, when training starts at D = 0: at most this "
    .. "many epochs with D held at 0, where x = (E u + f)_+ needs no equilibrium solve and no D product; it "
    .. "ends earlier when the training loss stops improving (lr_patience epochs); 0: none"},
  {"max_iter", 300, {"count", min = 1}, "solver iterations per solve at most"},
  -- float32 solves: sec71 seed 0, the same test RMSE at every 10th epoch to
  -- 4 digits (0.002640 after 80), 16.8 instead of 20.3 CPU s (the solves
  -- ~1.8x faster: experiments/bench_precision.lua)
  {"precision", "single", {"choice", choices = {"double", "single"}}, "arithmetic of the training solves "
    .. "(forward and backward Picard iterations; \"single\": float32, needs method \"picard\", tolerances "
    .. "below 1e-6 raised to it), and dL/dD's product; predictions stay double (the monitored losses: "
    .. "monitor_precision)"},
  {"method", "picard", {"choice", choices = {"picard", "anderson"}}, "equilibrium solver"},
  -- halving after 2 stalled epochs: against 3, cv_defaults (5 folds) geo/best
  -- 1.006 vs 1.007 (seeds 0, 1) and 1.004 vs 1.002 (seeds 2, 3) on the eleven
  -- small tables; sec71 seeds 0-3 stop at epochs 68/63/71/59 instead of
  -- 68/92/71/87 for a test RMSE 2-7% higher (still 0.43x/0.44x scikit-learn's
  -- MLP), the time target's margin (bench_vs_mlp seed 1: 1.14x-1.30x instead
  -- of 1.56x-2.11x). 8 had swung between 0.0029 and 0.0039 on sec71.
  {"lr_patience", 2, {"count", min = 1}, "rounds without improvement of the training loss before halving"},
  {"min_lr", 1e-5, {"number", min = 0}, "the learning rate is never halved below this"},
  {"min_delta", 1e-4, {"number", min = 0}, "relative improvement that counts"},
  {"seed", 0, {"number", integer = true}, "shuffling generator seed"},
  {"standardize_targets", true, "boolean", "train on standardized targets (squared loss)"},
  {"scales", "auto", scales_check,
    "per-block learning-rate factors; \"auto\": 1/sqrt(h) for D and A, whose h inputs add up coherently"},
}
implicit.options = params.schema(implicit.OPTIONS)

-- Chosen by 5-fold cross-validation over generated tables (README, Choosing a
-- trainer; experiments/cv_defaults.lua "proposed"): at most 200 epochs, on a
-- hold-out of 20% of the training samples (10% from 1,000 samples on).
implicit.fit_defaults = {
  rounds_number = 200,
  holdout = {{0, 0.2}, {1000, 0.1}},
  -- below 1,000 samples, where the hold-out takes a fifth of them, the
  -- model is trained again on all of them for the epochs the hold-out chose:
  -- cv_defaults full_refit, 5-fold CV, seeds 0 and 1: nonlinear5 0.1695 ->
  -- 0.1475, friedman1 1.240 -> 1.204, noisy5/10 0.7361/0.7711 ->
  -- 0.7276/0.7703, friedman2/3 129.7/0.1214 -> 130.2/0.1223, for 1.6x the
  -- time; the fit of the 7.1 problem (9,000 samples) is not retrained
  refit_below = 1000,
  -- below 2,000 samples the estimator fits three models (other starts,
  -- hold-outs and batches) and keeps their mean (ensemble_size "auto"). One
  -- fit's score varies with its seed: on nonlinear5 (cv_defaults, 5 folds,
  -- seeds 0, 1; single, single_rs1000, single_rs2000) one fit scores 0.172
  -- on average (a fit stopped on the plateau after D's release: 0.47), the
  -- mean of three 0.149; friedman1 1.208 -> 1.172, rings 87.98% -> 89.20%,
  -- digits 97.22% -> 97.50%, the noisy tables the same, for 3x a fit of a
  -- tenth of a second (scikit-learn's MLP: 1.2 s, 3.5 s on the classes). At
  -- 1,920 samples three fits take 1.73 s against the MLP's 1.86 s; on sec71
  -- (9,000) three would cut the error 6-9% for 3x the fit (bench_vs_mlp
  -- --ensemble 3), past the time target: one model there.
  ensemble = {size = 3, below = 2000},
  -- stop when 15 epochs bring no 5% fall of the hold-out loss (the count
  -- restarts when D is released; the best model is kept on any fall). Against
  -- 20 epochs and 1%: 5-fold CV, seeds 0 and 1, on noisy5/10/20, nonlinear5,
  -- friedman1/2/3 the geometric mean of RMSE / best 1.0034 vs 1.0049 in 4.6
  -- vs 9.8 CPU s; digits 2.75% errors either way, 6.4 vs 9.2 s; sec71 76/86
  -- epochs instead of 110/100 for a test RMSE 3%/0% higher (scratch
  -- learning curves). Larger falls (10%) or 10 epochs stopped nonlinear5
  -- in the still stretch around the release (RMSE 0.19 instead of 0.16).
  patience = 15,
  min_improvement = 0.05,
  -- early stopping reads the hold-out loss, not the true train loss, whose
  -- full forward solve at monitor_tol every epoch took 38% of a fit on the
  -- 7.1 problem (bench_vs_mlp sec71: 235.5 s -> 146.8 s): measured every
  -- 20th epoch (and at the end), the fitted model is the same; every 10th
  -- was still 12% of a sec71 fit once the epochs got cheaper
  monitor_train_every = 20,
  -- monitor_tol 1e-3: the hold-out and train solves from warm starts
  -- (early stopping asks for 5% falls); 5-fold CV, seeds 0, 1 on
  -- noisy5/10/20, nonlinear5, friedman1/2/3 and digits: the same scores as at
  -- 1e-4 but nonlinear5's 0.1797 vs 0.1791; sec71 the same epochs and model,
  -- 18% less CPU (1e-4 had cost 8% less time than 1e-6, the same scores)
  monitor_tol = 1e-3,
  -- the hold-out and train losses solved in float32: 24% of a sec71 fit was
  -- monitoring in double (bench_vs_mlp, after the engine's per-batch costs
  -- fell); float's 6e-8 relative error is far below monitor_tol
  monitor_precision = "single",
  -- A least-squares readout with a tiny ridge has huge, cancelling weights
  -- that the first gradient steps wreck; a firmer ridge starts from a
  -- readout that training can refine. (For "linear" and "picard_ls"; a
  -- strategy that takes neither option gets none: idl.initializers.accepted.)
  initialization_options = {ridge = 1e-4, standardize = true},
}

-- The projection after every step of an epoch: D onto {kind =
-- opts.constraint, kappa = opts.kappa} in place (the "lmi" set uses lambda =
-- 1, for which (2.4) alone already guarantees well-posedness); the constraint
-- table and lambda made once an epoch, not at each step.
local function projector(opts)
  local constraint, lambda = {kind = opts.constraint, kappa = opts.kappa}, nil
  return function(t)
    lambda = lambda or core.ones(t.D:rows(), 1)
    model_mod.project_(t.D, constraint, lambda)
  end
end

-- One mini-batch's loss and gradients (idl.train.implicit_batch), also the
-- streamed trainer's (idl.train.implicit_stream).
implicit.loss_function, implicit.workspace, implicit.new_grads = batch.loss_function, batch.workspace,
  batch.new_grads
implicit.forward, implicit.backward = batch.forward, batch.backward
implicit.fault, implicit.is_fault = batch.fault, batch.is_fault
local batch_gradients, check_loss, fault = batch.gradients, batch.check_loss, batch.fault

local function batch_size(opts, m)
  local bs = opts.batch_size
  if bs == "auto" then bs = math.max(32, math.min(256, m // 32)) end
  return (bs == 0 or bs >= m) and m or bs
end

local function scales_of(opts, theta)
  if opts.scales ~= "auto" then return opts.scales end
  local s = 1 / math.sqrt(theta.D:rows())
  return {D = s, A = s}
end

-- The optimizer step of the round's options: projected (D stays
-- well-posed), except in the MLP phase, where D is not stepped at all.
local function stepper(opts)
  local step = opts.optimizer == "sgd" and optim.sgd or optim.adam
  if opts.explicit then return step end
  return optim.projected(step, projector(opts))
end
implicit.projector = projector

-- The gradient blocks the step applies: all six, or all but D's in the MLP phase.
local function stepped_grads(st, opts)
  if not opts.explicit then return st.grads end
  if not st.grads_but_D then
    st.grads_but_D = {}
    for k, g in pairs(st.grads) do if k ~= "D" then st.grads_but_D[k] = g end end
  end
  return st.grads_but_D
end
implicit.stepped_grads = stepped_grads

local function optimizer_config(st, opts, theta)
  return {learning_rate = st.lr, momentum = opts.momentum, weight_decay = opts.weight_decay,
    scales = scales_of(opts, theta)}
end
implicit.stepper, implicit.optimizer_config = stepper, optimizer_config

-- The mean forward + backward iterations of the epoch's n steps.
local function iterations_per_step(st, n)
  return (st.iters.forward + st.iters.backward) / math.max(n, 1)
end

-- One epoch of projected mini-batch steps over a fresh permutation. Returns
-- the mean training loss and the mean solver iterations per batch; after a
-- numerical fault (a Fault), NaN, the iterations so far and its description.
local function run_epoch(theta, U, Y, st, opts)
  local m = U:cols()
  local bs = batch_size(opts, m)
  local perm = st.rng:permutation(m)
  local lossfn = implicit.loss_function(opts.loss)
  local step, config = stepper(opts), optimizer_config(st, opts, theta)
  local grads = stepped_grads(st, opts)
  local total, batches = 0, 0
  for first = 1, m, bs do
    local idx = table.move(perm, first, math.min(first + bs - 1, m), 1, {})
    local feval = function()
      local loss = batch_gradients(theta, U, Y, idx, st, opts, lossfn)
      total = total + loss * #idx
      return loss, grads
    end
    local ok, err = pcall(step, feval, theta, config, st.optim)
    if not ok then
      if not batch.is_fault(err) then error(err, 0) end
      return 0 / 0, iterations_per_step(st, batches), err.what
    end
    batches = batches + 1
  end
  return total / m, iterations_per_step(st, batches)
end

-- The columns of step k (1-based) of an epoch over perm in batches of bs:
-- perm's k-th run of bs; past its end (a shard shorter than the longest,
-- which sets the ranks' common number of steps) the permutation wraps around.
local function batch_columns(perm, k, bs)
  local m = #perm
  local first = (k - 1) * bs + 1
  if first <= m then return table.move(perm, first, math.min(first + bs - 1, m), 1, {}) end
  local idx = {}
  for i = 0, math.min(bs, m) - 1 do idx[#idx + 1] = perm[(first - 1 + i) % m + 1] end
  return idx
end

-- run_epoch of a data-parallel job (opts.distributed, idl.mpi of size > 1):
-- this rank's shard U, Y. The global batch (batch_size of the total sample
-- count) is split evenly over the ranks; every rank takes the same number of
-- steps (the longest shard's). Each step reduces, in ONE allreduce of
-- st.flat, the gradient blocks scaled by the local batch size, the loss times
-- it, the batch size and a fault flag; dividing by the total batch gives every
-- rank the same mean gradient, hence bit-identical parameters after the
-- step. A numerical fault on any rank ends the epoch on all of them.
local function run_epoch_distributed(theta, U, Y, st, opts)
  local m = U:cols()
  local total_m = distributed.sum{m}[1]
  local bs = math.max(1, -(-batch_size(opts, total_m) // mpi.size()))
  local nsteps = distributed.max{-(-m // bs)}[1]
  local perm = st.rng:permutation(m)
  local lossfn = implicit.loss_function(opts.loss)
  local step, config = stepper(opts), optimizer_config(st, opts, theta)
  local grads = stepped_grads(st, opts)
  local extra = st.extra -- [loss * b, b, fault]
  local total, weight = 0, 0
  for k = 1, nsteps do
    local idx = m > 0 and batch_columns(perm, k, bs) or {}
    local b = #idx
    local feval = function()
      local ok, err = true, 0
      if b > 0 then ok, err = pcall(batch_gradients, theta, U, Y, idx, st, opts, lossfn) end
      if not ok and not batch.is_fault(err) then error(err, 0) end
      local what = not ok and err.what or nil
      if what or b == 0 then core.fill(st.flat, 0) else core.scale(st.flat, b) end
      extra:set(1, 1, what and 0 or err * b)
      extra:set(2, 1, b)
      extra:set(3, 1, what and 1 or 0)
      mpi.allreduce(st.flat)
      if extra:get(3, 1) > 0 then fault(what or "a numerical fault on another rank") end
      local n = extra:get(2, 1)
      local loss = extra:get(1, 1) / n
      check_loss(loss)
      core.scale(st.flat, 1 / n)
      total, weight = total + loss * n, weight + n
      return loss, grads
    end
    local ok, err = pcall(step, feval, theta, config, st.optim)
    if not ok then
      if not batch.is_fault(err) then error(err, 0) end
      return 0 / 0, iterations_per_step(st, k - 1), err.what
    end
  end
  return total / weight, iterations_per_step(st, nsteps)
end

-- The round's options: the trainer's (checked, defaults filled in), the
-- model's loss and constraint.
local function round_options(s, opts, config)
  if opts.precision == "single" and opts.method == "anderson" then
    api.fail("trainer_options.precision = \"single\" needs method = \"picard\" (single-precision solves "
      .. "are Picard iterations), got method = \"anderson\"")
  end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  -- a job of one rank trains exactly as without MPI
  o.distributed = config ~= nil and config.distributed == true and mpi.size() > 1
  o.loss = s.model.loss
  local c = s.model.constraint
  o.constraint, o.kappa = c.kind, c.kappa
  return o
end
implicit.round_options = round_options

-- Data-parallel: the six gradient blocks and [loss * b, b, fault] as views
-- into one flat column (st.flat), reduced by one allreduce per step.
local function fuse_grads(st, theta)
  local shapes = {}
  for i, k in ipairs(model_mod.THETA_NAMES) do shapes[i] = {theta[k]:rows(), theta[k]:cols()} end
  shapes[#shapes + 1] = {3, 1}
  local flat, views = mpi.fused_buffer(shapes)
  st.flat, st.grads, st.extra, st.grads_but_D = flat, {}, views[#views], nil
  for i, k in ipairs(model_mod.THETA_NAMES) do st.grads[k] = views[i] end
end

-- The standardized problem: scalers, data, theta' and the epoch state.
local function context(s, opts, saved)
  local sc = saved and saved.sc or {}
  if not saved then
    -- data-parallel: the statistics of the union of the shards, equal on every rank
    local row_scaler = opts.distributed and distributed.row_scaler or standardize.row_scaler
    sc.u_mean, sc.u_scale = row_scaler(s.U)
    if opts.loss == "squared" and opts.standardize_targets ~= false then
      sc.y_mean, sc.y_scale = row_scaler(s.Y)
    else -- classification targets are one-hot: leave them alone
      sc.y_mean, sc.y_scale = core.zeros(s.Y:rows(), 1), core.ones(s.Y:rows(), 1)
    end
  end
  local theta = saved and saved.theta or standardize.to_standardized(s.model.theta, sc)
  local ctx = {model = s.model, sc = sc, theta = theta, opts = opts,
    U = standardize.standardize(s.U, sc.u_mean, sc.u_scale),
    Y = standardize.standardize(s.Y, sc.y_mean, sc.y_scale)}
  ctx.st = {rng = saved and saved.rng or core.rng(opts.seed), ws = {}, grads = implicit.new_grads(theta),
    optim = saved and saved.optim or {},
    xcache = saved and saved.xcache or s.model:hidden(s.U,
      {tol = opts.forward_tol or opts.tol, max_iter = opts.max_iter}),
    schedule = saved and saved.schedule or {},
    -- the MLP phase (D held at 0) runs only from D = 0
    warmup = saved and saved.warmup
      or {left = theta.D:norm("max") == 0 and opts.warmup_epochs or 0, stalled = 0}}
  if opts.distributed then fuse_grads(ctx.st, theta) end
  return ctx
end

-- "the standardized theta.D has a NaN entry at (i, j)" for the first
-- non-finite standardized parameter, or nil.
local function first_nonfinite(theta)
  for _, k in ipairs(model_mod.THETA_NAMES) do
    local i, j = api.first_nonfinite(theta[k])
    if i then
      local v = theta[k]:get(i, j)
      return string.format("the standardized theta.%s has a%s %s entry at (%d, %d)", k,
        v ~= v and "" or "n", v ~= v and "NaN" or (v > 0 and "Inf" or "-Inf"), i, j)
    end
  end
end

-- The plateau schedule of idl.optim: halve when the loss has not improved by
-- min_delta (relative) for lr_patience rounds, never below min_lr.
local function schedule_of(opts)
  return {kind = "plateau", lr = opts.learning_rate, factor = 0.5, patience = opts.lr_patience - 1,
    min_lr = opts.min_lr, threshold = opts.min_delta}
end

-- The MLP phase's count after an epoch of training loss `loss`: it ends
-- (left = 0) after opts.warmup_epochs epochs or lr_patience epochs without a
-- min_delta relative improvement, whichever comes first. The learning rate
-- stays constant through it; the plateau schedule starts when D is released.
local function warmup_epoch_done(w, loss, opts)
  if w.best == nil or loss < w.best * (1 - opts.min_delta) then
    w.best, w.stalled = loss, 0
  else
    w.stalled = w.stalled + 1
  end
  w.left = w.stalled >= opts.lr_patience and 0 or w.left - 1
end

-- When the loop measures the true train loss after this round, its solve
-- starts from the epoch's warm starts (each sample's X of its last step: the
-- hidden state is the same in raw and standardized units) instead of the
-- extrapolated measurement of monitor_train_every rounds before: on sec71
-- a few Picard steps fewer on all the training columns.
local function warm_train_loss(s, st, config)
  local every = config and config.monitor_train_every or 0
  if every > 0 and s.round % every == 0 and st.xcache and st.xcache:cols() == s.U:cols() then
    s.x_eq, s.x_eq_prev = st.xcache:copy(), nil
  end
end

--- implicit.round(s, config, opts) -> result: one epoch (see above).
function implicit.round(s, config, opts)
  state.check(s, "implicit.round")
  if config ~= nil then
    api.check(config, "table", "config")
    api.check(config.monitor_train_every, {"count", optional = true}, "config.monitor_train_every")
  end
  opts = round_options(s, opts or registry.options_of(implicit, config and config.trainer_options,
    "implicit.round"), config)
  local ctx = s.trainer_state
  if ctx == nil or ctx.model ~= s.model then
    ctx = context(s, opts)
    s.trainer_state = ctx
  end
  ctx.opts = opts
  local epoch = opts.distributed and run_epoch_distributed or run_epoch
  local result = implicit.run_round(s, ctx, opts, function(c, o) return epoch(c.theta, c.U, c.Y, c.st, o) end)
  warm_train_loss(s, ctx.st, config)
  return result
end

--- implicit.run_round(s, ctx, opts, epoch) -> result: one round on the
-- context ctx {model, sc, theta, st}: epoch(ctx, opts) -> mean loss, solver
-- iterations per batch [, fault description] runs the steps (opts.explicit
-- set for the MLP phase, st.iters counting); then the warm-up count or the
-- learning-rate schedule, and the model written back in raw units (also the
-- streamed trainer's, idl.train.implicit_stream).
function implicit.run_round(s, ctx, opts, epoch)
  local st = ctx.st
  if opts.distributed and not st.flat then fuse_grads(st, ctx.theta) end -- resumed (restore_state)
  st.eq_failures, st.iters = 0, {forward = 0, backward = 0}
  st.lr = st.schedule.lr or opts.learning_rate
  opts.explicit = st.warmup.left > 0
  local ok, loss, iterations, what = pcall(epoch, ctx, opts)
  local bad = first_nonfinite(ctx.theta)
  if not ok then
    if not bad then error(loss, 0) end
    return {fault = string.format("%s (the epoch raised: %s)", bad, tostring(loss))}
  end
  -- the loop stops on a non-finite loss or parameter and rolls the model
  -- back: the model is not written with them
  local result = {loss = loss, eq_failures = st.eq_failures, fault = what or bad,
    iterations = math.floor(iterations + 0.5)}
  if result.fault or loss ~= loss or math.abs(loss) == math.huge then return result end
  if opts.explicit then
    warmup_epoch_done(st.warmup, loss, opts)
    -- D is released: the model class grows, and the rounds without progress
    -- so far say nothing about the next ones
    result.restart_patience = st.warmup.left == 0
  else
    optim.schedule_lr(schedule_of(opts), st.schedule, math.max(s.round, 1), loss)
  end
  standardize.from_standardized(ctx.theta, ctx.sc, s.model.theta)
  steps.invalidate(s) -- theta changed: hybrid's relaxed fields are recomputed, not read from a cache
  return result
end

--- implicit.save_state(s) -> the trainer's state (the standardized
-- parameters theta', the standardizers, Adam's moments, the shuffling
-- generator, the warm starts, the learning rate and its plateau counters) for
-- a checkpoint; nil before the first round.
function implicit.save_state(s)
  local ctx = type(s) == "table" and s.trainer_state
  if not ctx or not ctx.st then return nil end
  local st = ctx.st
  return {theta = ctx.theta, sc = ctx.sc, optim = st.optim, rng = st.rng, xcache = st.xcache,
    warmup_left = st.warmup.left, warmup_best = st.warmup.best, warmup_stalled = st.warmup.stalled,
    lr = st.schedule.lr or st.lr, best_train = st.schedule.best, stalled = st.schedule.bad}
end

-- saved: the table of save_state, checked against s.
local function check_saved(s, saved)
  if type(saved) ~= "table" or type(saved.theta) ~= "table" or type(saved.sc) ~= "table" then
    api.fail("saved must be a table from implicit.save_state")
  end
  model_mod.check_theta(saved.theta, "restore_state")
  local sc = saved.sc
  for _, k in ipairs{"u_mean", "u_scale", "y_mean", "y_scale"} do
    api.check(sc[k], "matrix", "saved.sc." .. k)
  end
  if sc.u_mean:rows() ~= s.U:rows() or sc.y_mean:rows() ~= s.Y:rows() then
    api.failf("the standardizers are for %d features and %d outputs, the data has %d and %d",
      sc.u_mean:rows(), sc.y_mean:rows(), s.U:rows(), s.Y:rows())
  end
  api.check(saved.xcache, {"matrix", rows = s.model.h, cols = s.U:cols()}, "saved.xcache")
  api.check(saved.rng, "rng", "saved.rng")
  if saved.optim ~= nil and (type(saved.optim) ~= "table" or core.is_matrix(saved.optim)) then
    api.fail("saved.optim must be a table (an optimizer state)")
  end
  api.check(saved.lr, {"number", min = 0}, "saved.lr")
  api.check(saved.best_train, {"number", optional = true}, "saved.best_train")
  api.check(saved.stalled, {"count", optional = true}, "saved.stalled")
  api.check(saved.warmup_left, {"count", optional = true}, "saved.warmup_left")
  api.check(saved.warmup_best, {"number", optional = true}, "saved.warmup_best")
  api.check(saved.warmup_stalled, {"count", optional = true}, "saved.warmup_stalled")
end

--- implicit.restore_state(s, saved) -> s: the state of save_state put back
-- (s.model, s.U and s.Y those of the checkpoint), so that the next round
-- continues the run.
implicit.restore_state = api.public("idl.implicit.restore_state", function(s, saved)
  if not (type(s) == "table" and getmetatable(s.model) == model_mod.Model and core.is_matrix(s.U)
    and core.is_matrix(s.Y)) then
    api.fail("s must be a trainer state (idl.trainers.new_state)")
  end
  check_saved(s, saved)
  local copy = {theta = util.copy_matrices(saved.theta), sc = saved.sc, rng = saved.rng,
    optim = util.copy_matrices(saved.optim or {}), xcache = saved.xcache:copy(),
    schedule = {lr = saved.lr, best = saved.best_train, bad = saved.stalled},
    -- a checkpoint from before the MLP phase existed continues without one
    warmup = {left = saved.warmup_left or 0, best = saved.warmup_best, stalled = saved.warmup_stalled or 0}}
  local ctx = context(s, {}, copy)
  s.trainer_state = ctx
  return s
end)

implicit.state_key = "implicit"
-- data-parallel: each rank's own (its shard's warm starts, its permutations)
implicit.shard_state = {"rng", "xcache"}

return implicit
