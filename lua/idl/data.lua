--- Data helpers: train/test split, a standardizer that remembers its
-- parameters, and the report's generators (section 6 linear, section 7.1
-- implicit generative process, section 7.2 sin).
--
-- Rows are samples everywhere here (X m x n, y m x p), as the estimator takes
-- them. Every random draw comes from an explicit generator `rng = idl.rng(seed)`.
-- @module idl.data

local core = require "idl.core"
local api = require "idl._api"
local labels = require "idl._labels"
local standardize = require "idl.standardize"

local data = {}

data.stream_csv = require("idl.stream").stream_csv

-- Rows idx (a Lua array of 1-based indices) of the m x n matrix M.
local function select_rows(M, idx)
  return M:t():select_cols(idx):t()
end

--- data.select_rows(M, idx) -> the rows idx (a Lua array of 1-based row
-- indices, repeats allowed) of the matrix M, as a new matrix.
data.select_rows = api.public("idl.data.select_rows", function(M, idx)
  api.check(M, {"matrix", finite = false}, "M")
  api.check(idx, "table", "idx")
  local rows, m = {}, M:rows()
  for i, r in ipairs(idx) do
    local k = type(r) == "number" and math.tointeger(r)
    if not k or k < 1 or k > m then
      api.fail(string.format("idx[%d] must be a row index in [1, %d], got %s", i, m, api.describe(r)))
    end
    rows[i] = k
  end
  return select_rows(M, rows)
end)

local SPLIT_OPTIONS = {test_size = true, shuffle = true, rng = true, stratify = true}

-- The number of test rows that test_size (a fraction or a count) asks of m.
local function test_rows(ts, m)
  api.check(ts, {"number", gt = 0}, "test_size")
  local n_test = ts < 1 and math.floor(ts * m + 0.5)
    or api.check(ts, {"number", integer = true}, "test_size")
  if n_test < 1 or n_test >= m then
    api.fail(string.format("test_size %s leaves %d test rows of %d: need 1 <= test rows < %d",
      tostring(ts), n_test, m, m))
  end
  return n_test
end

