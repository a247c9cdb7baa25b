--- Report section 7.2: regression of y = sin(x) + noise, from a good and from a bad initialization.
--
--     idl experiments/sec72_sin.lua [--seed S] [--out DIR] [--full] [--tiny]
--
-- Data (idl.data.sin): x ~ U(0, 2 pi), y = sin(x) + N(0, s^2), the last 100
-- points as the test set ("prediction over 100 test data points"), for the
-- noise std s = 0.1 that the report's figures show and s = 1 that its text
-- states (the same draws, scaled). The model: hidden_variables = 100,
-- dual_learning_rate = tol_fenchel = starting_lambda = 1e-6 (the settings of
-- the report's section 7.3 on this example), two_loops without early stopping,
-- from two initializations:
--   picard_ls    D, E, f random, X the equilibrium, A, B, c by least squares
--                (the report's "very good initialization"; its fig. 3)
--   subproblems  X free (lambda = 0: X and A, B, c fitted to y, then D, E, f to
--                the Fenchel divergence), the report's first initialization,
--                whose relaxed fit "overfits" (its figs. 4 and 5)
-- and closed-form linear regression as the baseline.
--
-- Sizes: --full 1000 points (900 train) and 180 rounds ("after 180 rounds of
-- training", fig. 5), the true train loss measured every round; the quick
-- default the same data, 60 rounds, the true train loss every 5 rounds (the
-- eval loss every round); --tiny 150 points, h = 10, 3 rounds.
--
-- Writes into --out (default out/sec72_sin): results.json, summary.csv,
-- history_<init>_noise<s>.csv, predictions_noise<s>.csv and per noise level
-- predictions_noise<s>.png (fig. 3), fit_init_noise<s>.png (fig. 4),
-- fit_trained_noise<s>.png (fig. 5), training_curves_noise<s>.png.
local idl = require "idl"
local ex = require "idl.experiment"
local progress = require "idl.progress"

local opts = ex.parse(arg, {
  name = "sec72_sin",
  description = "Report section 7.2: IDL on y = sin(x) + noise from two initializations, against "
    .. "linear regression.",
})

local cfg = ex.pick(opts.size, {
  tiny = {m = 150, test = 50, h = 10, rounds = 3, train_every = 1},
  quick = {m = 1000, test = 100, h = 100, rounds = 60, train_every = 5},
  full = {m = 1000, test = 100, h = 100, rounds = 180, train_every = 1},
})
local settings = {
  m = cfg.m, test = cfg.test, noises = {0.1, 1}, hidden_variables = cfg.h, dual_learning_rate = 1e-6,
  tol_fenchel = 1e-6, starting_lambda = 1e-6, rounds_number = cfg.rounds, type_of_training = "two_loops",
  early_stopping = false, initializations = {"picard_ls", "subproblems"}, random_state = opts.seed,
  monitor_train_every = cfg.train_every,
}

local res = ex.results(opts, {name = "sec72_sin", section = "7.2",
  title = string.format("y = sin(x) + N(0, s^2), s = 0.1 and 1; h = %d, %d rounds, two initializations",
    settings.hidden_variables, settings.rounds_number)})
res.settings = settings

local verbose = progress.is_terminal(2)

local function new_estimator(init)
  return idl.IDLModel{preset = "report", hidden_variables = settings.hidden_variables,
    dual_learning_rate = settings.dual_learning_rate, tol_fenchel = settings.tol_fenchel,
    starting_lambda = settings.starting_lambda, random_state = opts.seed, early_stopping = false,
    initialization = init, monitor_train_every = settings.monitor_train_every, verbosity = verbose}
end

-- The relaxed prediction A X + B U + c (X the trained hidden variable) and the
-- real one (X the equilibrium) on the training set.
local function train_fits(est, Xtr)
  local relaxed = est.model:output(est.state.X, Xtr:t()):t()
  return relaxed, est:predict(Xtr)
end

local grid, gx = {}, {}
for i = 0, 200 do
  gx[#gx + 1] = 2 * math.pi * i / 200
  grid[#grid + 1] = {gx[#gx]}
end
local grid_m = idl.from_table(grid)
local sin_grid = {}
for i, x in ipairs(gx) do sin_grid[i] = math.sin(x) end

local metrics = {}
for _, noise in ipairs(settings.noises) do
  local tag = "noise" .. ex.fmt(noise)
  local X, y = idl.data.sin(settings.m, idl.rng(opts.seed), {noise = noise})
  local Xtr, Xte, ytr, yte = idl.data.train_test_split(X, y, {test_size = settings.test, shuffle = false})
  local lr = idl.LinearRegression():fit(Xtr, ytr)
  local mt = {noise = noise, rmse_lr = idl.metrics.rmse(yte, lr:predict(Xte))}
  metrics[#metrics + 1] = mt
  local fits = {}
  for _, init in ipairs(settings.initializations) do
    if init == "subproblems" then
      -- Fig. 4: the fit right after the initialization (a fit with 0 rounds).
      local est0 = new_estimator(init)
      est0:fit(Xtr, ytr, {rounds_number = 0, eval_set = {Xte, yte}})
      fits.init_relaxed, fits.init_eq = train_fits(est0, Xtr)
    end
    local est = new_estimator(init)
    est:fit(Xtr, ytr, {rounds_number = settings.rounds_number, eval_set = {Xte, yte}})
    local hist = est.history
    ex.write_csv(ex.file(res, string.format("history_%s_%s.csv", init, tag)), ex.HISTORY_COLUMNS, hist)
    mt[init] = {rmse_init = math.sqrt(2 * hist[1].eval_l2),
      rmse = idl.metrics.rmse(yte, est:predict(Xte)), rounds = hist[#hist].round,
      stop_reason = est.stop_reason, relaxed_l2 = hist[#hist].relaxed_l2, train_l2 = hist[#hist].train_l2}
    fits[init] = {est = est, history = hist}
  end
  local good, bad = fits.picard_ls, fits.subproblems

  local rows = {}
  local yg, yb = good.est:predict(Xte), bad.est:predict(Xte)
  local yl = lr:predict(Xte)
  for i = 1, Xte:rows() do
    rows[i] = {x = Xte:get(i, 1), y = yte:get(i, 1), idl_picard_ls = yg:get(i, 1),
      idl_subproblems = yb:get(i, 1), lr = yl:get(i, 1)}
  end
  ex.write_csv(ex.file(res, "predictions_" .. tag .. ".csv"), {"x", "y", "idl_picard_ls", "idl_subproblems",
    "lr"}, rows)

  ex.figure(res, "scatter", "predictions_" .. tag .. ".png",
    string.format("Report 7.2 fig. 3 (noise std %s): the %d test points, the IDL prediction (equilibrium X) "
      .. "after %d rounds from the picard_ls initialization, linear regression and sin(x)", ex.fmt(noise),
      settings.test, settings.rounds_number),
    {title = string.format("Predictions over the test set (noise std %s)", ex.fmt(noise)), xlabel = "x",
     ylabel = "y", legend = "bottom left",
     points = {x = Xte, y = yte, label = "test points"},
     curves = {{x = gx, y = good.est:predict(grid_m), label = "IDL, picard_ls initialization"},
       {x = gx, y = lr:predict(grid_m), label = "linear regression"},
       {x = gx, y = sin_grid, label = "sin(x)"}}})

  local function fit_figure(file, caption, title, relaxed, eq)
    ex.figure(res, "scatter", file, caption,
      {title = title, xlabel = "x", ylabel = "y", legend = "bottom left",
       points = {x = Xtr, y = ytr, label = "training points"},
       curves = {{x = Xtr, y = relaxed, label = "A X + B U + c, relaxed X"},
         {x = Xtr, y = eq, label = "prediction, X = (D X + E U + f)_+"}}})
  end
  fit_figure("fit_init_" .. tag .. ".png",
    string.format("Report 7.2 fig. 4 (noise std %s): the fit on the training set right after the subproblems "
      .. "initialization: A X + B U + c with the relaxed X, and the real prediction with the equilibrium X",
      ex.fmt(noise)),
    string.format("Training set after the subproblems initialization (noise std %s)", ex.fmt(noise)),
    fits.init_relaxed, fits.init_eq)
  local relaxed, eq = train_fits(bad.est, Xtr)
  fit_figure("fit_trained_" .. tag .. ".png",
    string.format("Report 7.2 fig. 5 (noise std %s): the same after %d rounds of training", ex.fmt(noise),
      settings.rounds_number),
    string.format("Training set after %d rounds (subproblems initialization, noise std %s)",
      settings.rounds_number, ex.fmt(noise)), relaxed, eq)

  local series = {}
  for _, init in ipairs(settings.initializations) do
    local hist = fits[init].history
    for _, k in ipairs{{"relaxed_l2", "train L2, relaxed X"}, {"train_l2", "train L2, equilibrium X"},
        {"eval_l2", "eval L2, equilibrium X"}} do
      local xs, ys = ex.positive_series(hist, k[1])
      series[#series + 1] = {x = xs, y = ys, label = init .. ": " .. k[2]}
    end
  end
  ex.figure(res, "lines", "training_curves_" .. tag .. ".png",
    string.format("Training curves per round (noise std %s, 0 = initialization) from both initializations: "
      .. "the train L2 with the relaxed X, and the train and eval L2 of the real model (equilibrium X)",
      ex.fmt(noise)),
    {title = string.format("Training curves (section 7.2, noise std %s)", ex.fmt(noise)), xlabel = "round",
     ylabel = "L = ||.||^2 / (2m)", logy = true, legend = "center right", series = series})
end

-- Summary: one column per noise level; the report gives figures, no numbers.
local columns = {"quantity"}
local headers = {"quantity"}
for i, mt in ipairs(metrics) do
  columns[#columns + 1] = "noise_" .. i
  headers[#headers + 1] = "ours, noise std " .. ex.fmt(mt.noise)
end
columns[#columns + 1] = "report"
headers[#headers + 1] = "report"
local function row(quantity, get, report)
  local r = {quantity = quantity, report = report}
  for i, mt in ipairs(metrics) do r["noise_" .. i] = get(mt) end
  return r
end
res.summary = {columns = columns, headers = headers, rows = {
  row("IDL test RMSE, picard_ls init, after training", function(mt) return mt.picard_ls.rmse end,
    "quite good predictions (fig. 3)"),
  row("IDL test RMSE, picard_ls init, round 0", function(mt) return mt.picard_ls.rmse_init end),
  row("IDL test RMSE, subproblems init, after training", function(mt) return mt.subproblems.rmse end,
    "much more difficult to train (figs. 4, 5)"),
  row("IDL test RMSE, subproblems init, round 0", function(mt) return mt.subproblems.rmse_init end),
  row("linear regression test RMSE", function(mt) return mt.rmse_lr end),
  row("noise std (best possible RMSE)", function(mt) return mt.noise end),
  row("subproblems: train L2 relaxed / true, last round", function(mt)
    return string.format("%.3g / %.3g", mt.subproblems.relaxed_l2, mt.subproblems.train_l2) end),
}}
res.metrics = metrics
if opts.size ~= "full" then
  ex.note(res, string.format("%s mode: %d rounds (the report's fig. 5: 180; run --full)", opts.size,
    settings.rounds_number))
end
ex.finish(res)
