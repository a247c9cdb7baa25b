--- Which trainer to use: the report's two_loops against implicit training
-- (the gradient of the true loss through the equilibrium) and the hybrid
-- (10 two_loops rounds, then implicit), on the report's sections 7.1 and 7.2.
--
--     idl experiments/compare_trainers.lua [--seeds K] [--problems 7.1,7.2] [--seed S] [--out DIR]
--                                          [--full] [--tiny]
--
-- For each problem and seed: the same data split and the same
-- hidden_variables for every trainer, each with its defaults (two_loops: the
-- report's settings of that section and 200 rounds, as in the report;
-- implicit and hybrid: nothing but type_of_training). Reports the TRUE test
-- RMSE (equilibrium X) mean +- std over the seeds, the fit time, and for
-- sin the RMSE that sin(x) itself has on the same noisy test points (the noise
-- floor). Figures: test RMSE against wall time per trainer (first seed).
--
-- Sizes: quick (default) 3 seeds, 7.1 with 10,000 samples and h = 300 and
-- 7.2 with 1000 points and h = 100 (200 two_loops rounds on 7.2, 50 on 7.1 to
-- keep it short: pass --full for 200); --full 10 seeds and 200 rounds
-- everywhere; --tiny for tests.
local idl = require "idl"
local ex = require "idl.experiment"
local data = require "idl.data"
local metrics = require "idl.metrics"

local opts = ex.parse(arg, {
  name = "compare_trainers",
  description = "two_loops vs implicit vs hybrid on the report's sections 7.1 and 7.2",
  options = {{"seeds", "integer", 0, "number of seeds (0: the size's default)"},
             {"problems", "string", "7.1,7.2", "which problems, comma-separated"}},
})

local cfg = ex.pick(opts.size, {
  tiny = {seeds = 1, m71 = 400, h71 = 10, gen_h = 20, density = 0.3, m72 = 200, h72 = 10, rounds71 = 2,
          rounds72 = 2, cap = 5},
  quick = {seeds = 3, m71 = 10000, h71 = 300, gen_h = 500, m72 = 1000, h72 = 100, rounds71 = 50,
           rounds72 = 200},
  full = {seeds = 10, m71 = 10000, h71 = 300, gen_h = 500, m72 = 1000, h72 = 100, rounds71 = 200,
          rounds72 = 200},
})
if opts.seeds > 0 then cfg.seeds = opts.seeds end

local res = ex.results(opts, {name = "compare_trainers", section = "trainers",
  title = "two_loops vs implicit vs hybrid (true test RMSE, fit time)"})
res.settings = cfg

local TRAINERS = {"two_loops", "implicit", "hybrid"}
local show = require("idl.progress").is_terminal(2)

-- The problems: X, y rows-are-samples, the last 10% as the test set.
local function problem(name, seed)
  local rng = idl.rng(seed)
  local X, y, floor
  if name == "7.1" then
    X, y = data.implicit(cfg.m71, rng, {density = cfg.density or 0.01, h = cfg.gen_h})
  else
    X, y = data.sin(cfg.m72, rng, {noise = 0.1})
  end
  local m = X:rows()
  local k = m - math.floor(m / 10)
  local p = {Xtr = X:sub(1, k, 1, X:cols()):copy(), ytr = y:sub(1, k, 1, 1):copy(),
             Xte = X:sub(k + 1, m, 1, X:cols()):copy(), yte = y:sub(k + 1, m, 1, 1):copy()}
  if name == "7.2" then
    local truth = idl.zeros(m - k, 1)
    for i = 1, m - k do truth:set(i, 1, math.sin(p.Xte:get(i, 1))) end
    floor = metrics.rmse(p.yte, truth)
  end
  p.floor = floor
  return p
end

