--- Shared by experiments/bench_vs_mlp.lua and experiments/cv_defaults.lua:
-- the generated problems, the contenders (idl's estimator, the same-engine
-- MLP, linear regression, scikit-learn's MLP in a child python3) and their
-- scores. Not a module of the library: an experiment's helper, loaded with
--     package.path = here .. "/?.lua;" .. package.path
--     local compare = require "_compare"
local idl = require "idl"

local compare = {}

-- ---------------------------------------------------------------------------
-- Problems: make(seed) -> X (m x n, rows are samples), y (m x 1) or labels.

local function uniform(m, n, rng, lo, hi)
  return idl.rand(m, n, rng, lo or 0, hi or 1)
end

-- y_i = fn(row i) + N(0, noise^2), as an m x 1 matrix.
local function targets(X, rng, noise, fn)
  local m = X:rows()
  local eps, y = idl.randn(m, 1, rng, 0, noise), idl.zeros(m, 1)
  local row = {}
  for i = 1, m do
    for j = 1, X:cols() do row[j] = X:get(i, j) end
    y:set(i, 1, fn(row) + eps:get(i, 1))
  end
  return y
end

--- The report's section 7.1 problem: 10 features, a 500-unit implicit
-- generator (density 0.01, kappa 0.9); the last 10% is the test set.
local function sec71(seed, m)
  local X, y = idl.data.implicit(m, idl.rng(seed), {n = 10, h = 500, p = 1, density = 0.01, kappa = 0.9})
  return X, y
end

--- Friedman #1 (Friedman 1991; scikit-learn's make_friedman1): 10 features
-- U(0, 1), 5 of them used, noise sd 1.
local function friedman1(seed, m)
  local rng = idl.rng(seed)
  local X = uniform(m, 10, rng)
  return X, targets(X, rng, 1, function(x)
    return 10 * math.sin(math.pi * x[1] * x[2]) + 20 * (x[3] - 0.5) ^ 2 + 10 * x[4] + 5 * x[5]
  end)
end

-- Friedman #2 and #3's inputs: x1 ~ U(0, 100), x2 ~ U(40 pi, 560 pi),
-- x3 ~ U(0, 1), x4 ~ U(1, 11).
local function friedman_inputs(m, rng)
  local X = uniform(m, 4, rng)
  for i = 1, m do
    X:set(i, 1, 100 * X:get(i, 1))
    X:set(i, 2, 40 * math.pi + 520 * math.pi * X:get(i, 2))
    X:set(i, 4, 1 + 10 * X:get(i, 4))
  end
  return X
end

--- Friedman #2: y = sqrt(x1^2 + (x2 x3 - 1/(x2 x4))^2), noise sd 125 (Friedman's).
local function friedman2(seed, m)
  local rng = idl.rng(seed)
  local X = friedman_inputs(m, rng)
  return X, targets(X, rng, 125, function(x)
    return math.sqrt(x[1] ^ 2 + (x[2] * x[3] - 1 / (x[2] * x[4])) ^ 2)
  end)
end

--- Friedman #3: y = atan((x2 x3 - 1/(x2 x4)) / x1), noise sd 0.1 (Friedman's).
local function friedman3(seed, m)
  local rng = idl.rng(seed)
  local X = friedman_inputs(m, rng)
  return X, targets(X, rng, 0.1, function(x)
    return math.atan((x[2] * x[3] - 1 / (x[2] * x[4])) / x[1])
  end)
end

--- A small noisy, nearly linear table: n features N(0, 1), y = X w + 0.3
-- sin(2 x1) + noise sd 0.7 (signal variance ~1.05, noise 0.49).
local function noisy_linear(n)
  return function(seed, m)
    local rng = idl.rng(seed)
    local X, w = idl.randn(m, n, rng), idl.randn(n, 1, rng, 0, 1 / math.sqrt(n))
    local y = X * w + idl.randn(m, 1, rng, 0, 0.7)
    for i = 1, m do y:set(i, 1, y:get(i, 1) + 0.3 * math.sin(2 * X:get(i, 1))) end
    return X, y
  end
end

--- A newcomer's 5-feature nonlinear table: U(-1, 1) features,
-- y = x1 x2 + sin(3 x3) + x4^2 - 0.5 x5 + noise sd 0.1.
local function nonlinear5(seed, m)
  local rng = idl.rng(seed)
  local X = uniform(m, 5, rng, -1, 1)
  return X, targets(X, rng, 0.1, function(x)
    return x[1] * x[2] + math.sin(3 * x[3]) + x[4] ^ 2 - 0.5 * x[5]
  end)
end

-- A generated classification table: 3 classes by the radius of (x1, x2)
-- against a wavy boundary, 2 irrelevant features, 5% of the labels flipped
-- at random (so no model reaches 100%).
local function rings(seed, m)
  local rng = idl.rng(seed)
  local X = uniform(m, 4, rng, -1, 1)
  local u, flip = uniform(m, 2, rng), {}
  local labels = {}
  for i = 1, m do
    local x1, x2 = X:get(i, 1), X:get(i, 2)
    local r = math.sqrt(x1 * x1 + x2 * x2)
    local class = r < 0.45 and 0 or (r < 0.8 + 0.15 * math.sin(3 * math.atan(x2, x1)) and 1 or 2)
    flip[i] = u:get(i, 1) < 0.05
    labels[i] = flip[i] and math.floor(u:get(i, 2) * 3) or class
  end
  return X, labels
end

--- A near-linear classification table (idl.data.gaussian_classes): 4
-- classes, 10 features N(0, 1) around class means drawn N(0, 1) in the first
-- 4 (the other 6 irrelevant); equal covariances, so linear boundaries are the
-- best there is (a logistic regression's table, where a network must not do
-- worse).
local function blobs(seed, m)
  return idl.data.gaussian_classes(m, idl.rng(seed))
end

--- An interaction classification table: 2 classes by the sign of x1 x2
-- (XOR), 6 features U(-1, 1) (4 irrelevant), 3% of the labels flipped.
local function xor(seed, m)
  local rng = idl.rng(seed)
  local X, u = uniform(m, 6, rng, -1, 1), uniform(m, 1, rng)
  local labels = {}
  for i = 1, m do
    local class = X:get(i, 1) * X:get(i, 2) > 0 and 1 or 0
    labels[i] = u:get(i, 1) < 0.03 and 1 - class or class
  end
  return X, labels
end

--- compare.csv_problem(path, kind) -> a problem from a CSV file without a
-- header whose last column is the target (kind "regression": an m x 1
-- matrix; "classification": integer labels, a Lua array); make(seed, m) takes
-- the first m rows of a seeded permutation (all of them for the default m).
-- The file is read on the first make, once. The UCI digits
-- (experiments/data/digits.csv, 1797 images, 10 classes) are one.
function compare.csv_problem(path, kind)
  local D
  local function make(seed, m)
    D = D or idl.read_csv(path, {header = false})
    local n = D:cols() - 1
    local order = idl.rng(seed + 1000):permutation(D:rows())
    m = math.min(m, D:rows())
    local picked = idl.data.select_rows(D, table.move(order, 1, m, 1, {}))
    local X, y = picked:sub(1, m, 1, n):copy(), picked:sub(1, m, n + 1, n + 1):copy()
    if kind == "regression" then return X, y end
    local labels = {}
    for i = 1, m do labels[i] = math.floor(y:get(i, 1)) end
    return X, labels
  end
  return {make = make, m = math.huge, kind = kind, doc = path}
end

--- compare.problems(here) -> name -> {make = fn(seed, m), m = default size,
-- kind = "regression" | "classification", doc}.
function compare.problems(here)
  return {
    sec71 = {make = sec71, m = 10000, kind = "regression", doc = "report 7.1 (n 10, implicit generator)"},
    friedman1 = {make = friedman1, m = 1000, kind = "regression", doc = "Friedman #1 (n 10, noise 1)"},
    friedman2 = {make = friedman2, m = 1000, kind = "regression", doc = "Friedman #2 (n 4, noise 125)"},
    friedman3 = {make = friedman3, m = 1000, kind = "regression", doc = "Friedman #3 (n 4, noise 0.1)"},
    noisy5 = {make = noisy_linear(5), m = 100, kind = "regression", doc = "noisy near-linear (n 5)"},
    noisy10 = {make = noisy_linear(10), m = 300, kind = "regression", doc = "noisy near-linear (n 10)"},
    noisy20 = {make = noisy_linear(20), m = 2000, kind = "regression", doc = "noisy near-linear (n 20)"},
    nonlinear5 = {make = nonlinear5, m = 500, kind = "regression", doc = "5-feature nonlinear CSV"},
    digits = compare.csv_problem(here .. "/data/digits.csv", "classification"),
    rings = {make = rings, m = 1000, kind = "classification",
      doc = "3 wavy radial classes (n 4, 5% flipped)"},
    blobs = {make = blobs, m = 400, kind = "classification", doc = "4 Gaussian classes (n 10, linear)"},
    xor = {make = xor, m = 600, kind = "classification", doc = "sign of x1 x2 (n 6, 3% flipped)"},
  }
end

-- ---------------------------------------------------------------------------
-- Contenders. fit(kind, Xtr, ytr, settings) -> predict(X) function.

--- compare.idl_fit(kind, Xtr, ytr, s) -> a predict function: idl.IDLModel
-- (or IDLClassifier) with the estimator parameters s.params and the fit
-- options s.fit (type_of_training, trainer_options, rounds_number, ...).
function compare.idl_fit(kind, Xtr, ytr, s)
  local ctor = kind == "classification" and idl.IDLClassifier or idl.IDLModel
  local params = {verbosity = false}
  for k, v in pairs(s.params or {}) do params[k] = v end
  local est = ctor(params)
  est:fit(Xtr, ytr, s.fit)
  return function(X) return est:predict(X) end, est
end

--- The same-engine MLP: an IDL model with ||D||_inf <= 0 (D projected to 0
-- after every step), that is x = (E u + f)_+, y = A x + B u + c: one hidden
-- ReLU layer of the same width plus a linear skip, trained by the same
-- implicit trainer and loop.
function compare.mlp_settings(s)
  local params = {}
  for k, v in pairs(s.params or {}) do params[k] = v end
  params.constraint = {kind = "inf", kappa = 0}
  return {params = params, fit = s.fit}
end

function compare.linear_fit(kind, Xtr, ytr)
  if kind == "classification" then return nil end
  local lr = idl.LinearRegression():fit(Xtr, ytr)
  return function(X) return lr:predict(X) end
end

--- compare.score(kind, y, yhat) -> test RMSE (regression) or accuracy.
function compare.score(kind, y, yhat)
  if kind == "classification" then
    local ok = 0
    for i = 1, #y do ok = ok + (y[i] == yhat[i] and 1 or 0) end
    return ok / #y
  end
  return idl.metrics.rmse(y, yhat)
end

--- compare.rows(X, idx) / compare.take(y, idx): the rows idx of a matrix or
-- the entries of a label array.
function compare.take(y, idx)
  if idl.is_matrix(y) then return idl.data.select_rows(y, idx) end
  local t = {}
  for i, j in ipairs(idx) do t[i] = y[j] end
  return t
end

-- ---------------------------------------------------------------------------
-- scikit-learn in a child python3 (only for the benchmarks, never for tests).

local PY = [[
import sys, time, numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.neural_network import MLPRegressor, MLPClassifier
from sklearn.linear_model import LogisticRegression
kind, h, seed, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
scale = sys.argv[5] == "scaled"
# early: sklearn's own hold-out (10%, patience n_iter_no_change = 10);
# logistic: a LogisticRegression (classification: the linear model)
variant = sys.argv[6]
early = variant == "early"
Xtr = np.loadtxt(d + "/Xtr.csv", delimiter=",", ndmin=2)
ytr = np.loadtxt(d + "/ytr.csv", delimiter=",", ndmin=1)
Xte = np.loadtxt(d + "/Xte.csv", delimiter=",", ndmin=2)
yte = np.loadtxt(d + "/yte.csv", delimiter=",", ndmin=1)
t0 = time.perf_counter()
sx = StandardScaler(with_mean=scale, with_std=scale).fit(Xtr)
if kind == "regression":
    my, sy = (ytr.mean(), ytr.std() or 1.0) if scale else (0.0, 1.0)
    est = MLPRegressor((h,), tol=1e-6, max_iter=5000, random_state=seed, early_stopping=early)
    est.fit(sx.transform(Xtr), (ytr - my) / sy)
    secs = time.perf_counter() - t0
    pred = est.predict(sx.transform(Xte)) * sy + my
    score = float(np.sqrt(np.mean((pred - yte) ** 2)))
else:
    if variant == "logistic":
        est = LogisticRegression(max_iter=5000)
    else:
        est = MLPClassifier((h,), tol=1e-6, max_iter=5000, random_state=seed, early_stopping=early)
    est.fit(sx.transform(Xtr), ytr.astype(int))
    secs = time.perf_counter() - t0
    score = float(np.mean(est.predict(sx.transform(Xte)) == yte.astype(int)))
print("%.17g %.6f %d" % (score, secs, np.max(est.n_iter_)))
]]

local shell_quote = require("idl._util").sh_quote

local python
--- compare.python() -> a python3 that imports sklearn (IDL_PYTHON, python3,
-- /usr/bin/python3, the first that does), or nil.
function compare.python()
  if python ~= nil then return python or nil end
  python = false
  for _, cand in ipairs{os.getenv("IDL_PYTHON") or "", "python3", "/usr/bin/python3"} do
    if cand ~= "" and os.execute(shell_quote(cand) .. " -c 'import sklearn' >/dev/null 2>&1") then
      python = cand
      break
    end
  end
  return python or nil
end

local function as_column(y)
  if idl.is_matrix(y) then return y end
  local m = idl.zeros(#y, 1)
  for i, v in ipairs(y) do m:set(i, 1, v) end
  return m
end

--- compare.sklearn(kind, Xtr, ytr, Xte, yte, h, seed [, raw [, variant]]) ->
-- score, fit seconds, iterations (scikit-learn's MLP with one hidden layer of
-- h units, tol 1e-6, to convergence; inputs and targets standardized unless
-- raw), or nil and why. variant "early": sklearn's early_stopping = True (10%
-- held out, patience 10); "logistic" (classification): LogisticRegression
-- with its defaults instead of the MLP.
function compare.sklearn(kind, Xtr, ytr, Xte, yte, h, seed, raw, variant)
  local py = compare.python()
  if not py then return nil, "no python3 with sklearn (apt-get install python3-sklearn)" end
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. shell_quote(dir)))
  idl.write_csv(dir .. "/Xtr.csv", Xtr)
  idl.write_csv(dir .. "/Xte.csv", Xte)
  idl.write_csv(dir .. "/ytr.csv", as_column(ytr))
  idl.write_csv(dir .. "/yte.csv", as_column(yte))
  local script = dir .. "/fit.py"
  local f = assert(io.open(script, "w"))
  assert(f:write(PY))
  assert(f:close())
  local p = assert(io.popen(string.format(
    "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 %s %s %s %d %d %s %s %s 2>&1", shell_quote(py),
    shell_quote(script), kind, h, seed, shell_quote(dir), raw and "raw" or "scaled",
    variant or "converge")))
  local out = p:read("a")
  p:close()
  os.execute("rm -rf " .. shell_quote(dir))
  local score, secs, iters = out:match("([%d%.eE+-]+) ([%d%.]+) (%d+)%s*$")
  if not score then return nil, "python failed: " .. out:sub(-300) end
  return tonumber(score), tonumber(secs), tonumber(iters)
end

return compare
