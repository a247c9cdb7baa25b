--- Report section 7.3: ablation studies on the sin example, 10 initializations per setting.
--
--     idl experiments/sec73_ablations.lua [--seed S] [--out DIR] [--full] [--tiny] [--jobs N]
--
-- The report's protocol: on its last example (y = sin(x) + N(0, 0.1^2), here
-- 1000 points of which the last 100 are the test set), fit IDL models from 10
-- initializations (random_state = 1000 seed + i, i = 1..10, picard_ls) and
-- report the mean and standard deviation over them of the TRUE test L2 error
-- (L = ||yhat - y||^2 / (2m) with X from the equilibrium), at the
-- initialization (round 0) and after training (two_loops, no early stopping):
--   fig. 6   training or not: h = 100, alpha = eps = lambda0 = 1e-6
--   fig. 7   hidden variables h, with alpha = eps = lambda0 = 1e-6
--   fig. 8   dual learning rate alpha, with eps = lambda0 = 1e-6, h = 200
--   fig. 9   Fenchel tolerance eps, with alpha = lambda0 = 1e-6, h = 200
--   fig. 10  starting lambda lambda0, with alpha = eps = 1e-6, h = 200
-- Settings shared by several studies are fitted once. Every fit runs in its own
-- worker process (idl.parallel: one BLAS thread, its own seed, the data
-- regenerated from --seed), up to --jobs at a time, so the numbers do not
-- depend on --jobs. Under `mpirun -np N idl experiments/sec73_ablations.lua`
-- the fits are spread over the N ranks (idl.parallel: rank r runs fits r + 1,
-- r + 1 + N, ...; --jobs workers per rank, default 1) and rank 0 alone writes
-- the results: the same files as a run in one process.
--
-- Sizes: --full 900 training points, 100 rounds, h in {10, 25, 50, 100, 200,
-- 300}, alpha, eps, lambda0 in {1e-6, 1e-4, 1e-2, 1} (about 200 fits: tens of
-- minutes on 2 cores); quick (default) 400 training points, 15 rounds, h in
-- {10, 50, 100, 200}, the other three in {1e-6, 1e-3, 1} at h = 100 instead of
-- 200; --tiny 100 points, 2 rounds, 3 initializations.
--
-- Writes into --out (default out/sec73_ablations): results.json, summary.csv
-- (each study against the report's finding), values.csv (mean and std per
-- setting), fits.csv (one row per fit), ablation_training.png (fig. 6),
-- ablation_h.png (fig. 7), ablation_alpha.png (fig. 8), ablation_eps.png
-- (fig. 9), ablation_lambda0.png (fig. 10).
local idl = require "idl"
local ex = require "idl.experiment"
local parallel = require "idl.parallel"
local progress = require "idl.progress"

