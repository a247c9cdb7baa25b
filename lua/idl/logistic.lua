--- Multinomial logistic regression: the linear model of a classifier, as
-- least squares is the regressor's. The classifier's "linear" start
-- (idl.initializers) is this model with the hidden units switched off, so
-- that a fit can be compared with it (idl.estimator.select) and keep it.
--
--     local lr = idl.LogisticRegression():fit(X, labels)  -- rows are samples
--     local predicted = lr:predict(X_test)                -- a Lua array of labels
--     print(lr:score(X_test, labels_test))                -- accuracy
--
-- (B, c) minimize the mean softmax cross-entropy of the logits B u + c
-- against the one-hot targets plus ridge / 2 ||B||_F^2 (c not penalized) for
-- standardized inputs; ridge defaults to 1 / m (scikit-learn's
-- LogisticRegression, C = 1). The problem is smooth and strictly convex, and
-- L-BFGS (10 pairs, backtracking line search) solves it in a few dozen
-- passes over the data, each two products k x n x m; it stops when a step
-- lowers the objective by less than 1e-10 of it or the gradient is below
-- 1e-7 (iterations reports how many it took, at most 500).
-- @module idl.logistic

local core = require "idl.core"
local api = require "idl._api"
local label_set = require "idl._labels"
local standardize = require "idl.standardize"

local logistic = {}

local HISTORY, MAX_ITER = 10, 500

-- <a, b> of two matrices of one shape
local function dot(a, b) return a:hadamard(b):sum() end

