--- Report section 7.1: recovering an implicit generative process, against linear regression.
--
--     idl experiments/sec71_implicit.lua [--seed S] [--out DIR] [--full] [--tiny]
--
-- The generator (idl.data.implicit): 10 features, a 1-dimensional output and
-- 500 hidden units; A, B, c, D, E, f sparse random (scipy.sparse.random's law
-- with its default density 0.01, as the report's code), D projected onto
-- ||D||_inf <= 0.9, U ~ N(0, 1), X the equilibrium, y = A X + B U + c. The last
-- 10% of the samples are the test set. The model: IDLModel(hidden_variables =
-- 300, dual_learning_rate = tol_fenchel = 1e-5), two_loops, the estimator's
-- defaults otherwise (starting lambda = tol_fenchel, early stopping on the
-- eval set = the test set, as the report's section 6 listing).
--
-- Sizes: --full the report's (10,000 samples, h = 300, 100 rounds: minutes);
-- quick (default) 2,000 samples, h = 100, 20 rounds; --tiny 200 samples, a
-- 50-unit generator with density 0.1 (at density 0.01 its A would hold a
-- single nonzero and B, c none, so y could vanish), h = 10, 2 rounds.
--
-- Writes into --out (default out/sec71_implicit): results.json, summary.csv,
-- history.csv (per round), steps.csv (per inner step), predictions.csv (test
-- targets and both models' predictions), training_curves.png (report 7.1
-- fig. 1, with the true train L2 beside the relaxed one), dual_residual.png
-- (fig. 2) and predictions.png (predicted against true test targets).
local idl = require "idl"
local ex = require "idl.experiment"
local progress = require "idl.progress"

local opts = ex.parse(arg, {
  name = "sec71_implicit",
  description = "Report section 7.1: IDL on data from a random implicit model, against linear regression.",
})

local cfg = ex.pick(opts.size, {
  tiny = {m = 200, gen_h = 50, density = 0.1, h = 10, rounds = 2, trace_every = 1},
  quick = {m = 2000, gen_h = 500, density = 0.01, h = 100, rounds = 20, trace_every = 10},
  full = {m = 10000, gen_h = 500, density = 0.01, h = 300, rounds = 100, trace_every = 10},
})
local settings = {
  m = cfg.m, test = math.floor(0.1 * cfg.m), n = 10, p = 1, generator_h = cfg.gen_h, density = cfg.density,
  kappa = 0.9, hidden_variables = cfg.h, dual_learning_rate = 1e-5, tol_fenchel = 1e-5,
  rounds_number = cfg.rounds, type_of_training = "two_loops", early_stopping = true,
  random_state = opts.seed, eval_set = "test set", true_loss_every_steps = cfg.trace_every,
}
local published = {rmse_idl = 0.0789, rmse_lr = 0.262}

local res = ex.results(opts, {name = "sec71_implicit", section = "7.1",
  title = string.format("Implicit generative process: %d samples, generator h = %d, model h = %d",
    settings.m, settings.generator_h, settings.hidden_variables)})
res.settings = settings
res.published = published

local t0 = idl.clock()
local X, y = idl.data.implicit(settings.m, idl.rng(opts.seed), {n = settings.n, h = settings.generator_h,
  p = settings.p, density = settings.density, kappa = settings.kappa})
res.generate_seconds = idl.clock() - t0
local Xtr, Xte, ytr, yte = idl.data.train_test_split(X, y, {test_size = settings.test, shuffle = false})

local lr = idl.LinearRegression():fit(Xtr, ytr)
local trace, on_step = ex.trace_steps(settings.true_loss_every_steps)
local est = idl.IDLModel{preset = "report", hidden_variables = settings.hidden_variables,
  dual_learning_rate = settings.dual_learning_rate, tol_fenchel = settings.tol_fenchel,
  random_state = opts.seed, early_stopping = true, verbosity = progress.is_terminal(2)}
est:fit(Xtr, ytr, {rounds_number = settings.rounds_number, type_of_training = "two_loops",
  eval_set = {Xte, yte}, on_step = on_step})

local h = est.history
local first, last = h[1], h[#h]
local yhat_idl, yhat_lr = est:predict(Xte), lr:predict(Xte)
local rmse_idl, rmse_lr = idl.metrics.rmse(yte, yhat_idl), idl.metrics.rmse(yte, yhat_lr)
local rmse_init = math.sqrt(2 * first.eval_l2)
local y_mean = yte:sum() / yte:rows()
local y_std = (yte - y_mean):norm("fro") / math.sqrt(yte:rows())

-- Outputs -------------------------------------------------------------------

ex.write_csv(ex.file(res, "history.csv"), ex.HISTORY_COLUMNS, h)
ex.write_csv(ex.file(res, "steps.csv"), ex.TRACE_COLUMNS, trace)
local pred_rows = {}
for i = 1, yte:rows() do
  pred_rows[i] = {y = yte:get(i, 1), idl = yhat_idl:get(i, 1), lr = yhat_lr:get(i, 1)}
end
ex.write_csv(ex.file(res, "predictions.csv"), {"y", "idl", "lr"}, pred_rows)

-- the x axis ends at the last step (gnuplot would round it up to the next tic)
local last_step = 0
local function curve(key, label, style)
  local xs, ys = ex.step_series(trace, key)
  local v = first[key]
  if type(v) == "number" and v > 0 then table.insert(xs, 1, 0); table.insert(ys, 1, v) end
  last_step = math.max(last_step, xs[#xs] or 0)
  return {x = xs, y = ys, label = label, style = style}
end
-- the eval curve is drawn last and as points, so the true train curve that it
-- nearly covers stays visible; the legend sits above the plot, over no curve
local curves = {curve("G", "general loss G"), curve("relaxed_l2", "train L2, relaxed X"),
  curve("train_l2", "train L2, equilibrium X (true)"),
  curve("eval_l2", "eval L2, equilibrium X", "points")}
ex.figure(res, "lines", "training_curves.png",
  "Report 7.1 fig. 1: per inner gradient step (0 = initialization), the general loss G, the train L2 "
  .. "with the relaxed X and with the equilibrium X (the real model, every "
  .. settings.true_loss_every_steps .. " steps), and the eval (test) L2 of the real model",
  {title = "Training curves (section 7.1)", xlabel = "inner step", ylabel = "L = ||.||^2 / (2m)",
   logy = true, legend = "tmargin center horizontal", xrange = {0, math.max(last_step, 1)},
   height = 560,
   series = curves})

local dual = {curve("lambda_l1", "l1 norm of lambda"),
  curve("residual", "implicit residual (Frobenius norm)")}
ex.figure(res, "lines", "dual_residual.png",
  "Report 7.1 fig. 2: per inner step, ||lambda||_1 and the implicit residual ||X - (D X + E U + f 1^T)_+||_F "
  .. "of the relaxed X",
  {title = "Dual variables and implicit residual (section 7.1)", xlabel = "inner step",
   ylabel = "lambda and residual norms", logy = true, legend = "tmargin center horizontal",
   xrange = {0, math.max(last_step, 1)}, series = dual})

local lo, hi = math.huge, -math.huge
for i = 1, yte:rows() do
  for _, v in ipairs{yte:get(i, 1), yhat_idl:get(i, 1), yhat_lr:get(i, 1)} do
    lo, hi = math.min(lo, v), math.max(hi, v)
  end
end
ex.figure(res, "lines", "predictions.png",
  "Predicted against true targets on the test set: IDL (equilibrium X) and linear regression; "
  .. "the diagonal is a perfect prediction",
  {title = "Test set predictions (section 7.1)", xlabel = "true y", ylabel = "predicted y",
   legend = "top left",
   series = {{x = yte, y = yhat_lr, label = string.format("linear regression (RMSE %.3g)", rmse_lr),
     style = "points"},
     {x = yte, y = yhat_idl, label = string.format("IDL (RMSE %.3g)", rmse_idl), style = "points"},
     {x = {lo, hi}, y = {lo, hi}, label = "y = yhat"}}})

res.summary = {
  columns = {"quantity", "ours", "report"},
  rows = {
    {quantity = "IDL test RMSE (equilibrium X)", ours = rmse_idl, report = published.rmse_idl},
    {quantity = "linear regression test RMSE", ours = rmse_lr, report = published.rmse_lr},
    {quantity = "IDL RMSE / linear regression RMSE", ours = rmse_idl / rmse_lr,
     report = published.rmse_idl / published.rmse_lr},
    {quantity = "IDL test RMSE at initialization (round 0)", ours = rmse_init},
    {quantity = "std of the test targets", ours = y_std},
    {quantity = "train L2, relaxed X, last round", ours = last.relaxed_l2},
    {quantity = "train L2, equilibrium X, last round", ours = last.train_l2},
    {quantity = "rounds run (stop reason)", ours = string.format("%d (%s)", last.round, est.stop_reason)},
    {quantity = "round kept (best eval L2)", ours = est.best_round},
    {quantity = "inner gradient steps", ours = #trace},
  },
}
res.metrics = {rmse_idl = rmse_idl, rmse_lr = rmse_lr, rmse_init = rmse_init, y_std = y_std,
  rounds = last.round, stop_reason = est.stop_reason, best_round = est.best_round, steps = #trace}
if opts.size ~= "full" then
  ex.note(res, string.format("%s mode: %d samples and h = %d (the report: 10,000 and h = 300; run --full)",
    opts.size, settings.m, settings.hidden_variables))
end
ex.note(res, "the targets' scale depends on the random generator, so RMSEs compare through the ratio "
  .. "to linear regression on the same data")
ex.finish(res)