--- One fit, in a worker process: params from the driver (below), result the
-- true test L2 at the initialization and after training.
local function fit_job(p)
  idl.set_threads(1)
  local X, y = idl.data.sin(p.m, idl.rng(p.data_seed), {noise = p.noise})
  local Xtr, Xte, ytr, yte = idl.data.train_test_split(X, y, {test_size = p.test, shuffle = false})
  local est = idl.IDLModel{preset = "report", hidden_variables = p.h, dual_learning_rate = p.alpha,
    tol_fenchel = p.eps, starting_lambda = p.lambda0, random_state = p.random_state, early_stopping = false,
    verbosity = false, monitor_train_every = 0}
  est:fit(Xtr, ytr, {rounds_number = p.rounds, type_of_training = "two_loops", eval_set = {Xte, yte}})
  local hist = est.history
  local inner = 0
  for _, e in ipairs(hist) do inner = inner + (e.inner_iterations or 0) end
  return {l2_init = hist[1].eval_l2, l2_final = hist[#hist].eval_l2, rounds = hist[#hist].round,
    stop_reason = est.stop_reason, inner_iterations = inner, lambda_l1 = hist[#hist].lambda_l1}
end

if parallel.is_worker(arg) then
  parallel.serve(arg, fit_job)
  return
end

local opts = ex.parse(arg, {
  name = "sec73_ablations", jobs = true,
  description = "Report section 7.3: training or not, h, dual learning rate, Fenchel tolerance and "
    .. "starting lambda on the sin example, mean +- std of the true test L2 over initializations.",
})

local cfg = ex.pick(opts.size, {
  tiny = {m = 120, test = 20, rounds = 2, inits = 3, h_small = 10, h_large = 10, h_values = {5, 10},
    alpha_values = {1e-6, 1}, eps_values = {1e-6, 1}, lambda0_values = {1e-6, 1}},
  quick = {m = 500, test = 100, rounds = 15, inits = 10, h_small = 100, h_large = 100,
    h_values = {10, 50, 100, 200}, alpha_values = {1e-6, 1e-3, 1}, eps_values = {1e-6, 1e-3, 1},
    lambda0_values = {1e-6, 1e-3, 1}},
  full = {m = 1000, test = 100, rounds = 100, inits = 10, h_small = 100, h_large = 200,
    h_values = {10, 25, 50, 100, 200, 300}, alpha_values = {1e-6, 1e-4, 1e-2, 1},
    eps_values = {1e-6, 1e-4, 1e-2, 1}, lambda0_values = {1e-6, 1e-4, 1e-2, 1}},
})
local base = {alpha = 1e-6, eps = 1e-6, lambda0 = 1e-6}
local settings = {m = cfg.m, test = cfg.test, noise = 0.1, rounds_number = cfg.rounds,
  initializations = cfg.inits, initialization = "picard_ls", type_of_training = "two_loops",
  early_stopping = false, data_seed = opts.seed, alpha = base.alpha, tol_fenchel = base.eps,
  starting_lambda = base.lambda0, h_training = cfg.h_small, h_sweeps = cfg.h_large, h_values = cfg.h_values,
  alpha_values = cfg.alpha_values, eps_values = cfg.eps_values, lambda0_values = cfg.lambda0_values,
  jobs = opts.jobs}

local res = ex.results(opts, {name = "sec73_ablations", section = "7.3",
  title = string.format("Ablations on the sin example: %d initializations per setting, %d rounds",
    cfg.inits, cfg.rounds)})
res.settings = settings

-- The studies: which parameter varies, over which values, from which base.
local studies = {
  {key = "training", param = "h", values = {cfg.h_small}, h = cfg.h_small, figure = "6",
   title = "training or not", finding = "more errors after training than before (fig. 6)"},
  {key = "h", param = "h", values = cfg.h_values, h = cfg.h_small, figure = "7",
   title = "hidden variables h", finding = "the more hidden variables, the more accurate (fig. 7)"},
  {key = "alpha", param = "alpha", values = cfg.alpha_values, h = cfg.h_large, figure = "8",
   title = "dual learning rate alpha", finding = "no significant impact (fig. 8)"},
  {key = "eps", param = "eps", values = cfg.eps_values, h = cfg.h_large, figure = "9",
   title = "Fenchel tolerance eps", finding = "no significant impact (fig. 9)"},
  {key = "lambda0", param = "lambda0", values = cfg.lambda0_values, h = cfg.h_large, figure = "10",
   title = "starting lambda lambda0",
   finding = "on average, the greater lambda0 the less accurate (fig. 10)"},
}

-- Jobs: one per distinct (h, alpha, eps, lambda0, initialization).
local jobs, job_of = {}, {}
local function job_for(s, i)
  local key = string.format("%d|%.17g|%.17g|%.17g|%d", s.h, s.alpha, s.eps, s.lambda0, i)
  if not job_of[key] then
    jobs[#jobs + 1] = {m = cfg.m, test = cfg.test, noise = settings.noise, data_seed = opts.seed,
      rounds = cfg.rounds, h = s.h, alpha = s.alpha, eps = s.eps, lambda0 = s.lambda0,
      random_state = 1000 * opts.seed + i, init = i}
    job_of[key] = #jobs
  end
  return job_of[key]
end
for _, st in ipairs(studies) do
  st.cells = {}
  for v, value in ipairs(st.values) do
    local s = {h = st.h, alpha = base.alpha, eps = base.eps, lambda0 = base.lambda0}
    s[st.param] = value
    local cell = {value = value, setting = s, jobs = {}}
    for i = 1, cfg.inits do cell.jobs[i] = job_for(s, i) end
    st.cells[v] = cell
  end
end

-- under mpirun, parallel.map spreads the fits over the ranks: rank 0 reports
-- the progress of its share and alone writes the results
local ranks = idl.mpi.available() and idl.mpi.size() or 1
local rank = ranks > 1 and idl.mpi.rank() or 0
local bar = progress.new{total = (#jobs - rank + ranks - 1) // ranks, label = "7.3 fits" .. (ranks > 1
  and string.format(" (rank 0's share of %d)", #jobs) or ""), enabled = rank == 0}
local results = parallel.map(arg[0], jobs, {jobs = opts.jobs, on_done = function(_, done)
  bar:update(done)
end})
bar:finish()
if rank ~= 0 then return end

-- Statistics per setting -------------------------------------------------------

local fit_rows = {}
for j, job in ipairs(jobs) do
  local r = results[j]
  fit_rows[j] = {h = job.h, alpha = job.alpha, eps = job.eps, lambda0 = job.lambda0, init = job.init,
    random_state = job.random_state, l2_init = r.l2_init, l2_final = r.l2_final, rounds = r.rounds,
    stop_reason = r.stop_reason, inner_iterations = r.inner_iterations, lambda_l1 = r.lambda_l1}
end
ex.write_csv(ex.file(res, "fits.csv"), {"h", "alpha", "eps", "lambda0", "init", "random_state", "l2_init",
  "l2_final", "rounds", "stop_reason", "inner_iterations", "lambda_l1"}, fit_rows)

local value_rows = {}
for _, st in ipairs(studies) do
  for _, cell in ipairs(st.cells) do
    local before, after, worse = {}, {}, 0
    for i, j in ipairs(cell.jobs) do
      before[i], after[i] = results[j].l2_init, results[j].l2_final
      if after[i] > before[i] then worse = worse + 1 end
    end
    cell.before, cell.after, cell.worse = before, after, worse
    cell.init_mean, cell.init_std = ex.mean_std(before)
    cell.final_mean, cell.final_std = ex.mean_std(after)
    value_rows[#value_rows + 1] = {study = st.key, param = st.param, value = cell.value, h = cell.setting.h,
      alpha = cell.setting.alpha, eps = cell.setting.eps, lambda0 = cell.setting.lambda0, n = #after,
      l2_init_mean = cell.init_mean, l2_init_std = cell.init_std, l2_final_mean = cell.final_mean,
      l2_final_std = cell.final_std, worse_after_training = worse}
  end
end
local value_columns = {"study", "param", "value", "h", "alpha", "eps", "lambda0", "n", "l2_init_mean",
  "l2_init_std", "l2_final_mean", "l2_final_std", "worse_after_training"}
ex.write_csv(ex.file(res, "values.csv"), value_columns, value_rows)

-- Figures ----------------------------------------------------------------------

local by_key = {}
for _, st in ipairs(studies) do by_key[st.key] = st end
local function base_text(st)
  local parts = {}
  if st.key ~= "h" then parts[#parts + 1] = "h = " .. st.h end
  for _, k in ipairs{"alpha", "eps", "lambda0"} do
    if k ~= st.param then parts[#parts + 1] = k .. " = " .. ex.fmt(base[k]) end
  end
  return table.concat(parts, ", ")
end

do
  local cell = by_key.training.cells[1]
  local lo, hi = math.huge, -math.huge
  for i = 1, #cell.before do
    lo = math.min(lo, cell.before[i], cell.after[i])
    hi = math.max(hi, cell.before[i], cell.after[i])
  end
  local pad = 0.05 * (hi - lo)
  local range = {lo - pad, hi + pad}
  ex.figure(res, "lines", "ablation_training.png",
    string.format("Report fig. 6: true test L2 after training (y) against at the initialization (x), one "
      .. "point per initialization (%s, %d rounds); above the diagonal, training made the model worse",
      base_text(by_key.training), cfg.rounds),
    {title = "Better off without training?", xlabel = "test L2 at the initialization",
     ylabel = "test L2 after training", legend = "top left", xrange = range, yrange = range,
     series = {{x = cell.before, y = cell.after, label = "one initialization", style = "points"},
       {x = range, y = range, label = "no change (y = x)"}}})
end

-- h on a log axis; alpha, eps and lambda0 span decades, so their axis is
-- log10 of the value (gnuplot's log-axis labels would read 0.0000010). The
-- initialization's series is shifted slightly right so both error bars show.
-- A loss is positive and spans decades: the y axis is logarithmic, the bars run
-- from the smallest to the largest loss over the initializations (mean +- std
-- went below zero), the point is the mean.
local function min_max(values)
  local lo, hi = math.huge, -math.huge
  for _, v in ipairs(values) do lo, hi = math.min(lo, v), math.max(hi, v) end
  return lo, hi
end
for _, key in ipairs{"h", "alpha", "eps", "lambda0"} do
  local st = by_key[key]
  local log10 = key ~= "h"
  local after = {x = {}, y = {}, low = {}, high = {}, label = "after training"}
  local init = {x = {}, y = {}, low = {}, high = {}, label = "at the initialization"}
  for v, cell in ipairs(st.cells) do
    if log10 then
      after.x[v] = math.log(cell.value, 10)
      init.x[v] = after.x[v] + 0.04 * #st.cells
    else
      after.x[v], init.x[v] = cell.value, cell.value * 1.06
    end
    after.y[v], init.y[v] = cell.final_mean, cell.init_mean
    after.low[v], after.high[v] = min_max(cell.after)
    init.low[v], init.high[v] = min_max(cell.before)
  end
  ex.figure(res, "errorbars", "ablation_" .. key .. ".png",
    string.format("Report fig. %s: true test L2 (mean, with bars from the minimum to the maximum over %d "
      .. "initializations) against %s, after %d rounds of training and at the initialization (drawn "
      .. "slightly to the right); %s", st.figure, cfg.inits, st.title, cfg.rounds, base_text(st)),
    {title = "Influence of the " .. st.title, xlabel = log10 and "log10 " .. st.param or st.param,
     ylabel = "test L2 (true, log scale)", logx = not log10, logy = true,
     legend = "tmargin center horizontal", series = {after, init}})
end

-- Summary against the report's findings ------------------------------------------

local function range_text(st)
  local first, last = st.cells[1], st.cells[#st.cells]
  return string.format("mean test L2 %s (%s = %s) to %s (%s = %s)", ex.fmt(first.final_mean, 3), st.param,
    ex.fmt(first.value), ex.fmt(last.final_mean, 3), st.param, ex.fmt(last.value))
end

-- The largest difference between the mean L2 of two settings, in units of the
-- typical standard deviation (the root mean square of the stds).
local function spread(st)
  local lo, hi, ss = math.huge, -math.huge, 0
  for _, cell in ipairs(st.cells) do
    lo, hi = math.min(lo, cell.final_mean), math.max(hi, cell.final_mean)
    ss = ss + cell.final_std ^ 2
  end
  local typical = math.sqrt(ss / #st.cells)
  return (hi - lo) / math.max(typical, 1e-300)
end

local rows = {}
local tr = by_key.training.cells[1]
rows[1] = {study = "training or not", setting = base_text(by_key.training), report = by_key.training.finding,
  ours = string.format("worse after training for %d of %d initializations; mean %s -> %s", tr.worse,
    #tr.after, ex.fmt(tr.init_mean, 3), ex.fmt(tr.final_mean, 3))}
for _, key in ipairs{"h", "alpha", "eps", "lambda0"} do
  local st = by_key[key]
  rows[#rows + 1] = {study = st.title, setting = base_text(st), report = st.finding,
    ours = string.format("%s; largest gap between means = %.2g x the typical std", range_text(st),
      spread(st))}
end
res.summary = {columns = {"study", "setting", "report", "ours"}, rows = rows}

local table_rows = {}
for _, st in ipairs(studies) do
  for _, cell in ipairs(st.cells) do
    table_rows[#table_rows + 1] = {study = st.key, value = cell.value,
      init = ex.fmt_pm(cell.init_mean, cell.init_std), final = ex.fmt_pm(cell.final_mean, cell.final_std),
      worse = string.format("%d/%d", cell.worse, #cell.after)}
  end
end
res.tables = {{title = "True test L2 per setting (mean ± std over the initializations)",
  columns = {"study", "value", "init", "final", "worse"},
  headers = {"study", "value", "at the initialization", "after training", "worse after training"},
  rows = table_rows}}
res.studies = {}
for _, st in ipairs(studies) do
  local cells = {}
  for v, cell in ipairs(st.cells) do
    cells[v] = {value = cell.value, l2_init = cell.before, l2_final = cell.after,
      l2_init_mean = cell.init_mean, l2_init_std = cell.init_std, l2_final_mean = cell.final_mean,
      l2_final_std = cell.final_std, worse_after_training = cell.worse}
  end
  res.studies[st.key] = {param = st.param, h = st.h, figure = st.figure, finding = st.finding, cells = cells}
end
res.fits = #jobs
if opts.size ~= "full" then
  ex.note(res, string.format("%s mode: %d training points, %d rounds, h = %d for the alpha, eps and lambda0 "
    .. "studies (the report: h = 200; run --full)", opts.size, cfg.m - cfg.test, cfg.rounds, cfg.h_large))
end
io.stdout:write(ex.text_table(res.tables[1].columns, table_rows, res.tables[1].headers))
ex.finish(res)