-- The test quota of each class: proportional to its count, rounded by largest
-- remainder so that the quotas add up to n_test.
local function class_quotas(strata, n_test)
  local classes, index = labels.classes(strata)
  local count, quota, order = {}, {}, {}
  for k = 1, #classes do count[k] = 0 end
  for _, l in ipairs(strata) do count[index[l]] = count[index[l]] + 1 end
  local given = 0
  for k = 1, #classes do
    quota[k] = math.floor(count[k] * n_test / #strata)
    given, order[k] = given + quota[k], k
  end
  local function rest(k) return count[k] * n_test / #strata - quota[k] end
  table.sort(order, function(a, b)
    if rest(a) ~= rest(b) then return rest(a) > rest(b) end
    return a < b
  end)
  for t = 1, n_test - given do quota[order[t]] = quota[order[t]] + 1 end
  return quota, index
end

-- Splits `order` (a permutation of 1..m): the test rows are taken from its end,
-- as many of each stratum as its quota (all of them, without strata).
local function split_order(order, n_test, strata)
  local is_test = {}
  if strata then
    local quota, index = class_quotas(strata, n_test)
    for t = #order, 1, -1 do
      local k = index[strata[order[t]]]
      if quota[k] > 0 then is_test[t], quota[k] = true, quota[k] - 1 end
    end
  else
    for t = #order - n_test + 1, #order do is_test[t] = true end
  end
  local train, test = {}, {}
  for t, i in ipairs(order) do
    if is_test[t] then test[#test + 1] = i else train[#train + 1] = i end
  end
  return train, test
end

-- y as the split returns it: text labels stay a Lua array, anything else is a matrix.
local function split_target(y, m)
  if y == nil then return nil end
  if labels.is_text(y) then
    y = labels.check(y, "y")
  else
    y = api.check(y, {"matrix_like", finite = false}, "y")
  end
  local rows = core.is_matrix(y) and y:rows() or #y
  if rows ~= m then api.fail(string.format("X has %d rows (samples), y has %d", m, rows)) end
  return y
end

local function take(v, idx)
  if core.is_matrix(v) then return select_rows(v, idx) end
  return labels.select(v, idx)
end

--- data.train_test_split(X, y [, {test_size = 0.25, shuffle = true, rng = idl.rng(0), stratify = nil}])
-- -> X_train, X_test, y_train, y_test.
-- test_size is a fraction in (0, 1) or a number of rows (an integer >= 1).
-- With shuffle = false the LAST rows form the test set (the report's split).
-- y may be nil (then only X_train, X_test are returned), a matrix or a Lua
-- array of numbers (split as matrices), or a Lua array of text labels (split
-- as Lua arrays). stratify = labels (a Lua array or a vector, one per row,
-- usually y) keeps each class's share in both parts (the test quotas are
-- rounded so that they add up to the test size).
data.train_test_split = api.public("idl.data.train_test_split", function(X, y, opts)
  opts = api.options(opts, SPLIT_OPTIONS, "options")
  X = api.check(X, {"matrix_like", finite = false}, "X")
  local m = X:rows()
  y = split_target(y, m)
  local n_test = test_rows(opts.test_size == nil and 0.25 or opts.test_size, m)
  local strata
  if opts.stratify ~= nil then
    strata = labels.check(opts.stratify, "stratify")
    if #strata ~= m then api.fail(string.format("stratify has %d labels, X has %d rows", #strata, m)) end
  end
  local order
  if opts.shuffle == false then
    order = {}
    for i = 1, m do order[i] = i end
  else
    local rng = opts.rng == nil and core.rng(0) or api.check(opts.rng, "rng", "rng")
    order = rng:permutation(m)
  end
  local train, test = split_order(order, n_test, strata)
  if y == nil then return select_rows(X, train), select_rows(X, test) end
  return select_rows(X, train), select_rows(X, test), take(y, train), take(y, test)
end)

-- ---------------------------------------------------------------------------
-- Standardization (idl.standardize, the one implementation)

--- data.Standardizer() -> an object with fit(X), transform(X),
-- inverse_transform(Z), fit_transform(X) (rows are samples; see
-- idl.standardize.new).
data.Standardizer = standardize.new

--- data.row_scaler(M) -> mean, scale: the per-row mean and scale of M (k x m,
-- columns are samples; idl.standardize.row_scaler).
data.row_scaler = standardize.row_scaler

-- ---------------------------------------------------------------------------
-- Generators


--- data.sparse_random(rows, cols, density, rng) -> a rows x cols matrix with
-- round(density * rows * cols) nonzero entries at uniformly chosen positions,
-- each uniform on [0, 1) (scipy.sparse.random's law, which the report's code used).
data.sparse_random = api.public("idl.data.sparse_random", function(rows, cols, density, rng)
  rows = api.check(rows, "dim", "rows")
  cols = api.check(cols, "dim", "cols")
  api.check(density, {"number", min = 0, max = 1}, "density")
  api.check(rng, "rng", "rng")
  local M = api.engine(core.zeros, rows, cols) -- "too large" is the user's
  local total = rows * cols
  local k = math.floor(density * total + 0.5)
  if k == 0 then return M end
  local positions = rng:permutation(total)
  for t = 1, k do
    local pos = positions[t] - 1
    M:set(pos % rows + 1, pos // rows + 1, rng:uniform())
  end
  return M
end)

-- opts[key] checked against spec (named key in the message), or default when absent.
local function option(opts, key, default, spec)
  if opts[key] == nil then return default end
  return api.check(opts[key], spec, key)
end

local LINEAR_OPTIONS = {a = true, noise = true}

--- data.linear(m, rng [, {a = 1, noise = 0.5}]) -> X (m x 1), y (m x 1): the
-- report's section 6 problem, x ~ U(0, 1), y = a x + N(0, noise^2).
data.linear = api.public("idl.data.linear", function(m, rng, opts)
  opts = api.options(opts, LINEAR_OPTIONS, "options")
  m = api.check(m, {"dim", min = 1}, "m")
  api.check(rng, "rng", "rng")
  local a, noise = option(opts, "a", 1, "number"), option(opts, "noise", 0.5, {"number", min = 0})
  local X = core.rand(m, 1, rng)
  return X, X * a + core.randn(m, 1, rng, 0, noise)
end)

local SIN_OPTIONS = {noise = true}

--- data.sin(m, rng [, {noise = 0.1}]) -> X (m x 1), y (m x 1): the report's
-- section 7.2 problem, x ~ U(0, 2 pi), y = sin(x) + N(0, noise^2) (the report's
-- figures match noise 0.1; its text says 1).
data.sin = api.public("idl.data.sin", function(m, rng, opts)
  opts = api.options(opts, SIN_OPTIONS, "options")
  m = api.check(m, {"dim", min = 1}, "m")
  api.check(rng, "rng", "rng")
  local noise = option(opts, "noise", 0.1, {"number", min = 0})
  local X = core.rand(m, 1, rng, 0, 2 * math.pi)
  local eps = core.randn(m, 1, rng, 0, noise)
  local y = core.zeros(m, 1)
  for i = 1, m do y:set(i, 1, math.sin(X:get(i, 1)) + eps:get(i, 1)) end
  return X, y
end)

local IMPLICIT_OPTIONS = {n = true, h = true, p = true, density = true, kappa = true}

--- data.implicit(m, rng [, {n = 10, h = 500, p = 1, density = 0.01, kappa = 0.9}])
-- -> X (m x n), y (m x p), theta: the report's section 7.1 implicit generative
-- process. A, B, c, D, E, f are sparse random (data.sparse_random with the
-- given density, by default scipy.sparse.random's 0.01 as in the report's
-- code; entries uniform on [0, 1)), D is projected onto
-- ||D||_inf <= kappa < 1 (so the equilibrium is unique), U ~ N(0, 1) (n x m),
-- X solves X = (D X + E U + f 1^T)_+ (to 1e-12, by Anderson acceleration),
-- y = A X + B U + c 1^T.
-- Returns rows-are-samples X = U^T and y = Y^T, and the generator's theta.
data.implicit = api.public("idl.data.implicit", function(m, rng, opts)
  opts = api.options(opts, IMPLICIT_OPTIONS, "options")
  m = api.check(m, {"dim", min = 1}, "m")
  api.check(rng, "rng", "rng")
  local n, h = option(opts, "n", 10, {"dim", min = 1}), option(opts, "h", 500, {"dim", min = 1})
  local p = option(opts, "p", 1, {"dim", min = 1})
  local density = option(opts, "density", 0.01, {"number", min = 0, max = 1})
  local kappa = option(opts, "kappa", 0.9, {"number", min = 0, max = 1})
  if kappa >= 1 then api.fail("kappa must be < 1 (a contraction), got " .. kappa) end
  local theta = {
    A = data.sparse_random(p, h, density, rng),
    B = data.sparse_random(p, n, density, rng),
    c = data.sparse_random(p, 1, density, rng),
    D = data.sparse_random(h, h, density, rng),
    E = data.sparse_random(h, n, density, rng),
    f = data.sparse_random(h, 1, density, rng),
  }
  core.project_inf_(theta.D, kappa)
  local U = core.randn(n, m, rng)
  -- Anderson: D >= 0 with ||D||_inf near 1 makes Picard slow (rate ~kappa)
  local X = core.equilibrium(theta, U, {tol = 1e-12, max_iter = 100000, method = "anderson"})
  local Y = theta.A * X + theta.B * U
  core.add_col(Y, 1, theta.c)
  return U:t(), Y:t(), theta
end)

local GAUSSIAN_CLASSES_OPTIONS = {classes = true, n = true, informative = true, means = true}

--- data.gaussian_classes(m, rng [, {classes = 4, n = 10, informative = 4, means}])
-- -> X (m x n), labels, means: a classification table whose best boundaries
-- are linear (logistic regression's table). Each sample's class is uniform
-- over 0 .. classes - 1 (labels, a Lua array); its features are N(0, 1), the
-- first `informative` of them shifted by its class's mean (means, classes x
-- informative: given, to draw more samples of the same table, or drawn
-- N(0, 1) first). One covariance for all the classes: the Bayes boundaries
-- are hyperplanes.
data.gaussian_classes = api.public("idl.data.gaussian_classes", function(m, rng, opts)
  opts = api.options(opts, GAUSSIAN_CLASSES_OPTIONS, "options")
  m = api.check(m, {"dim", min = 1}, "m")
  api.check(rng, "rng", "rng")
  local k, n = option(opts, "classes", 4, {"dim", min = 2}), option(opts, "n", 10, {"dim", min = 1})
  local r = option(opts, "informative", math.min(4, n), {"dim", min = 1, max = n})
  local means = opts.means == nil and core.randn(k, r, rng)
    or api.check(opts.means, {"matrix", rows = k, cols = r}, "means")
  local X, u = core.randn(m, n, rng), core.rand(m, 1, rng)
  local y = {}
  for i = 1, m do
    local class = math.min(k - 1, math.floor(u:get(i, 1) * k))
    for j = 1, r do X:set(i, j, X:get(i, j) + means:get(class + 1, j)) end
    y[i] = class
  end
  return X, y, means
end)

data.load_csv = require("idl.csvload").load_csv

return data
