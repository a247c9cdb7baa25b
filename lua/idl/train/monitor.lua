--- Measurement: the history entry of a round (relaxed objective, true
-- losses of the real model, residual, lambda), and the best model so far.
-- @module idl.train.monitor

local core = require "idl.core"
local distributed = require "idl.distributed"
local mpi = require "idl.mpi"
local api = require "idl._api"
local util = require "idl._util"
local losses = require "idl.losses"
local model_mod = require "idl.model"
local state = require "idl.train.state"
local steps = require "idl.train.relaxed"

local monitor = {}

-- The true loss on (U, Y): X from the equilibrium, warm-started at s[key].
-- The start is the linear extrapolation 2 X_k - X_{k-1} of the last two
-- equilibria: theta moves a little each round, and along a smooth path this
-- saves about one Picard iteration (one GEMM) in three. Any start converges
-- (the map is a contraction), so a poor guess only costs iterations.
-- Data-parallel (config.distributed in a job of several ranks): the mean loss
-- over the union of the shards, sum{l m, m}, so that every rank sees the
-- same losses and stops at the same round.
function monitor.true_loss(s, config, U, Y, key)
  local spec = losses.get(s.model.loss)
  local x0, prev = s[key], s[key .. "_prev"]
  if x0 and prev then
    local guess = x0 * 2
    core.axpy(guess, -1, prev)
    x0 = guess
  end
  local Yhat, info = s.model:predict_u(U, {x0 = x0,
    tol = util.solve_tol(config.monitor_tol, config.monitor_precision), max_iter = config.monitor_max_iter,
    method = config.monitor_method, precision = config.monitor_precision})
  s[key .. "_prev"] = s[key]
  s[key] = info.x
  s.eq_iterations = (s.eq_iterations or 0) + info.iterations
  local loss = spec.value(Yhat, Y)
  if config.distributed == true and mpi.size() > 1 then
    local m = U:cols()
    local sums = distributed.sum{loss * m, m}
    loss = sums[1] / sums[2]
  end
  return loss, info
end

-- Records a monitoring solve in the entry: eq_converged stays true only if
-- every solve of the round converged; eq_failures counts the others, and
-- eq_failed names the first (for the message of raise_on_nonconvergence).
local function note_solve(e, info, what)
  if info.converged then return end
  e.eq_converged = false
  e.eq_failures = e.eq_failures + 1
  e.eq_failed = e.eq_failed or string.format("the equilibrium on the %s set did not converge "
    .. "(residual %.3g after %d iterations)", what, info.residual, info.iterations)
end

--- monitor.measure(s, config [, result]) -> a history entry for the current model:
-- round, G (relaxed objective), relaxed_l2 (L with the trained X), train_l2 (L
-- with X from the equilibrium: the real model; every config.monitor_train_every
-- rounds, nil in between), eval_l2 (the same on s.eval, every round),
-- their RMSEs (for the squared loss: sqrt(2 L / p)), lambda_l1, residual =
-- ||X - (D X + E U + f 1^T)_+||_F for the trained X, seconds since the start;
-- eq_converged (false when an equilibrium solved for the entry, or one the
-- round reported in its result's eq_failures, did not converge) and eq_failures
-- (how many did not).
-- "L2" is the report's L = ||.||_F^2 / (2m) (or the model's loss if not squared).
function monitor.measure(s, config, result)
  state.check(s)
  state.check_config(config, state.MEASURE_KEYS)
  result = result or {}
  local e = {round = s.round, inner_iterations = result.iterations, eq_converged = true, eq_failures = 0}
  local lam = s.model.lambda
  e.lambda_l1 = lam:relu():sum() + (-lam):relu():sum()
  if config.relaxed then
    local G, L, _, residual = steps.objective(steps.measured(s))
    e.G, e.relaxed_l2, e.residual = G, L, residual
  end
  local every = config.monitor_train_every
  if every > 0 and s.round % every == 0 then
    local info
    e.train_l2, info = monitor.true_loss(s, config, s.U, s.Y, "x_eq")
    note_solve(e, info, "training")
  end
  if s.eval then
    local info
    e.eval_l2, info = monitor.true_loss(s, config, s.eval.U, s.eval.Y, "x_eq_eval")
    note_solve(e, info, "evaluation")
  end
  local inner = result.eq_failures or 0
  if inner > 0 then
    e.eq_converged = false
    e.eq_failures = e.eq_failures + inner
    e.eq_failed = e.eq_failed or string.format("%d equilibrium solve%s of the round did not converge", inner,
      inner == 1 and "" or "s")
  end
  if s.model.loss == "squared" then
    local p = s.Y:rows()
    if e.train_l2 then e.train_rmse = math.sqrt(2 * e.train_l2 / p) end
    if e.eval_l2 then e.eval_rmse = math.sqrt(2 * e.eval_l2 / p) end
  end
  e.seconds = core.clock() - (s.start or core.clock())
  return e
