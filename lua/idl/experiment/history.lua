--- Training-history series of the experiment scripts (re-exported by
-- idl.experiment, whose names they keep): the columns of a history CSV,
-- (round, value) series of est.history for plots, and the per-step trace of
-- the relaxed trainers.
-- @module idl.experiment.history

local api = require "idl._api"
local checks = require "idl.experiment.checks"

local history = {}

--- The columns of a history CSV: the fields of idl.trainers.measure entries
-- (G and relaxed_l2 use the relaxed X, train_l2 and eval_l2 the equilibrium X).
history.HISTORY_COLUMNS = {"round", "G", "relaxed_l2", "train_l2", "eval_l2", "train_rmse", "eval_rmse",
  "lambda_l1", "residual", "inner_iterations", "seconds"}

--- experiment.series(history, key) -> x (rounds), y: the entries of history
-- that have a finite number at key, for plotting.
history.series = api.public("idl.experiment.series", function(entries, key)
  checks.rows(entries, "history")
  local x, y = {}, {}
  for _, e in ipairs(entries) do
    local v = e[key]
    if type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge then
      x[#x + 1], y[#y + 1] = e.round, v
    end
  end
  return x, y
end)

--- experiment.positive_series(history, key) -> x, y as series() but only
-- values > 0 (for log axes).
history.positive_series = api.public("idl.experiment.positive_series", function(entries, key)
  checks.rows(entries, "history")
  local x, y = {}, {}
  local sx, sy = history.series(entries, key)
  for i = 1, #sx do
    if sy[i] > 0 then x[#x + 1], y[#y + 1] = sx[i], sy[i] end
  end
  return x, y
end)

--- The columns of a step trace CSV (experiment.trace_steps).
history.TRACE_COLUMNS = {"step", "round", "G", "relaxed_l2", "train_l2", "eval_l2", "lambda_l1",
  "residual"}

--- experiment.trace_steps([every = 1]) -> trace, on_step: records the
-- relaxed trainers' progress after every inner step, as the report's code
-- did (its training curves append to evals_result at each gradient step, not
-- only at each dual update). Pass on_step to fit (est:fit(X, y, {on_step =
-- on_step})) or to trainers.run's config: the relaxed rounds (two_loops,
-- one_loop, bcd) call it after every X step; it only reads the state, so
-- training is bit-for-bit the same as without it. Each entry of the array
-- trace: step (1, 2, ...), round (the round it belongs to), G, relaxed_l2 (L
-- with the relaxed X), residual ||X - (D X + E U + f 1^T)_+||_F, lambda_l1,
-- and every `every` steps train_l2 and eval_l2, the losses of the real model
-- (X from the equilibrium, tolerance 1e-6, warm-started).
history.trace_steps = api.public("idl.experiment.trace_steps", function(every)
  every = every == nil and 1 or api.check(every, {"count", min = 1}, "every")
  local steps = require "idl.train.relaxed"
  local losses = require "idl.losses"
  local trace, warm = {}, {}
  local function true_loss(s, U, Y, key)
    local Yhat, info = s.model:predict_u(U, {x0 = warm[key], tol = 1e-6, max_iter = 1000})
    warm[key] = info.x
    return losses.get(s.model.loss).value(Yhat, Y)
  end
  local function on_step(s)
    local G, L, _, residual = steps.objective(s)
    local lam = s.model.lambda
    local e = {step = #trace + 1, round = s.round, G = G, relaxed_l2 = L, residual = residual,
      lambda_l1 = lam:relu():sum() + (-lam):relu():sum()}
    if (e.step - 1) % every == 0 then
      e.train_l2 = true_loss(s, s.U, s.Y, "train")
      if s.eval then e.eval_l2 = true_loss(s, s.eval.U, s.eval.Y, "eval") end
    end
    trace[#trace + 1] = e
  end
  return trace, on_step
end)

--- experiment.step_series(trace, key) -> x (steps), y: the entries of a step
-- trace with a finite positive value at key (for log axes).
history.step_series = api.public("idl.experiment.step_series", function(trace, key)
  checks.rows(trace, "trace")
  local x, y = {}, {}
  for _, e in ipairs(trace) do
    local v = e[key]
    if type(v) == "number" and v > 0 and v < math.huge then x[#x + 1], y[#y + 1] = e.step, v end
  end
  return x, y
end)

return history
