-- model_selection_spec.lua: k-fold splitters, clone, cross_val_score,
-- grid_search (in this process and in worker processes) and permutation
-- importance, against their definitions and exact cases.
local idl = require "idl"
local ms = require "idl.model_selection"
local metrics = require "idl.metrics"
local data = require "idl.data"

local function sorted(t)
  local c = {}
  for i, v in ipairs(t) do c[i] = v end
  table.sort(c)
  return c
end

local function range(a, b)
  local t = {}
  for i = a, b do t[#t + 1] = i end
  return t
end

-- Every row in exactly one test set, and train = the other rows.
local function assert_partition(folds, m)
  local seen = {}
  for _, f in ipairs(folds) do
    local in_test = {}
    for _, i in ipairs(f.test) do
      assert.is_nil(seen[i]); seen[i] = true; in_test[i] = true
    end
    assert.are.equal(m - #f.test, #f.train)
    for _, i in ipairs(f.train) do assert.is_nil(in_test[i]) end
  end
  for i = 1, m do assert.is_true(seen[i]) end
end

-- y = X w exactly (no noise): every linear fit is exact.
-- Runs f with one BLAS thread, as worker processes have (same sums, same bits).
local function one_thread(f)
  local saved = idl.get_threads()
  idl.set_threads(1)
  local ok, a = pcall(f)
  idl.set_threads(saved)
  assert(ok, a)
  return a
end

local function exact_data(m)
  local g = idl.rng(11)
  local X = idl.randn(m, 2, g)
  return X, X * idl.from_table{{3}, {-1}} + 2
end

describe("idl.model_selection splitters", function()
  it("KFold: consecutive folds, the first ones larger", function()
    local folds = ms.KFold{n_splits = 3}:split(10)
    assert.are.same({range(1, 4), range(5, 7), range(8, 10)},
      {folds[1].test, folds[2].test, folds[3].test})
    assert.are.same(range(5, 10), folds[1].train)
    assert_partition(folds, 10)
  end)

  it("KFold with shuffle: blocks of the generator's permutation", function()
    local folds = ms.KFold{n_splits = 4, shuffle = true, rng = idl.rng(5)}:split(idl.zeros(9, 1))
    local perm = idl.rng(5):permutation(9)
    assert.are.same(sorted{perm[1], perm[2], perm[3]}, folds[1].test)
    assert.are.same(sorted{perm[8], perm[9]}, folds[4].test)
    assert_partition(folds, 9)
    local a = ms.KFold{n_splits = 4, shuffle = true, seed = 3}:split(9)
    assert.are.same(a, ms.KFold{n_splits = 4, shuffle = true, seed = 3}:split(9))
  end)

  it("StratifiedKFold keeps each class's share in every fold", function()
    local y = {"a", "b", "a", "a", "b", "a", "a", "b", "a"}
    for _, opts in ipairs{{n_splits = 3}, {n_splits = 3, shuffle = true, seed = 7}} do
      local folds = ms.StratifiedKFold(opts):split(9, y)
      assert_partition(folds, 9)
      for _, f in ipairs(folds) do
        local count = {a = 0, b = 0}
        for _, i in ipairs(f.test) do count[y[i]] = count[y[i]] + 1 end
        assert.are.same({a = 2, b = 1}, count)
      end
    end
  end)

  it("check their arguments", function()
    assert.has_error(function() ms.KFold{n_splits = 1} end,
      "idl.model_selection.KFold: n_splits must be >= 2, got 1")
    assert.has_error(function() ms.KFold{seed = 1} end,
      "idl.model_selection.KFold: rng and seed shuffle the samples: they need shuffle = true")
    assert.has_error(function() ms.KFold{n_splits = 5}:split(3) end,
      "idl.model_selection.KFold:split: 3 samples cannot make 5 folds")
    assert.has_error(function() ms.StratifiedKFold{n_splits = 3}:split(4, {1, 1, 1, 2}) end,
      "idl.model_selection.StratifiedKFold:split: class 2 has 1 samples, fewer than n_splits = 3")
    assert.has_error(function() ms.StratifiedKFold{}:split(4, {1, 2}) end,
      "idl.model_selection.StratifiedKFold:split: y has 2 labels, X has 4 rows")
  end)
end)

describe("idl.model_selection.clone", function()
  it("copies the parameters into a new unfitted estimator of the same class", function()
    local X, y = exact_data(20)
    local est = idl.IDLModel{hidden_variables = 3, starting_lambda = {1, 2, 3}, verbosity = false}
    local c = ms.clone(est)
    assert.are.equal(getmetatable(est), getmetatable(c))
    local pe, pc = est:get_params(), c:get_params()
    assert.are.same(pe.starting_lambda:totable(), pc.starting_lambda:totable())
    pe.starting_lambda, pc.starting_lambda = nil, nil
    assert.are.same(pe, pc)
    c:set_params{hidden_variables = 7}
    assert.are.equal(3, est:get_params().hidden_variables)
    local lr = idl.LinearRegression{ridge = 0.5}:fit(X, y)
    local lc = ms.clone(lr)
    assert.are.equal(0.5, lc.ridge)
    assert.is_nil(lc.coef)
    local clf = ms.clone(idl.IDLClassifier{hidden_variables = 2})
    assert.are.equal(getmetatable(idl.IDLClassifier{}), getmetatable(clf))
  end)

  it("refuses what it cannot rebuild", function()
    assert.has_error(function() ms.clone({}) end,
      "idl.model_selection.clone: est must be an idl.IDLModel, idl.IDLClassifier or idl.LinearRegression, "
      .. "got table")
  end)
end)

describe("idl.model_selection.cross_val_score", function()
  it("scores exact data perfectly and leaves the estimator unfitted", function()
    local X, y = exact_data(30)
    local lr = idl.LinearRegression{}
    local scores = ms.cross_val_score(lr, X, y, {cv = 5})
    assert.are.equal(5, #scores)
    for _, s in ipairs(scores) do assert.is_true(math.abs(s - 1) < 1e-12) end
    assert.is_nil(lr.coef)
  end)

  it("equals fitting each fold by hand, for a named scoring and a function", function()
    local g = idl.rng(2)
    local X = idl.randn(24, 2, g)
    local y = X * idl.from_table{{1}, {1}} + idl.randn(24, 1, g)
    local folds = ms.KFold{n_splits = 3, shuffle = true, seed = 1}:split(X)
    local scores = ms.cross_val_score(idl.LinearRegression{ridge = 1}, X, y,
      {cv = folds, scoring = "neg_mae"})
    local seen = {}
    local custom = ms.cross_val_score(idl.LinearRegression{ridge = 1}, X, y, {cv = folds,
      scoring = function(est, Xt) seen[#seen + 1] = Xt:rows(); return est.coef:get(1, 1) end})
    for f, fold in ipairs(folds) do
      local lr = idl.LinearRegression{ridge = 1}:fit(data.select_rows(X, fold.train),
        data.select_rows(y, fold.train))
      local yt = data.select_rows(y, fold.test)
      assert.are.equal(-metrics.mae(yt, lr:predict(data.select_rows(X, fold.test))), scores[f])
      assert.are.equal(lr.coef:get(1, 1), custom[f])
      assert.are.equal(#fold.test, seen[f])
    end
  end)

  it("stratifies the folds of text labels by default", function()
    local X = idl.randn(12, 2, idl.rng(4))
    local y = {}
    for i = 1, 12 do y[i] = i % 3 == 0 and "rare" or "common" end
    local counts = {}
    local clf = idl.IDLClassifier{hidden_variables = 2, verbosity = false}
    local scores = ms.cross_val_score(clf, X, y, {cv = 4, fit_options = {rounds_number = 2},
      scoring = function(_, _, yt)
        local n = 0
        for _, l in ipairs(yt) do if l == "rare" then n = n + 1 end end
        counts[#counts + 1] = n
        return n / #yt
      end})
    assert.are.same({1, 1, 1, 1}, counts)
    assert.are.same({1 / 3, 1 / 3, 1 / 3, 1 / 3}, scores)
    assert.is_nil(clf.model)
  end)

  it("scores a classifier by name: accuracy, macro F1 and log-loss as fitting each fold by hand", function()
    local g = idl.rng(12)
    local X = idl.randn(16, 2, g)
    local y = {}
    for i = 1, 16 do y[i] = X:get(i, 1) > 0 and "pos" or "neg" end
    local params = {hidden_variables = 2, verbosity = false, random_state = 4}
    local folds = ms.StratifiedKFold{n_splits = 2}:split(X, y)
    local fit = {rounds_number = 2}
    local scores = {}
    for _, name in ipairs{"accuracy", "f1_macro", "neg_log_loss"} do
      scores[name] = ms.cross_val_score(idl.IDLClassifier(params), X, y,
        {cv = folds, scoring = name, fit_options = fit})
    end
    for f, fold in ipairs(folds) do
      local clf = idl.IDLClassifier(params)
      local labels_train, labels_test = {}, {}
      for k, i in ipairs(fold.train) do labels_train[k] = y[i] end
      for k, i in ipairs(fold.test) do labels_test[k] = y[i] end
      clf:fit(data.select_rows(X, fold.train), labels_train, {rounds_number = 2, verbose = false})
      local Xt = data.select_rows(X, fold.test)
      local predicted = clf:predict(Xt)
      assert.are.equal(metrics.accuracy(labels_test, predicted), scores.accuracy[f])
      assert.are.equal((metrics.f1(labels_test, predicted)), scores.f1_macro[f])
      assert.are.equal(-metrics.log_loss(labels_test, clf:predict_proba(Xt), clf.classes),
        scores.neg_log_loss[f])
    end
    local ok, err = pcall(ms.cross_val_score, idl.LinearRegression{}, X, idl.randn(16, 1, g),
      {cv = 2, scoring = "neg_log_loss"})
    assert.is_false(ok)
    assert.matches("idl.model_selection.cross_val_score: neg_log_loss needs a classifier (predict_proba)",
      err, 1, true)
  end)

  it("gives the same scores in worker processes as in this process", function()
    local X, y = exact_data(24)
    y = y + idl.randn(24, 1, idl.rng(9), 0, 0.5)
    local est = idl.IDLModel{hidden_variables = 2, verbosity = false}
    local opts = {cv = 3, scoring = "neg_mse", fit_options = {rounds_number = 2}}
    local here = one_thread(function() return ms.cross_val_score(est, X, y, opts) end)
    opts.jobs = 2
    assert.are.same(here, ms.cross_val_score(est, X, y, opts))
  end)

  it("checks its arguments and names a failing fold", function()
    local X, y = exact_data(12)
    local lr = idl.LinearRegression{}
    assert.has_error(function() ms.cross_val_score(lr, X, y, {scoring = "mse"}) end,
      'idl.model_selection.cross_val_score: scoring must be one of "accuracy", "f1_macro", "neg_log_loss", '
      .. '"neg_mae", "neg_mse", '
      .. '"neg_rmse", "precision_macro", "r2", "recall_macro", got "mse"')
    assert.has_error(function()
      ms.cross_val_score(lr, X, y, {jobs = 2, scoring = function() return 0 end})
    end, "idl.model_selection.cross_val_score: a scoring function cannot travel to worker processes: "
      .. "give its name "
      .. "(one of accuracy, f1_macro, neg_log_loss, neg_mae, neg_mse, neg_rmse, precision_macro, r2, "
      .. "recall_macro) or jobs = 1")
    assert.has_error(function() ms.cross_val_score(lr, X, idl.zeros(5, 1)) end,
      "idl.model_selection.cross_val_score: X has 12 rows (samples), y has 5")
    assert.has_error(function() ms.cross_val_score(lr, X, y, {cv = {{train = {1}, test = {13}}}}) end,
      "idl.model_selection.cross_val_score: cv[1].test[1] must be a row index in [1, 12], got 13")
    assert.has_error(function() ms.cross_val_score(lr, X, y, {cv = 20}) end,
      "idl.model_selection.cross_val_score: 12 samples cannot make 20 folds")
    local est = idl.IDLModel{verbosity = false}
    local ok, err = pcall(ms.cross_val_score, est, X, y,
      {cv = 2, jobs = 2, fit_options = {rounds_number = -1}})
    assert.is_false(ok)
    assert.matches("idl.model_selection.cross_val_score: job 1 of 2 failed", err, 1, true)
    assert.matches("rounds_number", err, 1, true)
    ok, err = pcall(ms.cross_val_score, est, X, y, {cv = 2, fit_options = {rounds_number = -1}})
    assert.is_false(ok)
    assert.matches("idl.model_selection.cross_val_score: rounds_number must be >= 0", err, 1, true)
  end)
end)

describe("idl.model_selection.grid_search", function()
  it("finds the better setting, in grid order, and refits it on all the data", function()
    local g = idl.rng(6)
    local X = idl.randn(30, 2, g)
    local y = X * idl.from_table{{2}, {-1}} + idl.randn(30, 1, g, 0, 0.1)
    local res = ms.grid_search(idl.LinearRegression{}, {ridge = {1e4, 0}}, X, y, {cv = 3})
    assert.are.same({ridge = 1e4}, res.results[1].params)
    assert.are.same({ridge = 0}, res.results[2].params)
    assert.are.same(ms.cross_val_score(idl.LinearRegression{ridge = 0}, X, y, {cv = 3}),
      res.results[2].scores)
    assert.are.same({ridge = 0}, res.best_params)
    assert.are.equal(res.results[2].mean, res.best_score)
    assert.is_true(res.results[1].mean < res.best_score)
    local direct = idl.LinearRegression{}:fit(X, y)
    assert.are.same(direct.coef:totable(), res.best_estimator.coef:totable())
  end)

  it("runs the (setting, fold) jobs in worker processes with the same results", function()
    local X, y = exact_data(18)
    local est = idl.IDLModel{hidden_variables = 2, verbosity = false}
    local grid = {hidden_variables = {1, 3}, patience = {2}}
    local opts = {cv = 3, fit_options = {rounds_number = 2}, refit = false}
    local here = one_thread(function() return ms.grid_search(est, grid, X, y, opts) end)
    opts.jobs = 2
    local there = ms.grid_search(est, grid, X, y, opts)
    assert.are.same(here.results, there.results)
    assert.are.same({hidden_variables = 3, patience = 2}, here.results[2].params)
    assert.is_nil(there.best_estimator)
  end)

  it("checks the grid", function()
    local X, y = exact_data(9)
    assert.has_error(function() ms.grid_search(idl.LinearRegression{}, {ridge = {}}, X, y) end,
      "idl.model_selection.grid_search: grid.ridge must be a non-empty array of values")
    assert.has_error(function() ms.grid_search(idl.LinearRegression{}, {ridg = {1}}, X, y, {cv = 3}) end,
      "idl.model_selection.grid_search: unknown option 'ridg' in parameters (did you mean 'ridge'?)")
  end)
end)

describe("idl.model_selection.permutation_importance", function()
  it("drops R^2 by sum((x_perm - x)^2) / SS(x) for the used feature, 0 for the unused one", function()
    local g = idl.rng(8)
    local X = idl.randn(25, 2, g)
    local y = X:sub(1, 25, 1, 1) * 3
    local lr = idl.LinearRegression{}:fit(X, y)
    local before = X:copy()
    local res = ms.permutation_importance(lr, X, y, {n_repeats = 3, rng = idl.rng(4)})
    assert.are.same(before:totable(), X:totable())
    assert.is_true(math.abs(res.baseline - 1) < 1e-12)
    local ref = idl.rng(4)
    local mean = 0
    for i = 1, 25 do mean = mean + X:get(i, 1) / 25 end
    local ss = 0
    for i = 1, 25 do ss = ss + (X:get(i, 1) - mean) ^ 2 end
    for r = 1, 3 do
      local perm = ref:permutation(25)
      local d = 0
      for i = 1, 25 do d = d + (X:get(perm[i], 1) - X:get(i, 1)) ^ 2 end
      assert.is_true(math.abs(res.importances[1][r] - d / ss) < 1e-9)
      assert.is_true(math.abs(res.importances[2][r]) < 1e-9)
    end
    assert.is_true(math.abs(res.mean[2]) < 1e-9)
    assert.is_true(res.mean[1] > 0.5)
  end)
end)
