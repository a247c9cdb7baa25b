-- classification_metrics_spec.lua: accuracy, confusion matrix, precision,
-- recall, F1 and log-loss against hand computations on small label vectors.
local idl = require "idl"
local metrics = require "idl.metrics"

local function near(a, b, tol)
  assert.is_true(math.abs(a - b) <= (tol or 1e-15), string.format("%.17g vs %.17g", a, b))
end

-- Worked by hand: rows true (a, b, c), columns predicted
--   a: 2 1 0     b: 0 1 1     c: 0 0 1
local Y = {"a", "a", "a", "b", "b", "c"}
local YP = {"a", "a", "b", "b", "c", "c"}

describe("idl.metrics classification", function()
  it("accuracy: 4 of 6 right", function()
    near(4 / 6, metrics.accuracy(Y, YP))
    near(1, metrics.accuracy({1, 2}, idl.from_table{{1}, {2}}))
  end)

  it("confusion_matrix counts true rows against predicted columns", function()
    local C, classes = metrics.confusion_matrix(Y, YP)
    assert.are.same({"a", "b", "c"}, classes)
    assert.are.same({{2, 1, 0}, {0, 1, 1}, {0, 0, 1}}, C:totable())
    local C2, classes2 = metrics.confusion_matrix(Y, YP, {labels = {"c", "b", "a"}})
    assert.are.same({"c", "b", "a"}, classes2)
    assert.are.same({{1, 0, 0}, {1, 1, 0}, {0, 1, 2}}, C2:totable())
  end)

  it("precision, recall and F1, per class and macro-averaged", function()
    -- precision: a 2/2, b 1/2, c 1/2; recall: a 2/3, b 1/2, c 1/1
    local p, classes = metrics.precision(Y, YP, {average = "none"})
    assert.are.same({"a", "b", "c"}, classes)
    assert.are.same({1, 0.5, 0.5}, p)
    near(2 / 3, (metrics.precision(Y, YP)))
    local r = metrics.recall(Y, YP, {average = "none"})
    near(2 / 3, r[1]); near(0.5, r[2]); near(1, r[3])
    near((2 / 3 + 1 / 2 + 1) / 3, (metrics.recall(Y, YP)))
    -- F1: a 2(1)(2/3)/(5/3) = 4/5, b 1/2, c 2(1/2)(1)/(3/2) = 2/3
    local f = metrics.f1(Y, YP, {average = "none"})
    near(0.8, f[1]); near(0.5, f[2]); near(2 / 3, f[3])
    near((0.8 + 0.5 + 2 / 3) / 3, (metrics.f1(Y, YP)), 1e-15)
  end)

  it("a class never predicted or never true scores 0, not NaN", function()
    local p = metrics.precision({1, 1, 2}, {1, 1, 1}, {average = "none"})
    assert.are.same({2 / 3, 0}, p)
    local r = metrics.recall({1, 1}, {1, 2}, {average = "none"})
    assert.are.same({0.5, 0}, r)
    assert.are.same({2 / 3, 0}, metrics.f1({1, 1}, {1, 2}, {average = "none"}))
  end)

  it("log_loss is the mean of -log p(true class), clipped", function()
    local P = idl.from_table{{0.8, 0.2}, {0.4, 0.6}}
    near(-(math.log(0.8) + math.log(0.6)) / 2, metrics.log_loss({"a", "b"}, P, {"a", "b"}))
    near(-(math.log(0.2) + math.log(0.4)) / 2, metrics.log_loss({"b", "a"}, P, {"a", "b"}))
    near(-math.log(1e-15), metrics.log_loss({"a"}, idl.from_table{{0, 1}}, {"a", "b"}), 1e-12)
    near(-math.log(0.01), metrics.log_loss({"a"}, idl.from_table{{0, 1}}, {"a", "b"}, {eps = 0.01}), 1e-12)
  end)

  it("checks its arguments", function()
    assert.has_error(function() metrics.accuracy({"a"}, {"a", "b"}) end,
      "idl.metrics.accuracy: y has 1 labels, y_pred has 2")
    assert.has_error(function() metrics.accuracy({"a"}, {1}) end,
      "idl.metrics.accuracy: y holds strings, y_pred holds numbers")
    assert.has_error(function() metrics.f1(Y, YP, {average = "micro"}) end,
      'idl.metrics.f1: average must be one of "macro", "none", got "micro"')
    assert.has_error(function() metrics.confusion_matrix(Y, YP, {labels = {"a", "b"}}) end,
      "idl.metrics.confusion_matrix: sample 5: label c is not in opts.labels")
    assert.has_error(function() metrics.log_loss({"a"}, idl.from_table{{0.5, 0.6}}, {"a", "b"}) end,
      "idl.metrics.log_loss: row 1 of P sums to 1.1000000000000001, not 1")
    assert.has_error(function() metrics.log_loss({"z"}, idl.from_table{{0.5, 0.5}}, {"a", "b"}) end,
      "idl.metrics.log_loss: y[1] = z is not in classes")
    assert.has_error(function() metrics.log_loss({"a"}, idl.from_table{{1}}, {"a", "b"}) end,
      "idl.metrics.log_loss: P has 1 columns, classes has 2 entries")
    local ok, err = pcall(function() metrics.precision({}, {}) end)
    assert.is_false(ok)
    assert.matches("classification_metrics_spec.lua:%d+: idl%.metrics%.precision: y is empty", err)
    ok, err = pcall(function() metrics.confusion_matrix({"a"}, {"b"}, {labels = {"a", "a"}}) end)
    assert.is_false(ok)
    assert.matches(
      "classification_metrics_spec.lua:%d+: idl%.metrics%.confusion_matrix: labels lists a twice",
      err)
    ok, err = pcall(function() metrics.accuracy({"a"}, 7) end)
    assert.is_false(ok)
    assert.matches("classification_metrics_spec.lua:%d+: idl%.metrics%.accuracy: y_pred must be a Lua array",
      err)
  end)
end)