-- Fits one trainer; returns test RMSE, seconds, and the (seconds, test RMSE)
-- curve measured after every round.
local function run(name, trainer, p, seed)
  local h = name == "7.1" and cfg.h71 or cfg.h72
  local params = {preset = "report", hidden_variables = h, random_state = seed, verbosity = false}
  local fit = {type_of_training = trainer}
  if trainer ~= "implicit" then
    -- The report's settings: alpha = eps = 1e-5 (7.1), 1e-6 and lambda0 (7.2).
    params.dual_learning_rate = name == "7.1" and 1e-5 or 1e-6
    params.tol_fenchel = params.dual_learning_rate
    params.starting_lambda = name == "7.2" and 1e-6 or nil
    params.monitor_train_every = 0
  end
  if trainer == "two_loops" then
    fit.rounds_number = name == "7.1" and cfg.rounds71 or cfg.rounds72
    params.early_stopping = false
  end
  if cfg.cap then fit.rounds_number = math.min(fit.rounds_number or cfg.cap, cfg.cap) end
  local est = idl.IDLModel(params)
  local curve_t, curve_r = {}, {}
  local t0 = idl.clock()
  fit.callbacks = function(s)
    -- Time spent measuring is excluded: the clock pauses around it.
    local t = idl.clock()
    local yhat = s.model:predict_u(p.Xte:t(), {tol = 1e-8})
    curve_t[#curve_t + 1] = t - t0
    curve_r[#curve_r + 1] = metrics.rmse(p.yte, yhat:t())
    t0 = t0 + (idl.clock() - t)
  end
  est:fit(p.Xtr, p.ytr, fit)
  local seconds = idl.clock() - t0
  return metrics.rmse(p.yte, est:predict(p.Xte)), seconds, curve_t, curve_r, #est.history - 1
end

local rows = {}
local problems = {}
for name in opts.problems:gmatch("[^,]+") do
  if name ~= "7.1" and name ~= "7.2" then
    io.stderr:write("compare_trainers: --problems takes 7.1 and/or 7.2, got " .. name .. "\n")
    os.exit(2)
  end
  problems[#problems + 1] = name
end
for _, name in ipairs(problems) do
  local per = {}
  for _, t in ipairs(TRAINERS) do per[t] = {rmse = {}, seconds = {}, rounds = {}} end
  local floors = {}
  local curves = {}
  for s = 1, cfg.seeds do
    local seed = opts.seed + s - 1
    local p = problem(name, seed)
    floors[#floors + 1] = p.floor
    for _, t in ipairs(TRAINERS) do
      if show then io.stderr:write(string.format("\r%s seed %d %-10s", name, seed, t)) end
      local r, sec, ct, cr, rounds = run(name, t, p, seed)
      table.insert(per[t].rmse, r)
      table.insert(per[t].seconds, sec)
      table.insert(per[t].rounds, rounds)
      if s == 1 then curves[#curves + 1] = {x = ct, y = cr, label = t, style = "linespoints"} end
      per[t].curves = per[t].curves or {}
      per[t].curves[s] = {t = ct, r = cr}
    end
  end
  if show then io.stderr:write("\r" .. string.rep(" ", 40) .. "\r") end
  -- Seconds until each trainer's test RMSE first reaches 0.3 x the RMSE
  -- two_loops ends with on the same seed (the issue's bar), mean over seeds.
  local function time_to_bar(t)
    local times = {}
    for k, c in pairs(per[t].curves) do
      local bar = 0.3 * per.two_loops.rmse[k]
      for i = 1, #c.r do
        if c.r[i] <= bar then times[#times + 1] = c.t[i]; break end
      end
    end
    return #times, #times > 0 and ex.mean_std(times) or nil
  end
  for _, t in ipairs(TRAINERS) do
    local rm, rs = ex.mean_std(per[t].rmse)
    local reached, tbar = time_to_bar(t)
    local sm = ex.mean_std(per[t].seconds)
    local nm = ex.mean_std(per[t].rounds)
    rows[#rows + 1] = {problem = name, trainer = t, rmse_mean = rm, rmse_std = rs, seconds = sm,
      rounds = nm, seeds = cfg.seeds, noise_floor = (#floors > 0) and ex.mean_std(floors) or nil,
      rmse_all = per[t].rmse, seconds_all = per[t].seconds, reached_bar = reached, seconds_to_bar = tbar,
      seconds_per_round = sm / math.max(nm, 1)}
  end
  ex.figure(res, "lines", "time_vs_rmse_" .. name:gsub("%.", "") .. ".png",
    "Section " .. name .. ": true test RMSE against fit time (seed " .. opts.seed .. ")",
    {title = "Section " .. name .. ": test RMSE vs wall time", xlabel = "seconds", ylabel = "test RMSE",
     logy = true, series = curves})
end

local table_rows = {}
for _, r in ipairs(rows) do
  table_rows[#table_rows + 1] = {problem = r.problem, trainer = r.trainer,
    rmse = ex.fmt_pm(r.rmse_mean, r.rmse_std), seconds = ex.fmt(r.seconds, 3), rounds = ex.fmt(r.rounds, 3),
    floor = r.noise_floor and ex.fmt(r.noise_floor) or "-",
    bar = string.format("%d/%d%s", r.reached_bar, r.seeds,
      r.seconds_to_bar and string.format(" in %.3g s", r.seconds_to_bar) or "")}
end
res.rows = rows
res.summary = {columns = {"problem", "trainer", "rmse", "seconds", "rounds", "floor", "bar"},
  headers = {"problem", "trainer", "test RMSE (mean ± std)", "fit seconds", "rounds", "sin(x) RMSE",
    "reached 0.3 x two_loops"},
  rows = table_rows}
ex.write_csv(ex.file(res, "comparison.csv"),
  {"problem", "trainer", "rmse_mean", "rmse_std", "seconds", "rounds"},
  (function()
    local t = {}
    for _, r in ipairs(rows) do
      t[#t + 1] = {r.problem, r.trainer, r.rmse_mean, r.rmse_std, r.seconds, r.rounds}
    end
    return t
  end)())
ex.finish(res)
