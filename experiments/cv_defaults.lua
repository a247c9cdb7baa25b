--- Cross-validated study of the estimator's training settings, to choose its
-- defaults: k-fold CV (every fold is a test set once) over several seeds, on
-- generated tables (experiments/_compare.lua) and the digits set.
--
--     idl experiments/cv_defaults.lua [--problems noisy5,noisy10,...] [--seeds 0,1]
--         [--folds 5] [--configs base,h30,...] [--threads 1] [--sizes p=m,...]
--         [--tables name=file.csv:classification,...]
--
-- Configurations (one factor at a time around `base`; h_rule = min(300,
-- max(30, m_train / 10))):
--   today     idl.IDLModel{} as it is: no options at all (the defaults)
--   linloo    today with the linear start's ridge chosen by leave-one-out
--             (initialization_options {ridge = "loo"})
--   refit     today, then the readout (A, B, c) refitted on all the training
--             part (hold-out included) at the trained units' equilibria,
--             its ridge by leave-one-out (idl.readout_loo)
--   lin0      today; when early stopping kept round 0 (the linear start,
--             fitted on the part trained on), linear regression again on
--             all the training part (ridge by leave-one-out). The estimator
--             does this itself since it was measured (lin0 = today but for
--             the leave-one-out ridge)
--   lin0_refit  lin0, and refit when a trained round won
--   full_refit  today; when a trained round r > 0 won, fitted again on all
--             the training part for r epochs (no hold-out); else as lin0
--   ens3_lin0  the mean of 3 lin0 fits
--   ens3, ens3_refit  the mean prediction of 3 single fits (seeds s,
--             s + 1000, s + 2000: other starts and hold-outs), without and
--             with the refit; each keeps its own best round (the estimator's
--             ensembles retrain to a common one)
--   ens3_logits  ens3 for classification by the mean of the logits (as
--             idl.model.average does), not of the probabilities
--   ens5      ens3 with five fits
--   single    today with ensemble_size = 1: one model (the default until
--             2026-12); single_rs1000, single_rs2000 the same at random_state
--             s + 1000, s + 2000 (the three rows' mean: one fit's expected score)
--   minlr1e-3 today with the learning rate never halved below 1e-3
--             (trainer_options min_lr; the default 1e-5); single_minlr1e-3
--             the same for one fit
--   size5     today with ensemble_size = 5
--   refit2000 today with the members retrained on all samples below 2,000
--             of them (the implicit trainer's refit_below), not 1,000
--   ftol1e-3  today with trainer_options {forward_tol = 1e-3} (loose forward
--             solves during training; predict stays tight)
--   bsteps1, bsteps2, bsteps3  today with trainer_options {backward_steps = k}
--             (the k-step phantom gradient instead of the exact backward solve)
--   (every configuration but today, size5 and refit2000 fits one model,
--   ensemble_size = 1, as the defaults did when it was measured)
--   report    idl.IDLModel{preset = "report"}: the report's settings, the
--             defaults before they were chosen here (two_loops, h = 1)
--   two_loops type_of_training = "two_loops", hidden_variables = h_rule
--   hybrid    type_of_training = "hybrid", h_rule
--   base      type_of_training = "implicit", hidden_variables = h_rule, the
--             defaults otherwise (since the defaults became implicit with
--             the same h rule, base is today)
--   h30, h100 base with hidden_variables 30 / 100
--   lr1e-2, lr2e-3          base with that learning rate
--   wd1e-4, wd1e-3          base with that weight decay
--   long      base with rounds_number = 200, patience = 20
--   pat50     today with patience 50 and at most 400 epochs
--   hold10    base, early stopping on an explicit 10% hold-out (eval_set)
--   mlp       base with D = 0 (constraint kappa 0: a one-hidden-layer MLP)
--   linit     base started from the linear model (A = 0, B and c from least
--             squares, D = 0, random E, f): early stopping can keep it
--   proposed  linit (fitted on the part trained on) + lr 1e-2 + at most 200
--             epochs, patience 20, hold-out 20% (10% from m_train >= 1000)
--   linear    idl.LinearRegression (regression only)
--   ridge     idl.LinearRegression{ridge = 1} (on the raw inputs)
--   sklearn   MLPRegressor((h_rule,), tol 1e-6) / MLPClassifier, to
--             convergence, in a child python3 (when installed)
--   sklearn_es  the same with early_stopping = True (sklearn's 10% hold-out,
--             patience 10), as a scikit-learn user would on a small table
--   logistic  idl.LogisticRegression (classification only): the linear
--             model a classifier must not lose to
--   sklearn_logistic  scikit-learn's LogisticRegression, the same model
-- Printed: per problem and configuration the mean test RMSE over folds x seeds
-- (accuracy for the classification tables) with its standard error, then per
-- configuration the geometric mean over problems of score / best score (error /
-- best error for classification: 1.00 is the best on every problem) and the
-- mean fit seconds.
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local idl = require "idl"
local labels_of = require "idl._labels"
local cli = require "idl.cli"
local ms = require "idl.model_selection"
local compare = require "_compare"

local opts = cli.parse(arg, {
  name = "cv_defaults",
  description = "k-fold CV of training settings over generated tables and digits, to choose defaults.",
  options = {
    {"problems", "string", "noisy5,noisy10,noisy20,nonlinear5,friedman1,friedman2,friedman3,digits,rings,"
      .. "blobs,xor",
      "comma-separated problem names"},
    {"seeds", "string", "0,1", "comma-separated seeds (data and model)"},
    {"folds", "integer", 5, "folds of the cross-validation"},
    {"configs", "string", "today,two_loops,hybrid,base,h30,h100,lr1e-2,lr2e-3,wd1e-4,wd1e-3,long,hold10,"
      .. "mlp,linear,sklearn", "comma-separated configurations"},
    {"threads", "integer", 1, "OpenBLAS threads"},
    {"sizes", "string", "", "problem=m overrides, e.g. friedman1=500,digits=900"},
    {"tables", "string", "", "more problems from CSV files (no header, the target last): "
      .. "name=path:regression or name=path:classification, comma-separated"},
  }})
idl.set_threads(opts.threads)

local function list(text, number)
  local t = {}
  for w in text:gmatch("[^,%s]+") do t[#t + 1] = number and math.tointeger(tonumber(w)) or w end
  return t
end

local problems = compare.problems(here)
for name, path, kind in opts.tables:gmatch("([%w_]+)=([^,:]+):(%a+)") do
  if kind ~= "regression" and kind ~= "classification" then
    cli.exit(string.format("cv_defaults: --tables %s: the kind is regression or classification, not %s",
      name, kind), 2)
  end
  local f = io.open(path, "r")
  if not f then cli.exit(string.format("cv_defaults: --tables %s: cannot read %s", name, path), 2) end
  f:close()
  problems[name] = compare.csv_problem(path, kind)
end
local sizes = {}
for name, m in opts.sizes:gmatch("([%w_]+)=(%d+)") do sizes[name] = math.tointeger(tonumber(m)) end

local function h_rule(m_train) return math.min(300, math.max(30, m_train // 10)) end

-- A configuration: fn(kind, Xtr, ytr, h, seed) -> predict function, or nil
-- when it does not apply; or the sklearn marker.
local function implicit(h, extra_params, trainer_options, fit_extra)
  return function(kind, Xtr, ytr, hr, seed)
    local params = {hidden_variables = h or hr, random_state = seed, ensemble_size = 1}
    for k, v in pairs(extra_params or {}) do params[k] = v end
    local fit = {type_of_training = "implicit", trainer_options = trainer_options}
    for k, v in pairs(fit_extra or {}) do fit[k] = v end
    return compare.idl_fit(kind, Xtr, ytr, {params = params, fit = fit})
  end
end

local function trainer(name)
  return function(kind, Xtr, ytr, hr, seed)
    return compare.idl_fit(kind, Xtr, ytr, {params = {hidden_variables = hr, random_state = seed,
      ensemble_size = 1}, fit = {type_of_training = name}})
  end
end

-- base, with early stopping on an explicit 10% of the training part.
local function hold10(kind, Xtr, ytr, hr, seed)
  local m = Xtr:rows()
  local perm = idl.rng(seed + 99):permutation(m)
  local fit_idx, val_idx = {}, {}
  for k, i in ipairs(perm) do table.insert(k <= m // 10 and val_idx or fit_idx, i) end
  local ev = {idl.data.select_rows(Xtr, val_idx), compare.take(ytr, val_idx)}
  return compare.idl_fit(kind, idl.data.select_rows(Xtr, fit_idx), compare.take(ytr, fit_idx),
    {params = {hidden_variables = hr, random_state = seed, ensemble_size = 1},
     fit = {type_of_training = "implicit", eval_set = ev}})
end

-- A theta equal to the linear model: A = 0, (B, c) = least squares, D = 0,
-- and random hidden units scaled to the inputs (E ~ N(0, 1/n) per
-- standardized input, f centring them), so that training starts at linear
-- regression and early stopping (which also weighs round 0) can keep it.
local function linear_theta(Xtr, ytr, h, seed)
  local lr = idl.LinearRegression():fit(Xtr, ytr)
  local n, m = Xtr:cols(), Xtr:rows()
  local mean, E = Xtr:sum(1) / m, idl.randn(h, n, idl.rng(seed + 5), 0, 1 / math.sqrt(n))
  for j = 1, n do
    local var = 0
    for i = 1, m do var = var + (Xtr:get(i, j) - mean:get(1, j)) ^ 2 end
    local sd = math.sqrt(var / m)
    for i = 1, h do E:set(i, j, E:get(i, j) / (sd > 0 and sd or 1)) end
  end
  return {A = idl.zeros(1, h), B = lr.coef:t(), c = lr.intercept:t(), D = idl.zeros(h, h), E = E,
    f = -(E * mean:t())}
end

local function linit(kind, Xtr, ytr, hr, seed)
  if kind == "classification" then return nil end
  return compare.idl_fit(kind, Xtr, ytr, {params = {hidden_variables = hr, random_state = seed,
    ensemble_size = 1, initialization_theta = linear_theta(Xtr, ytr, hr, seed)},
    fit = {type_of_training = "implicit"}})
end

-- The candidate defaults: the linear start (fitted on the part trained on),
-- early stopping on a hold-out of 20% (10% from 1000 training samples on),
-- learning rate 1e-2, at most 200 epochs, patience 20.
local function proposed(kind, Xtr, ytr, hr, seed)
  if kind == "classification" then return nil end
  local m = Xtr:rows()
  local perm, fit_idx, val_idx = idl.rng(seed + 99):permutation(m), {}, {}
  local n_val = m >= 1000 and m // 10 or m // 5
  for k, i in ipairs(perm) do table.insert(k <= n_val and val_idx or fit_idx, i) end
  local Xf, yf = idl.data.select_rows(Xtr, fit_idx), compare.take(ytr, fit_idx)
  return compare.idl_fit(kind, Xf, yf, {params = {hidden_variables = hr, random_state = seed,
    ensemble_size = 1, patience = 20, initialization_theta = linear_theta(Xf, yf, hr, seed)},
    fit = {type_of_training = "implicit", rounds_number = 200, trainer_options = {learning_rate = 1e-2},
    eval_set = {idl.data.select_rows(Xtr, val_idx), compare.take(ytr, val_idx)}}})
end

-- The estimator with the parameters `params` (random_state = the seed +
-- offset) and the fit options `fit`: a configuration returning predict, est.
local function estimator_with(params, fit, offset)
  return function(kind, Xtr, ytr, _, seed)
    local p = {random_state = seed + (offset or 0)}
    for k, v in pairs(params or {}) do p[k] = v end
    return compare.idl_fit(kind, Xtr, ytr, {params = p, fit = fit})
  end
end

-- one model (ensemble_size = 1)
local ONE = {ensemble_size = 1}

-- one model with trainer options
local function one_with(trainer_options)
  return estimator_with(ONE, {trainer_options = trainer_options})
end

-- one of today's models, with the estimator parameters of `extra` added
local function today_with(extra)
  local params = {ensemble_size = 1}
  for k, v in pairs(extra or {}) do params[k] = v end
  return estimator_with(params)
end

-- The fitted model's readout (A, B, c) refitted on all of (Xtr, ytr), the
-- hold-out included, at the trained hidden units' equilibria, with its
-- ridge by leave-one-out (idl.readout_loo).
local function refit_readout(est, Xtr, ytr)
  local theta, U = est.model.theta, Xtr:t()
  local X = idl.equilibrium(theta, U, {tol = est.params.tol})
  idl.initializers.least_squares_abc(theta, X, U, ytr:t(), "loo")
end

-- When early stopping kept round 0 (the linear start, fitted on the part
-- trained on), the linear model again on all of (Xtr, ytr): the hold-out
-- only chose it. Else, with full, the trained readout refitted (refit_readout).
local function linear_again(est, Xtr, ytr, full)
  if est.best_round ~= 0 then
    if full then refit_readout(est, Xtr, ytr) end
    return
  end
  local theta = est.model.theta
  local readout = {A = idl.zeros(theta.A:rows(), 0), B = theta.B, c = theta.c}
  idl.initializers.least_squares_abc(readout, idl.zeros(0, Xtr:rows()), Xtr:t(), ytr:t(), "loo")
  idl.fill(theta.A, 0)
end

-- Today; then, when a trained round won, again on all of (Xtr, ytr) for
-- that many epochs without hold-out (same seed); when round 0 won, the
-- linear model on all of it.
local function full_refit(kind, Xtr, ytr, _, seed)
  if kind == "classification" then return nil end
  local _, est = compare.idl_fit(kind, Xtr, ytr, {params = {random_state = seed, ensemble_size = 1}})
  local r = est.best_round
  if r == 0 then
    linear_again(est, Xtr, ytr, false)
    return function(X) return est:predict(X) end
  end
  return (compare.idl_fit(kind, Xtr, ytr, {params = {random_state = seed, ensemble_size = 1,
    early_stopping = false}, fit = {rounds_number = r}}))
end

-- fit(kind, Xtr, ytr, seed) -> predict, est, then (refit) the readout
-- refitted, averaged over k seeds (seed, seed + 1000, ...: each its own
-- initialization and hold-out). Regression only when refit or k > 1.
-- The mean of k classifiers' probabilities (or logits) (k fits, seeds s,
-- s + 1000, ...), the labels of their largest.
local function classifier_ensemble(fit, Xtr, ytr, seed, k, logits)
  local ests = {}
  for r = 1, k do ests[r] = select(2, fit("classification", Xtr, ytr, nil, seed + 1000 * (r - 1))) end
  return function(X)
    local function score(est)
      return logits and idl.IDLModel.class.predict(est, X) or est:predict_proba(X)
    end
    local P = score(ests[1])
    for r = 2, k do P = P + score(ests[r]) end
    return labels_of.most_probable(P, ests[1].classes)
  end
end

local function variant(fit, refit, k, logits)
  return function(kind, Xtr, ytr, _, seed)
    if kind == "classification" and not refit and k > 1 then
      return classifier_ensemble(fit, Xtr, ytr, seed, k, logits)
    end
    if kind == "classification" and (refit or k > 1) then return nil end
    local predicts = {}
    for r = 1, k do
      local predict, est = fit(kind, Xtr, ytr, nil, seed + 1000 * (r - 1))
      if refit == "lin0" or refit == "lin0_refit" then
        linear_again(est, Xtr, ytr, refit == "lin0_refit")
      elseif refit then
        refit_readout(est, Xtr, ytr)
      end
      predicts[r] = predict
    end
    return function(X)
      local sum = predicts[1](X)
      for r = 2, k do sum = sum + predicts[r](X) end
      return sum / k
    end
  end
end

-- today with the implicit trainer's fit_defaults changed for the fit (and
-- restored after it)
local function today_fit_defaults(overrides)
  return function(kind, Xtr, ytr, _, seed)
    local defaults = require("idl.trainers").registry.implicit.fit_defaults
    local saved = {}
    for k, v in pairs(overrides) do saved[k], defaults[k] = defaults[k], v end
    local ok, predict, est = pcall(estimator_with(), kind, Xtr, ytr, nil, seed)
    for k in pairs(overrides) do defaults[k] = saved[k] end
    if not ok then error(predict, 0) end
    return predict, est
  end
end

local CONFIGS = {
  refit = variant(today_with(), true, 1),
  lin0 = variant(today_with(), "lin0", 1),
  lin0_refit = variant(today_with(), "lin0_refit", 1),
  ens3_lin0 = variant(today_with(), "lin0", 3),
  full_refit = full_refit,
  ens3 = variant(today_with(), false, 3),
  ens3_logits = variant(today_with(), false, 3, true),
  ens5 = variant(today_with(), false, 5),
  ens3_refit = variant(today_with(), true, 3),
  linloo = variant(today_with{initialization_options = {ridge = "loo", standardize = true}}, false, 1),
  proposed = proposed,
  linit = linit,
  today = estimator_with(),
  -- one model (ensemble_size = 1: the default above 2,000 samples, and below
  -- until 2026-12)
  single = estimator_with(ONE),
  -- one model at the second and third members' seeds: with single, what one
  -- fit scores on average over seeds
  single_rs1000 = estimator_with(ONE, nil, 1000),
  single_rs2000 = estimator_with(ONE, nil, 2000),
  -- the learning rate never halved below 1e-3 (the default floor: 1e-5): the
  -- same scores as today on the eleven tables (seeds 0, 1), and so for one fit
  -- (single_minlr1e-3 against single): early stopping ends a fit on the
  -- plateau after D's release before the rate gets there
  ["minlr1e-3"] = estimator_with(nil, {trainer_options = {min_lr = 1e-3}}),
  -- one fit, the learning rate never halved below 1e-3
  ["single_minlr1e-3"] = one_with{min_lr = 1e-3},
  -- five models instead of three
  size5 = estimator_with{ensemble_size = 5},
  -- the members retrained on all the samples below 2,000 of them, not 1,000
  refit2000 = today_fit_defaults{refit_below = 2000},
  -- the classifier started from picard_ls (its default until 2026-12)
  today_picard = today_with{initialization = "picard_ls"},
  -- the learning rate halved after 3 stalled epochs (the default until 2026-12), not 2
  lrp3 = one_with{lr_patience = 3},
  ["ftol1e-3"] = one_with{forward_tol = 1e-3},
  -- the k-step phantom gradient
  bsteps1 = one_with{backward_steps = 1},
  bsteps2 = one_with{backward_steps = 2},
  bsteps3 = one_with{backward_steps = 3},
  report = estimator_with{preset = "report"},
  two_loops = trainer("two_loops"),
  hybrid = trainer("hybrid"),
  base = implicit(),
  h30 = implicit(30),
  h100 = implicit(100),
  ["lr1e-2"] = implicit(nil, nil, {learning_rate = 1e-2}),
  ["lr2e-3"] = implicit(nil, nil, {learning_rate = 2e-3}),
  ["wd1e-4"] = implicit(nil, nil, {weight_decay = 1e-4}),
  ["wd1e-3"] = implicit(nil, nil, {weight_decay = 1e-3}),
  long = implicit(nil, {patience = 20}, nil, {rounds_number = 200}),
  pat50 = estimator_with({ensemble_size = 1, patience = 50}, {rounds_number = 400}),
  hold10 = hold10,
  mlp = implicit(nil, {constraint = {kind = "inf", kappa = 0}}),
  linear = function(kind, Xtr, ytr) return compare.linear_fit(kind, Xtr, ytr) end,
  ridge = function(kind, Xtr, ytr)
    if kind == "classification" then return nil end
    local lr = idl.LinearRegression{ridge = 1}:fit(Xtr, ytr)
    return function(X) return lr:predict(X) end
  end,
  -- scikit-learn's models in a child python3: the variant compare.sklearn is given
  sklearn = {sklearn = "converge"},
  sklearn_es = {sklearn = "early"},
  sklearn_logistic = {sklearn = "logistic", classification_only = true},
  logistic = function(kind, Xtr, ytr)
    if kind ~= "classification" then return nil end
    local lr = idl.LogisticRegression():fit(Xtr, ytr)
    return function(X) return lr:predict(X) end
  end,
}

local configs = list(opts.configs)
for _, c in ipairs(configs) do
  if CONFIGS[c] == nil then cli.exit("cv_defaults: unknown configuration '" .. c .. "'", 2) end
end
local names = list(opts.problems)
for _, p in ipairs(names) do
  if problems[p] == nil then cli.exit("cv_defaults: unknown problem '" .. p .. "'", 2) end
end

-- results[problem][config] = {scores = {...}, seconds = {...}}
local results = {}
local function record(p, c, score, secs)
  results[p] = results[p] or {}
  local r = results[p][c] or {scores = {}, seconds = {}}
  results[p][c] = r
  r.scores[#r.scores + 1] = score
  r.seconds[#r.seconds + 1] = secs
end

local function fold_fit(pb, c, Xtr, ytr, Xte, yte, hr, seed)
  local cfg = CONFIGS[c]
  if type(cfg) == "table" then
    if cfg.classification_only and pb.kind ~= "classification" then return nil end
    local s, secs = compare.sklearn(pb.kind, Xtr, ytr, Xte, yte, hr, seed, false, cfg.sklearn)
    return s, s and secs
  end
  local t0 = idl.clock()
  local ok, predict = pcall(cfg, pb.kind, Xtr, ytr, hr, seed)
  local secs = idl.clock() - t0
  if not ok then
    io.stderr:write(string.format("  %s failed: %s\n", c, tostring(predict)))
    return nil
  end
  if not predict then return nil end
  return compare.score(pb.kind, yte, predict(Xte)), secs
end

for _, p in ipairs(names) do
  local pb = problems[p]
  for _, seed in ipairs(list(opts.seeds, true)) do
    local X, y = pb.make(seed, sizes[p] or pb.m)
    local kf = ms.KFold{n_splits = opts.folds, shuffle = true, seed = seed}
    for f, fold in ipairs(kf:split(X)) do
      local Xtr, ytr = idl.data.select_rows(X, fold.train), compare.take(y, fold.train)
      local Xte, yte = idl.data.select_rows(X, fold.test), compare.take(y, fold.test)
      local hr = h_rule(Xtr:rows())
      for _, c in ipairs(configs) do
        local score, secs = fold_fit(pb, c, Xtr, ytr, Xte, yte, hr, seed)
        if score then record(p, c, score, secs) end
      end
      io.stderr:write(string.format("\r%s seed %d fold %d/%d done   ", p, seed, f, opts.folds))
    end
  end
end
io.stderr:write("\n")

-- ---------------------------------------------------------------------------
-- The table.

local function mean_se(v)
  local s = 0
  for _, x in ipairs(v) do s = s + x end
  local mean, ss = s / #v, 0
  for _, x in ipairs(v) do ss = ss + (x - mean) ^ 2 end
  return mean, #v > 1 and math.sqrt(ss / (#v - 1) / #v) or 0
end

-- The loss of a score: RMSE, or the error rate for a classification problem.
local function loss_of(p, score) return problems[p].kind == "classification" and 1 - score or score end

local header = {string.format("%-10s", "config")}
for _, p in ipairs(names) do header[#header + 1] = string.format("%17s", p) end
header[#header + 1] = "  geo/best  seconds"
print(string.format("%d-fold CV x seeds {%s}; test RMSE (classification: accuracy) mean +- standard error",
  opts.folds, opts.seeds))
print(table.concat(header, " "))
local best = {}
for _, p in ipairs(names) do
  for _, c in ipairs(configs) do
    local r = results[p] and results[p][c]
    if r then
      local l = loss_of(p, (mean_se(r.scores)))
      best[p] = math.min(best[p] or math.huge, l)
    end
  end
end
for _, c in ipairs(configs) do
  local cells, logsum, count, secs, nsecs = {string.format("%-10s", c)}, 0, 0, 0, 0
  for _, p in ipairs(names) do
    local r = results[p] and results[p][c]
    if r then
      local mean, se = mean_se(r.scores)
      cells[#cells + 1] = problems[p].kind == "classification"
        and string.format("%9.2f%% +-%4.2f", 100 * mean, 100 * se) or string.format("%9.4g +-%5.2g", mean, se)
      logsum, count = logsum + math.log(loss_of(p, mean) / best[p]), count + 1
      for _, s in ipairs(r.seconds) do secs, nsecs = secs + s, nsecs + 1 end
    else
      cells[#cells + 1] = string.format("%17s", "-")
    end
  end
  cells[#cells + 1] = count > 0 and string.format("  %8.3f %8.2f", math.exp(logsum / count), secs / nsecs)
    or "         -        -"
  print(table.concat(cells, " "))
end
