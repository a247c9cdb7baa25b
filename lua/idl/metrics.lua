--- Metrics. Regression: mse, rmse, mae, r2. Classification: accuracy,
-- confusion_matrix, precision, recall, f1 (macro or per class), log_loss.
--
-- Regression: rows are samples: y and y_hat are m x p matrices (or Lua tables: a flat table
-- is a column, a table of rows a matrix), as the estimator returns them. Each
-- function raises "idl.metrics.<name>: ..." when the shapes differ or the data hold NaN or
-- infinities. Multi-output scores average over the p outputs, uniformly (as
-- scikit-learn's defaults do).
-- Classification: labels are Lua arrays (numbers or strings) or vector
-- matrices, one per sample; the classes are the sorted distinct labels of y and
-- y_pred together (or opts.labels), as idl.IDLClassifier orders them.
-- @module idl.metrics

local core = require "idl.core"
local api = require "idl._api"
local labels = require "idl._labels"

local metrics = {}

local function pair(y, y_hat)
  y = api.check(y, "matrix_like", "y")
  y_hat = api.check(y_hat, "matrix_like", "y_hat")
  if y:rows() ~= y_hat:rows() or y:cols() ~= y_hat:cols() then
    api.failf("y is %dx%d, y_hat is %dx%d", y:rows(), y:cols(), y_hat:rows(), y_hat:cols())
  end
  if y:rows() == 0 or y:cols() == 0 then api.fail("y is empty") end
  return y, y_hat
end

--- metrics.mse(y, y_hat) -> the mean of (y - y_hat)^2 over all entries.
-- Note: the report's "L2 loss" L = ||.||_F^2 / (2m) is mse * p / 2.
metrics.mse = api.public("idl.metrics.mse", function(y, y_hat)
  y, y_hat = pair(y, y_hat)
  local d = y_hat - y
  return d:norm("fro") ^ 2 / (d:rows() * d:cols())
end)

--- metrics.rmse(y, y_hat) -> sqrt(mse).
metrics.rmse = api.public("idl.metrics.rmse", function(y, y_hat)
  y, y_hat = pair(y, y_hat)
  local d = y_hat - y
  return math.sqrt(d:norm("fro") ^ 2 / (d:rows() * d:cols()))
end)

--- metrics.mae(y, y_hat) -> the mean of |y - y_hat| over all entries.
metrics.mae = api.public("idl.metrics.mae", function(y, y_hat)
  y, y_hat = pair(y, y_hat)
  local d = y_hat - y
  -- |d| = (d)_+ + (-d)_+: two vectorized passes instead of a Lua loop
  return (d:relu():sum() + (-d):relu():sum()) / (d:rows() * d:cols())
end)

--- metrics.r2(y, y_hat) -> the coefficient of determination 1 - SS_res / SS_tot,
-- computed per output column and averaged. A constant column scores 1 when
-- predicted exactly and 0 otherwise (scikit-learn's convention). Each column is
-- divided by its largest deviation before squaring, so |y| ~ 1e-170 (whose
-- squares underflow to 0) or ~ 1e170 (overflow) score as the same data scaled to 1.
metrics.r2 = api.public("idl.metrics.r2", function(y, y_hat)
  y, y_hat = pair(y, y_hat)
  local m, p = y:rows(), y:cols()
  local d = y_hat - y
  local mean = y:sum(1) / m                                 -- 1 x p
  local centered = y - core.ones(m, 1) * mean
  local total = 0
  for j = 1, p do
    local dj, cj = d:col(j), centered:col(j)
    local scale = math.max(dj:norm("max"), cj:norm("max"))
    local res = scale > 0 and (dj / scale):norm("fro") or 0
    local tot = scale > 0 and (cj / scale):norm("fro") or 0
    if tot > 0 then
      total = total + (1 - (res / tot) ^ 2)
    else
      total = total + (res == 0 and 1 or 0)
    end
  end
  return total / p
end)

-- ---------------------------------------------------------------------------
-- Classification

-- y and y_pred as Lua arrays of labels of the same length.
local function label_pair(y, y_pred)
  y = labels.check(y, "y")
  y_pred = labels.check(y_pred, "y_pred")
  if #y ~= #y_pred then
    api.fail(string.format("y has %d labels, y_pred has %d", #y, #y_pred))
  end
  if type(y[1]) ~= type(y_pred[1]) then
    api.fail(string.format("y holds %ss, y_pred holds %ss", type(y[1]), type(y_pred[1])))
  end
  return y, y_pred
end

-- The classes: opts.labels (checked), or the sorted labels of y and y_pred.
local function class_list(y, y_pred, given)
  if given == nil then
    local both = {}
    for _, l in ipairs(y) do both[#both + 1] = l end
    for _, l in ipairs(y_pred) do both[#both + 1] = l end
    return labels.classes(both)
  end
  local classes = labels.check(given, "labels")
  local index = {}
  for i, c in ipairs(classes) do
    if index[c] then api.fail("labels lists " .. tostring(c) .. " twice") end
    index[c] = i
  end
  return classes, index
end

--- metrics.accuracy(y, y_pred) -> the fraction of samples whose predicted
-- label equals the true one.
metrics.accuracy = api.public("idl.metrics.accuracy", function(y, y_pred)
  y, y_pred = label_pair(y, y_pred)
  local right = 0
  for i, l in ipairs(y) do
    if y_pred[i] == l then right = right + 1 end
  end
  return right / #y
end)

local CONFUSION_OPTIONS = {labels = true}

-- The confusion counts as a Lua table of rows, and the classes.
local function confusion(y, y_pred, opts)
  opts = api.options(opts, CONFUSION_OPTIONS, "options")
  y, y_pred = label_pair(y, y_pred)
  local classes, index = class_list(y, y_pred, opts.labels)
  local C = {}
  for a = 1, #classes do
    C[a] = {}
    for b = 1, #classes do C[a][b] = 0 end
  end
  for i, l in ipairs(y) do
    local a, b = index[l], index[y_pred[i]]
    if not a or not b then
      api.fail(string.format("sample %d: label %s is not in opts.labels", i, tostring(a and y_pred[i]
        or l)))
    end
    C[a][b] = C[a][b] + 1
  end
  return C, classes
end

--- metrics.confusion_matrix(y, y_pred [, {labels = classes}]) -> C, classes:
-- C is a k x k matrix whose entry (i, j) counts the samples of class
-- classes[i] predicted as classes[j] (rows true, columns predicted).
metrics.confusion_matrix = api.public("idl.metrics.confusion_matrix", function(y, y_pred, opts)
  local C, classes = confusion(y, y_pred, opts)
  return core.from_table(C), classes
end)

-- Per class: precision = TP / (TP + FP), recall = TP / (TP + FN), f1 their
-- harmonic mean; a ratio whose denominator is 0 is 0 (scikit-learn's
-- zero_division = 0).
local function per_class(C)
  local k = #C
  local p, r, f = {}, {}, {}
  for c = 1, k do
    local tp, predicted, actual = C[c][c], 0, 0
    for o = 1, k do
      predicted, actual = predicted + C[o][c], actual + C[c][o]
    end
    p[c] = predicted > 0 and tp / predicted or 0
    r[c] = actual > 0 and tp / actual or 0
    f[c] = p[c] + r[c] > 0 and 2 * p[c] * r[c] / (p[c] + r[c]) or 0
  end
  return {precision = p, recall = r, f1 = f}
end

local AVERAGE_OPTIONS = {labels = true, average = true}

local function averaged(which, y, y_pred, opts)
  opts = api.options(opts, AVERAGE_OPTIONS, "options")
  local average = opts.average == nil and "macro" or
    api.check(opts.average, {"choice", choices = {"macro", "none"}}, "average")
  local C, classes = confusion(y, y_pred, {labels = opts.labels})
  local values = per_class(C)[which]
  if average == "none" then return values, classes end
  local sum = 0
  for _, v in ipairs(values) do sum = sum + v end
  return sum / #values, classes
end

--- metrics.precision(y, y_pred [, {average = "macro" | "none", labels = classes}])
-- -> the macro average over the classes of TP / (TP + FP) (0 for a class never
-- predicted), or with average = "none" a Lua array of the per-class values;
-- the classes are returned second.
metrics.precision = api.public("idl.metrics.precision", function(y, y_pred, opts)
  local v, classes = averaged("precision", y, y_pred, opts)
  return v, classes
end)

--- metrics.recall(y, y_pred [, {average = "macro" | "none", labels = classes}])
-- -> TP / (TP + FN) per class (0 for a class absent from y), macro-averaged
-- or per class as for precision; the classes second.
metrics.recall = api.public("idl.metrics.recall", function(y, y_pred, opts)
  local v, classes = averaged("recall", y, y_pred, opts)
  return v, classes
end)

--- metrics.f1(y, y_pred [, {average = "macro" | "none", labels = classes}])
-- -> 2 P R / (P + R) per class (0 when P + R = 0), macro-averaged (the mean
-- of the per-class F1, as scikit-learn's f1_score(average="macro")) or per
-- class; the classes second.
metrics.f1 = api.public("idl.metrics.f1", function(y, y_pred, opts)
  local v, classes = averaged("f1", y, y_pred, opts)
  return v, classes
end)

local LOG_LOSS_OPTIONS = {eps = true}

--- metrics.log_loss(y, P, classes [, {eps = 1e-15}]) -> the mean over samples
-- of -log p(true class): P is an m x k matrix of probabilities (rows are
-- samples, each summing to 1 within 1e-6, as predict_proba returns them) whose
-- columns are the classes in the order of the array `classes` (clf.classes).
-- Probabilities are clipped to [eps, 1 - eps], so a confident mistake costs
-- -log(eps), not infinity.
metrics.log_loss = api.public("idl.metrics.log_loss", function(y, P, classes, opts)
  opts = api.options(opts, LOG_LOSS_OPTIONS, "options")
  local eps = opts.eps == nil and 1e-15 or api.check(opts.eps, {"number", gt = 0, max = 0.5}, "eps")
  y = labels.check(y, "y")
  P = api.check(P, {"matrix", rows = #y}, "P")
  classes = labels.check(classes, "classes")
  if P:cols() ~= #classes then
    api.fail(string.format("P has %d columns, classes has %d entries", P:cols(), #classes))
  end
  local index = {}
  for i, c in ipairs(classes) do index[c] = i end
  local total = 0
  for i, l in ipairs(y) do
    local k = index[l]
    if not k then api.fail(string.format("y[%d] = %s is not in classes", i, tostring(l))) end
    local sum = 0
    for j = 1, P:cols() do
      local p = P:get(i, j)
      if p < 0 or p > 1 then
        api.fail(string.format("P(%d, %d) = %g is not a probability", i, j, p))
      end
      sum = sum + p
    end
    if math.abs(sum - 1) > 1e-6 then
      api.fail(string.format("row %d of P sums to %.17g, not 1", i, sum))
    end
    total = total - math.log(math.min(math.max(P:get(i, k), eps), 1 - eps))
  end
  return total / #y
end)

return metrics