end

-- Whether the best model b can take s's parameters (and X, when kept) in place.
local function reusable(b, s, keep_x)
  if b == nil then return false end
  if not keep_x then return b.X == nil end
  return b.X ~= nil and b.X:rows() == s.X:rows() and b.X:cols() == s.X:cols()
end

-- Keeps a copy of the model when its score (eval loss, else true train loss)
-- is the best so far: into the previous best's matrices when it has them (a
-- new h x m X at every improving round cost ~0.7 dgemm-times a round on the
-- 7.1 problem, allocation and collection; a copy into place ~0.1). keep_x
-- false (a trainer that does not train s.X, relaxed = false): the best has
-- no X (its copy, h x m, was 2% of an implicit fit on the 7.1 problem).
function monitor.track_best(s, e, keep_x)
  keep_x = keep_x ~= false
  local score = e.eval_l2 or e.train_l2
  if score ~= nil and score == score and (s.best == nil or score < s.best.score) then
    local b = s.best
    if reusable(b, s, keep_x) then
      for _, k in ipairs(model_mod.THETA_NAMES) do core.copy(b.model.theta[k], s.model.theta[k]) end
      core.copy(b.model.lambda, s.model.lambda)
      if keep_x then core.copy(b.X, s.X) end
      b.score, b.round = score, e.round
    else
      s.best = {score = score, round = e.round, model = s.model:copy(), X = keep_x and s.X:copy() or nil}
    end
    return true
  end
  return false
end

--- monitor.restarts_patience(s, e, min_improvement [, force]) -> whether entry
-- e's score (as track_best's) is below the score that last restarted patience
-- (s.patience_score) by more than the fraction min_improvement (0: any fall),
-- or force (the round asked for it), which then becomes e's. Early stopping
-- counts the rounds since; a smaller fall still gives a new best model
-- (track_best).
function monitor.restarts_patience(s, e, min_improvement, force)
  local score = e.eval_l2 or e.train_l2
  if score == nil or score ~= score then return false end
  if force then
    s.patience_score = score
    return true
  end
  -- a checkpoint from before patience_score: the best score restarted it
  local last = s.patience_score or (s.best and s.best.score)
  if last ~= nil and score >= last * (1 - (min_improvement or 0)) then return false end
  s.patience_score = score
  return true
end

--- monitor.restore_best(s) -> s: the best model seen (s.best) copied back
-- into s.model (in place, so references to the model stay valid).
function monitor.restore_best(s)
  state.check(s)
  local b = s.best
  if type(b) ~= "table" then api.fail("s has no best model (s.best) yet") end
  for _, k in ipairs(model_mod.THETA_NAMES) do core.copy(s.model.theta[k], b.model.theta[k]) end
  core.copy(s.model.lambda, b.model.lambda)
  if b.X then core.copy(s.X, b.X) end
  steps.invalidate(s)
  s.restored_round = b.round
  return s
end

return monitor
