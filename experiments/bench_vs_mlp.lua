--- Benchmark: idl's estimator beside a one-hidden-layer MLP of the same width,
-- on the same data in the same run.
--
--     flock /work/bench.lock idl experiments/bench_vs_mlp.lua [--seeds 0,1]
--         [--problems sec71,friedman1,noisy10,digits] [--threads 1] [--rounds 0]
--         [--trainer_options backward_steps=2,forward_tol=1e-3] [--ensemble 3]
--
-- Contenders, per problem and seed (test RMSE, or accuracy for digits, and
-- fit seconds):
--   idl      idl.IDLModel / IDLClassifier, type_of_training = "implicit",
--            hidden_variables = h, the estimator's defaults otherwise
--   mlp      the same estimator with constraint {kind = "inf", kappa = 0}:
--            D is projected to 0 after every step, so x = (E u + f)_+ and
--            y = A x + B u + c, a one-hidden-layer ReLU MLP of width h with
--            a linear skip, trained by the same engine, trainer and loop
--   sklearn  scikit-learn's MLPRegressor((h,), tol = 1e-6, max_iter = 5000)
--            (MLPClassifier for digits) on the same split, inputs and
--            targets standardized, in a child python3 with one BLAS thread;
--            skipped when no python3 imports sklearn; --sklearn_raw adds
--            a second fit on the raw data (no standardization)
--   linear   idl.LinearRegression (regression problems)
-- h = 300 on sec71 (the issue's target), else min(300, max(30, m_train / 10)).
-- Ratios: idl/sklearn test RMSE (lower is better; accuracy: sklearn's error
-- over idl's error is not printed, the accuracies are) and fit time.
-- Problems (experiments/_compare.lua): sec71 = report 7.1 (10 features,
-- 9,000 training samples, the last 1,000 as test set), friedman1/2/3,
-- noisy5/10/20, nonlinear5, digits, rings (3 generated classes); the others
-- split 80/20 by a seeded permutation.
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local idl = require "idl"
local cli = require "idl.cli"
local compare = require "_compare"

local opts = cli.parse(arg, {
  name = "bench_vs_mlp",
  description = "idl's estimator vs a same-engine MLP and scikit-learn's MLPRegressor on the same data.",
  options = {
    {"seeds", "string", "0,1", "comma-separated seeds"},
    {"problems", "string", "sec71,friedman1,noisy10,digits", "comma-separated problem names"},
    {"threads", "integer", 1, "OpenBLAS threads of idl (sklearn runs with one)"},
    {"rounds", "integer", 0, "epochs at most (0: the trainer's default)"},
    {"hidden", "integer", 0, "hidden units (0: the rule above)"},
    {"ensemble", "integer", 0, "ensemble_size of idl and mlp (0: the default, \"auto\")"},
    {"sklearn_raw", "flag", false, "also scikit-learn's MLP on the raw (unstandardized) data"},
    {"trainer_options", "string", "", "name=value,... the implicit trainer's options for idl and mlp "
      .. "(numbers or words; empty: its defaults)"},
  }})
idl.set_threads(opts.threads)

local function list(text, number)
  local t = {}
  for w in text:gmatch("[^,%s]+") do t[#t + 1] = number and math.tointeger(tonumber(w)) or w end
  return t
end

-- "a=1,b=x" -> {a = 1, b = "x"}, or nil when empty
local function trainer_options(text)
  local t
  for k, v in text:gmatch("([%w_]+)=([^,%s]+)") do
    t = t or {}
    t[k] = math.tointeger(tonumber(v)) or tonumber(v) or v
  end
  return t
end

local problems = compare.problems(here)
local seeds, names = list(opts.seeds, true), list(opts.problems)
for _, name in ipairs(names) do
  if not problems[name] then
    local known = {}
    for k in pairs(problems) do known[#known + 1] = k end
    table.sort(known)
    cli.exit("bench_vs_mlp: unknown problem '" .. name .. "' (known: " .. table.concat(known, ", ") .. ")", 2)
  end
end

-- Train/test split: the report's for sec71, a seeded 80/20 permutation else.
local function split(name, X, y, seed)
  local m = X:rows()
  local idx_tr, idx_te = {}, {}
  if name == "sec71" then
    for i = 1, m do table.insert(i <= m - m // 10 and idx_tr or idx_te, i) end
  else
    local perm = idl.rng(seed + 7):permutation(m)
    for k, i in ipairs(perm) do table.insert(k <= m // 5 and idx_te or idx_tr, i) end
  end
  return idl.data.select_rows(X, idx_tr), compare.take(y, idx_tr), idl.data.select_rows(X, idx_te),
    compare.take(y, idx_te)
end

-- fn(...) timed (wall seconds), after a full garbage collection: no fit pays
-- for the garbage the data generation (the 7.1 problem's equilibria of
-- 10,000 samples) or an earlier fit left to collect
local function timed(fn, ...)
  collectgarbage()
  local t0 = idl.clock()
  local predict, est = fn(...)
  return predict, idl.clock() - t0, est
end

-- "N epochs (best B), epochs S s + monitoring M s": where an estimator's fit
-- time went (an ensemble's first model, and how many models it has)
local function profile(est)
  local k = #est.members
  return string.format("%s%d epochs (best %d, %s), epochs %.1f s + monitoring %.1f s",
    k > 1 and string.format("%d models; the first: ", k) or "", #est.history - 1, est.best_round,
    est.stop_reason, est.timing.rounds, est.timing.monitor)
end

local function fmt(v, kind)
  if v == nil then return "-" end
  return kind == "classification" and string.format("%.2f%%", 100 * v) or string.format("%.4g", v)
end

print(string.format("%-10s %4s %4s %5s | %-18s | %-18s | %-18s | %-9s | %s", "problem", "seed", "h", "m_tr",
  "idl score / s", "mlp score / s", "sklearn score / s (it)", "linear", "idl/sk score, time"))
for _, name in ipairs(names) do
  local pb = problems[name]
  for _, seed in ipairs(seeds) do
    local X, y = pb.make(seed, pb.m)
    local Xtr, ytr, Xte, yte = split(name, X, y, seed)
    local h = opts.hidden > 0 and opts.hidden or
      (name == "sec71" and 300 or math.min(300, math.max(30, Xtr:rows() // 10)))
    local s = {params = {hidden_variables = h, random_state = seed,
      ensemble_size = opts.ensemble > 0 and opts.ensemble or nil},
      fit = {type_of_training = "implicit", rounds_number = opts.rounds > 0 and opts.rounds or nil,
        trainer_options = trainer_options(opts.trainer_options)}}
    local p_idl, t_idl, e_idl = timed(compare.idl_fit, pb.kind, Xtr, ytr, s)
    local p_mlp, t_mlp, e_mlp = timed(compare.idl_fit, pb.kind, Xtr, ytr, compare.mlp_settings(s))
    local s_idl, s_mlp = compare.score(pb.kind, yte, p_idl(Xte)), compare.score(pb.kind, yte, p_mlp(Xte))
    local p_lin = compare.linear_fit(pb.kind, Xtr, ytr)
    local s_lin = p_lin and compare.score(pb.kind, yte, p_lin(Xte))
    local s_sk, t_sk, it_sk = compare.sklearn(pb.kind, Xtr, ytr, Xte, yte, h, seed)
    local why = not s_sk and t_sk
    if why then t_sk = nil end
    local ratio = "-"
    if s_sk then
      ratio = pb.kind == "classification" and string.format("err %.2f, %.2f", (1 - s_idl) / (1 - s_sk),
        t_idl / t_sk) or string.format("%.2f, %.2f", s_idl / s_sk, t_idl / t_sk)
    end
    print(string.format("%-10s %4d %4d %5d | %9s %6.1fs | %9s %6.1fs | %9s %6.1fs %4s | %-9s | %s",
      name, seed, h, Xtr:rows(), fmt(s_idl, pb.kind), t_idl, fmt(s_mlp, pb.kind), t_mlp,
      s_sk and fmt(s_sk, pb.kind) or "-", t_sk or 0 / 0, it_sk and tostring(it_sk) or "",
      fmt(s_lin, pb.kind), ratio))
    print("  idl: " .. profile(e_idl) .. "; mlp: " .. profile(e_mlp))
    if why then print("  sklearn: " .. why) end
    if opts.sklearn_raw and not why then
      local s_raw, t_raw, it_raw = compare.sklearn(pb.kind, Xtr, ytr, Xte, yte, h, seed, true)
      print(string.format("  sklearn on raw data: %s in %.1fs (%s iterations)%s", fmt(s_raw, pb.kind), t_raw,
        tostring(it_raw), pb.kind == "regression" and string.format("; idl/sklearn_raw score %.2f, time %.2f",
        s_idl / s_raw, t_idl / t_raw) or ""))
    end
    io.stdout:flush()
  end
end
