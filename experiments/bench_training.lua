--- Benchmark: fitting the report's section 7.1 and 7.2 problems with
-- idl.IDLModel (two_loops), beside the closed-form linear regression.
--
--     idl experiments/bench_training.lua [--rounds 200] [--threads 2] [--problem all|7.1|7.2]
--
-- 7.1 implicit generative process: 10 features, 10,000 samples, a generator with
--     500 hidden units (idl.data.implicit), the last 10% as test set; model
--     h = 300, dual_learning_rate = tol_fenchel = 1e-5 (the report's values).
-- 7.2 sin: x ~ U(0, 2 pi), y = sin x + N(0, 0.1^2), 1000 samples, last 100 as
--     test set; model h = 100, alpha = eps = lambda0 = 1e-6 (report 7.3).
-- Both run every round (early_stopping = false) so the fit time is the time of
-- `rounds` rounds; every round records the eval loss of the real model, every
-- 10th round (the trainer's default; --monitor_train_every) the train loss.
--
-- Printed per problem: fit and predict time, test RMSE of the real model (X
-- from the equilibrium) for IDL and linear regression, the RMSE right after
-- the initialization (history round 0) and at the best eval round, the fit
-- time split between training rounds, per-round monitoring and the rest
-- (initialization), in dgemm-times of wall time and of CPU time (the CPU
-- figure is the steadier one on a shared machine: waits for a core are not
-- in it), the GEMM flops as a count of plain dgemms, and the share of the fit
-- spent in GEMMs, measured two ways:
--   timed   every idl.gemm call from Lua and every call of the relaxed kernels
--           (relaxed_forward, relaxed_grads: GEMMs and their passes) is timed;
--           inside idl.equilibrium and the Lipschitz constants (C) the GEMMs
--           are not visible, so each equilibrium
--           call is charged (iterations + 1) times the measured time of a plain
--           h x h x m dgemm (idl._time_dgemm, best of 5), its own cost per the
--           solver's contract; lipschitz counts as non-GEMM (conservative).
--   flops   the flops of those same GEMMs divided by the plain dgemm rate of
--           the h x h x m shape: the time the GEMMs alone would take at that rate.
local idl = require "idl"
local cli = require "idl.cli"
local core = require "idl.core"

local opts = cli.parse(arg, {
  name = "bench_training",
  description = "Fit time, predict time and test RMSE of IDL (two_loops) vs linear regression "
    .. "on the report's 7.1 and 7.2 problems, and the share of the fit spent in GEMMs.",
  options = {
    {"rounds", "integer", 200, "rounds of two_loops"},
    {"threads", "integer", 2, "OpenBLAS threads"},
    {"problem", "string", "all", "all, 7.1 or 7.2"},
    {"seed", "integer", 0, "data and model seed"},
    {"monitor_train_every", "integer", -1,
      "true train loss every k rounds (0: never; -1: the trainer's default, 10; eval: every round)"},
  }})
idl.set_threads(opts.threads)

-- ---------------------------------------------------------------------------
-- GEMM accounting: wrap the kernels the trainers call (they look them up in
-- idl.core at each call, so the wrappers see every call).

local acct = {gemm_time = 0, gemm_flops = 0, eq_gemms = {}, eq_time = 0, lip_time = 0}
local raw = {gemm = core.gemm, equilibrium = core.equilibrium, lipschitz = core.lipschitz}

core.gemm = function(C, A, B, alpha, beta, ta, tb)
  local t = core.clock()
  raw.gemm(C, A, B, alpha, beta, ta, tb)
  acct.gemm_time = acct.gemm_time + (core.clock() - t)
  local k = ta and A:rows() or A:cols()
  acct.gemm_flops = acct.gemm_flops + 2 * C:rows() * C:cols() * k
  return C
end

core.equilibrium = function(a, b, o)
  local t = core.clock()
  local X, info = raw.equilibrium(a, b, o)
  acct.eq_time = acct.eq_time + (core.clock() - t)
  local key = X:rows() .. "x" .. X:cols()
  acct.eq_gemms[key] = (acct.eq_gemms[key] or 0) + info.iterations + 1
  return X, info
end

core.lipschitz = function(...)
  local t = core.clock()
  local r = raw.lipschitz(...)
  acct.lip_time = acct.lip_time + (core.clock() - t)
  return r
end

-- The relaxed kernels (engine/core/relaxed.c) run their GEMMs in C: each call
-- is timed whole (its GEMMs and the passes around them) and its GEMM flops
-- counted: the forward pass [A; D] X + [B c; E f] [U; 1^T] ((p+h) x (h+n+1) x m),
-- the theta gradients the same shape, the X gradient h x (p+h) x m.
local function stacked(X, Y, U) return X:rows() + Y:rows(), X:rows() + U:rows() + 1, X:cols() end
for _, name in ipairs{"relaxed_forward", "relaxed_grads", "lipschitz_theta", "lipschitz_x"} do
  raw[name] = core[name]
end
core.relaxed_forward = function(ws, theta, X, U, Y)
  local t = core.clock()
  raw.relaxed_forward(ws, theta, X, U, Y)
  acct.gemm_time = acct.gemm_time + (core.clock() - t)
  local rows, k, m = stacked(X, Y, U)
  acct.gemm_flops = acct.gemm_flops + 2 * rows * k * m
  acct.p, acct.n = Y:rows(), U:rows() -- for the gradients of this forward pass
end
core.relaxed_grads = function(ws, X, lambda, grad, gX)
  local t = core.clock()
  raw.relaxed_grads(ws, X, lambda, grad, gX)
  acct.gemm_time = acct.gemm_time + (core.clock() - t)
  local rows, m = X:rows() + acct.p, X:cols()
  if grad then acct.gemm_flops = acct.gemm_flops + 2 * rows * (X:rows() + acct.n + 1) * m end
  if gX then acct.gemm_flops = acct.gemm_flops + 2 * X:rows() * rows * m end
end
for _, name in ipairs{"lipschitz_theta", "lipschitz_x", "lipschitz_x_carried"} do
  raw[name] = raw[name] or core[name]
  core[name] = function(...)
    local t = core.clock()
    local a, b, c, d = raw[name](...)
    acct.lip_time = acct.lip_time + (core.clock() - t)
    return a, b, c, d
  end
end

-- CPU time (os.clock: this process's CPU seconds, all threads) of the rounds
-- and of the per-round monitoring. On a shared machine wall time counts the
-- waits for a core, CPU time does not: its ratio to a plain dgemm's CPU time
-- is the steadier figure. The loop looks the round up in the trainer's spec
-- and calls monitor.measure through its module, so these wrappers see every call.
local spec = require("idl.train.registry").get("two_loops")
local monitor = require "idl.train.monitor"
-- fn, adding its processor seconds to acct[key] (fn returns one value)
local function cpu_timed(fn, key)
  return function(...)
    local t = os.clock()
    local r = fn(...)
    acct[key] = acct[key] + (os.clock() - t)
    return r
  end
end
spec.round = cpu_timed(spec.round, "round_cpu")
monitor.measure = cpu_timed(monitor.measure, "monitor_cpu")

local function reset()
  acct.gemm_time, acct.gemm_flops, acct.eq_time, acct.lip_time = 0, 0, 0, 0
  acct.round_cpu, acct.monitor_cpu = 0, 0
  acct.eq_gemms = {}
end

-- Best-of-5 time of a plain h x h times h x m dgemm.
local dgemm_cache = {}
local function dgemm_time(h, m)
  local key = h .. "x" .. m
  if not dgemm_cache[key] then
    local rng = idl.rng(99)
    local D, X, Z = idl.randn(h, h, rng), idl.randn(h, m, rng), idl.zeros(h, m)
    local best = math.huge
    for _ = 1, 5 do best = math.min(best, idl._time_dgemm(Z, D, X, 1)) end
    dgemm_cache[key] = best
  end
  return dgemm_cache[key]
end

-- Best-of-5 CPU time of the same dgemm.
local function dgemm_cpu(h, m)
  local key = "cpu" .. h .. "x" .. m
  if not dgemm_cache[key] then
    local rng = idl.rng(99)
    local D, X, Z = idl.randn(h, h, rng), idl.randn(h, m, rng), idl.zeros(h, m)
    local best = math.huge
    for _ = 1, 5 do
      local t = os.clock()
      raw.gemm(Z, D, X, 1, 0)
      best = math.min(best, os.clock() - t)
    end
    dgemm_cache[key] = best
  end
  return dgemm_cache[key]
end

-- Share of fit_time in GEMMs (timed and estimated), total GEMM flops, and the
-- flops of the equilibrium solves alone.
local function gemm_share(fit_time)
  local eq_time_est, eq_flops = 0, 0
  for key, count in pairs(acct.eq_gemms) do
    local h, m = key:match("(%d+)x(%d+)")
    h, m = tonumber(h), tonumber(m)
    eq_time_est = eq_time_est + count * dgemm_time(h, m)
    eq_flops = eq_flops + count * 2 * h * h * m
  end
  return (acct.gemm_time + eq_time_est) / fit_time, acct.gemm_flops + eq_flops, eq_flops
end

-- ---------------------------------------------------------------------------

local function rmse(y, yhat) return idl.metrics.rmse(y, yhat) end

-- The 1-minute load average (Linux), to read timings on a shared machine.
local function load_average()
  local f = io.open("/proc/loadavg")
  if not f then return "?" end
  local l = f:read("l")
  f:close()
  return l:match("^(%S+)") or "?"
end

local function run(name, X, y, n_test, params, h_rate)
  local Xtr, Xte, ytr, yte = idl.data.train_test_split(X, y, {test_size = n_test, shuffle = false})
  print(string.format("\n== %s: %d train, %d test samples, %d features", name, Xtr:rows(), Xte:rows(),
    Xtr:cols()))

  local t = core.clock()
  local lr = idl.LinearRegression():fit(Xtr, ytr)
  local lr_fit = core.clock() - t
  t = core.clock()
  local lr_pred = lr:predict(Xte)
  local lr_predict = core.clock() - t

  params.preset, params.random_state, params.verbosity = "report", opts.seed, false
  params.early_stopping = false
  if opts.monitor_train_every >= 0 then params.monitor_train_every = opts.monitor_train_every end
  local est = idl.IDLModel(params)
  collectgarbage()
  reset()
  t = core.clock()
  local t_cpu = os.clock()
  est:fit(Xtr, ytr, {rounds_number = opts.rounds, type_of_training = "two_loops", eval_set = {Xte, yte}})
  local fit_cpu = os.clock() - t_cpu
  local fit_time = core.clock() - t
  local share, flops, eq_flops = gemm_share(fit_time)
  local load = load_average()
  local rate = 2 * h_rate * h_rate * Xtr:rows() / dgemm_time(h_rate, Xtr:rows())
  t = core.clock()
  local yhat = est:predict(Xte)
  local predict_time = core.clock() - t

  local h = est.history
  local best = h[est.best_round + 1]
  local dg = dgemm_time(h_rate, Xtr:rows())
  print(string.format("fit time = %.0f dgemm-times (a plain %dx%dx%d dgemm takes %.4f s): %.0f in the "
    .. "training rounds, %.0f monitoring (true losses), %.0f initialization", fit_time / dg, h_rate,
    h_rate, Xtr:rows(), dg, est.timing.rounds / dg, est.timing.monitor / dg,
    (fit_time - est.timing.rounds - est.timing.monitor) / dg))
  local dc = dgemm_cpu(h_rate, Xtr:rows())
  print(string.format("fit CPU time = %.0f dgemm CPU-times (this process's CPU seconds, all threads; a plain "
    .. "dgemm takes %.4f s): %.0f in the training rounds, %.0f monitoring, %.0f initialization", fit_cpu / dc,
    dc, acct.round_cpu / dc, acct.monitor_cpu / dc, (fit_cpu - acct.round_cpu - acct.monitor_cpu) / dc))
  print(string.format("%-22s %10s %12s %10s", "", "fit (s)", "predict (s)", "test RMSE"))
  print(string.format("%-22s %10.3f %12.4f %10.4f", "linear regression", lr_fit, lr_predict,
    rmse(yte, lr_pred)))
  print(string.format("%-22s %10.3f %12.4f %10.4f", string.format("IDL h=%d, %d rounds",
    params.hidden_variables, #h - 1), fit_time, predict_time, rmse(yte, yhat)))
  print(string.format("IDL test RMSE after the initialization (round 0): %.4f; best eval round %d: %.4f",
    h[1].eval_rmse, est.best_round, best.eval_rmse))
  local function num(v, f) return v and string.format(f, v) or "n/a" end
  print(string.format("IDL train RMSE (true) %s -> %s; relaxed train L2 %.3g -> %.3g "
    .. "(X is free: the report's 'overfitting')", num(h[1].train_rmse, "%.4f"), num(h[#h].train_rmse, "%.4f"),
    h[1].relaxed_l2, h[#h].relaxed_l2))
  local inner = 0
  for k = 2, #h do inner = inner + (h[k].inner_iterations or 0) end
  print(string.format("fit time: %.3f s in rounds (%d inner iterations), %.3f s monitoring (true losses), "
    .. "%.3f s initialization and setup", est.timing.rounds, inner, est.timing.monitor,
    fit_time - est.timing.rounds - est.timing.monitor))
  local per = 2 * h_rate * h_rate * Xtr:rows() -- flops of one plain dgemm
  print(string.format("GEMMs: %.1f GFLOP = %.0f plain dgemms of flops (%.0f in the training steps, %.0f in "
    .. "equilibrium solves); plain %dx%dx%d dgemm rate %.1f GFLOP/s", flops / 1e9, flops / per,
    (flops - eq_flops) / per, eq_flops / per, h_rate, h_rate, Xtr:rows(), rate / 1e9))
  print(string.format("GEMM share of the fit: %.0f%% timed, %.0f%% by flops (%.2f s of GEMMs at that rate); "
    .. "Lipschitz constants %.3f s; load average %s", 100 * share, 100 * flops / rate / fit_time,
    flops / rate,
    acct.lip_time, load))
  return est
end

print(string.format("bench_training: %d rounds of two_loops, %d BLAS threads, seed %d, true train loss "
  .. "every %s round(s)", opts.rounds, idl.get_threads(), opts.seed, opts.monitor_train_every >= 0
  and tostring(opts.monitor_train_every) or "10th (the trainer's default)"))

if opts.problem == "all" or opts.problem == "7.1" then
  local t = core.clock()
  local X, y = idl.data.implicit(10000, idl.rng(opts.seed), {n = 10, h = 500, p = 1})
  print(string.format("\n(7.1 data generated in %.2f s)", core.clock() - t))
  run("7.1 implicit generative process", X, y, 1000,
    {hidden_variables = 300, dual_learning_rate = 1e-5, tol_fenchel = 1e-5}, 300)
end

if opts.problem == "all" or opts.problem == "7.2" then
  local X, y = idl.data.sin(1000, idl.rng(opts.seed), {noise = 0.1})
  run("7.2 sin, noise 0.1", X, y, 100,
    {hidden_variables = 100, dual_learning_rate = 1e-6, tol_fenchel = 1e-6, starting_lambda = 1e-6}, 100)
end