-- The objective and its gradient at W = [B c] (k x (n + 1)) for Uc = [U; 1]
-- (standardized U), into G; reduce (data-parallel) sums a matrix over the
-- ranks, which then all hold the same W.
local function objective(W, Uc, Y, ridge, n, G, Z, dZ, reduce)
  local m, value = Y:cols(), 0
  if m > 0 then -- (a rank's shard may be empty: it adds nothing to the sums)
    core.gemm(Z, W, Uc)
    value = core.softmax_xent(Z, Y, dZ)
  end
  -- softmax_xent is the mean over the columns: the sums of a shard are m times it
  core.gemm(G, dZ, Uc, m, 0, false, true)
  local sums = core.full(1, 1, value * m)
  local count = core.full(1, 1, m)
  if reduce then G, sums, count = reduce(G), reduce(sums), reduce(count) end
  local total = count:get(1, 1)
  core.scale(G, 1 / total)
  local B, GB = W:sub(1, W:rows(), 1, n), G:sub(1, G:rows(), 1, n)
  core.axpy(GB, ridge, B)
  return sums:get(1, 1) / total + ridge / 2 * dot(B, B)
end

-- The L-BFGS direction -H g from the stored pairs (s_i, y_i).
local function direction(g, pairs)
  local q, alpha = g:copy(), {}
  for i = #pairs, 1, -1 do
    local p = pairs[i]
    alpha[i] = p.rho * dot(p.s, q)
    core.axpy(q, -alpha[i], p.y)
  end
  if #pairs > 0 then
    local last = pairs[#pairs]
    core.scale(q, dot(last.s, last.y) / dot(last.y, last.y))
  end
  for i = 1, #pairs do
    local p = pairs[i]
    core.axpy(q, alpha[i] - p.rho * dot(p.y, q), p.s)
  end
  return -q
end

-- W = [B c] (k x (n + 1)), iterations, converged: the model for U (n x m,
-- standardized rows) and one-hot Y (k x m); reduce(M) -> M summed over the
-- ranks (data-parallel; nil alone). converged is false when MAX_ITER
-- iterations ended it.
local function fit_standardized(U, Y, ridge, reduce)
  local n, m, k = U:rows(), U:cols(), Y:rows()
  local Uc = U:vcat(core.ones(1, m))
  local W, G, Z, dZ = core.zeros(k, n + 1), core.zeros(k, n + 1), core.zeros(k, m), core.zeros(k, m)
  local f = objective(W, Uc, Y, ridge, n, G, Z, dZ, reduce)
  local pairs, Wn, Gn = {}, core.zeros(k, n + 1), core.zeros(k, n + 1)
  for iter = 1, MAX_ITER do
    local d = direction(G, pairs)
    local slope = dot(G, d)
    if slope >= 0 then d, slope, pairs = -G, -dot(G, G), {} end
    local step, fn, accepted = 1, nil, false
    for _ = 1, 40 do
      core.copy(Wn, W)
      core.axpy(Wn, step, d)
      fn = objective(Wn, Uc, Y, ridge, n, Gn, Z, dZ, reduce)
      accepted = fn <= f + 1e-4 * step * slope
      if accepted then break end
      step = step / 2
    end
    -- no step lowers the objective: W is the minimum to rounding
    if not accepted then return W, iter, true end
    local s, y = Wn - W, Gn - G
    local sy = dot(s, y)
    if sy > 0 then
      pairs[#pairs + 1] = {s = s, y = y, rho = 1 / sy}
      if #pairs > HISTORY then table.remove(pairs, 1) end
    end
    W, Wn, G, Gn = Wn, W, Gn, G
    local done = f - fn <= 1e-10 * math.max(1, math.abs(fn)) or G:norm("max") <= 1e-7
    f = fn
    if done then return W, iter, true end
  end
  return W, MAX_ITER, false
end

--- logistic.readout(B, c, U, Y [, ridge [, mean, scale [, reduce]]]) -> B, c,
-- iterations, converged (false: 500 iterations ended it first): the model
-- for raw inputs U (n x m, columns are samples) and class probabilities Y
-- (k x m, one-hot columns), written into B (k x n) and c (k x 1). mean and
-- scale (n x 1, scale > 0) standardize U (nil: idl.standardize.row_scaler
-- of U; data-parallel, the union's); ridge defaults to 1 / m.
-- reduce(M) -> M summed over the ranks of a data-parallel job, each holding
-- its own columns of U and Y (m is then their total).
logistic.readout = api.public("idl.logistic.readout", function(B, c, U, Y, ridge, mean, scale, reduce)
  local n, m = api.check(U, "matrix", "U"):rows(), U:cols()
  if n == 0 or (m == 0 and reduce == nil) then api.fail("U is empty") end
  local k = api.check(Y, {"matrix", cols = m}, "Y"):rows()
  api.check(B, {"matrix", rows = k, cols = n, finite = false}, "B")
  api.check(c, {"matrix", rows = k, cols = 1, finite = false}, "c")
  if ridge ~= nil then api.check(ridge, {"number", gt = 0}, "ridge") end
  if (mean == nil) ~= (scale == nil) then api.fail("give mean and scale together, or neither") end
  if mean ~= nil then
    api.check(mean, {"matrix", rows = n, cols = 1}, "mean")
    api.check(scale, {"matrix", rows = n, cols = 1}, "scale")
    for i = 1, n do
      if scale:get(i, 1) <= 0 then api.failf("scale has a non-positive entry at row %d", i) end
    end
  end
  if reduce ~= nil then api.check(reduce, "function", "reduce") end
  if m == 0 and mean == nil then api.fail("U is empty: an empty shard needs the union's mean and scale") end
  if not mean then mean, scale = standardize.row_scaler(U) end
  local S = standardize.standardize(U, mean, scale)
  local total = reduce and reduce(core.full(1, 1, m)):get(1, 1) or m
  if total == 0 then api.fail("U is empty on every rank") end
  ridge = ridge or 1 / total
  local W, iterations, converged = fit_standardized(S, Y, ridge, reduce)
  -- raw coordinates: B_raw = B_std diag(1 / scale), c_raw = c_std - B_raw mean
  local inv = scale:copy()
  for i = 1, n do inv:set(i, 1, 1 / inv:get(i, 1)) end
  core.copy(B, core.scale_cols(W:sub(1, W:rows(), 1, n):copy(), inv:t()))
  core.copy(c, W:sub(1, W:rows(), n + 1, n + 1))
  core.gemm(c, B, mean, -1, 1)
  return B, c, iterations, converged
end)

local LogisticRegression = {}
LogisticRegression.__index = LogisticRegression

--- idl.LogisticRegression{ridge = 1 / m} -> an unfitted model (ridge > 0: the
-- penalty on the coefficients of the standardized inputs; nil: 1 / m for m
-- training samples).
logistic.LogisticRegression = api.public("idl.LogisticRegression", function(opts)
  opts = api.options(opts, {ridge = true}, "parameters")
  if opts.ridge ~= nil then api.check(opts.ridge, {"number", gt = 0}, "ridge") end
  return setmetatable({ridge = opts.ridge}, LogisticRegression)
end)

local function method(name, f) return api.method(LogisticRegression, name, f) end

--- lr:get_params() -> {ridge = lr.ridge}: the parameters of an unfitted copy.
LogisticRegression.get_params = method("idl.LogisticRegression:get_params", function(self)
  return {ridge = self.ridge}
end)

--- lr:fit(X, labels) -> lr, with lr.classes (the sorted distinct labels),
-- lr.coef (n x k), lr.intercept (1 x k), lr.iterations (L-BFGS's) and
-- lr.converged (false: the iteration cap ended it, the model is not the
-- minimum to the stopping tolerance). X is
-- m x n (rows are samples), labels a Lua array (or a vector matrix) of m
-- numbers or strings, at least two distinct.
LogisticRegression.fit = method("idl.LogisticRegression:fit", function(self, X, labels)
  X = api.check(X, "matrix_like", "X")
  labels = label_set.check(labels, "labels")
  if #labels ~= X:rows() then
    api.failf("X has %d rows (samples), labels has %d entries", X:rows(), #labels)
  end
  local classes = label_set.classes(labels)
  if #classes < 2 then api.fail("labels has a single class: nothing to learn") end
  local B, c = core.zeros(#classes, X:cols()), core.zeros(#classes, 1)
  local Y = label_set.one_hot(labels, classes, "labels"):t()
  local _, _, iterations, converged = logistic.readout(B, c, X:t():copy(), Y, self.ridge)
  self.classes, self.coef, self.intercept = classes, B:t():copy(), c:t():copy()
  self.iterations, self.converged = iterations, converged
  return self
end)

local function logits(self, X)
  if not self.coef then api.fail("the model is not fitted: call fit(X, labels) first") end
  X = api.check(X, "matrix_like", "X")
  api.check_features(X, self.coef:rows())
  return X * self.coef + core.ones(X:rows(), 1) * self.intercept
end

--- lr:predict_proba(X) -> an m x k matrix: row i the probabilities of the
-- classes (in the order of lr.classes) for sample i.
LogisticRegression.predict_proba = method("idl.LogisticRegression:predict_proba", function(self, X)
  return core.softmax(logits(self, X):t()):t()
end)

--- lr:predict(X) -> a Lua array of the most probable class of each sample.
LogisticRegression.predict = method("idl.LogisticRegression:predict", function(self, X)
  return label_set.most_probable(logits(self, X), self.classes)
end)

--- lr:score(X, labels) -> the accuracy of the predictions (fraction correct).
LogisticRegression.score = method("idl.LogisticRegression:score", function(self, X, labels)
  return label_set.accuracy(LogisticRegression.predict(self, X), label_set.check(labels, "labels"))
end)

logistic.class = LogisticRegression

return logistic
