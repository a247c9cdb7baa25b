--- idl.model_selection: k-fold splits, cross-validation, grid search,
-- cloning, and permutation feature importance.
--
--     local ms = require "idl.model_selection"
--     local est = idl.IDLModel{hidden_variables = 20}
--     local scores = ms.cross_val_score(est, X, y, {cv = 5, scoring = "neg_mse"})
--     local search = ms.grid_search(est, {hidden_variables = {10, 40}}, X, y, {cv = 3, jobs = 2})
--     print(search.best_score, search.best_params.hidden_variables)
--
-- Rows are samples (X m x n). y is an m x p matrix (or a Lua array of
-- numbers) for a regressor, a Lua array of labels for a classifier. The
-- estimator passed in is never fitted: every fold fits a clone (ms.clone).
-- Scores are "higher is better": an error metric is negated ("neg_mse").
--
-- jobs = n >= 2 runs the fits in n worker processes through idl.parallel
-- (each with one BLAS thread): the scores are exactly those of jobs = 1 in a
-- process with one BLAS thread (idl.set_threads(1)). Only
-- the known estimators (IDLModel, IDLClassifier, LinearRegression) and named
-- scorings travel to workers; a scoring function needs jobs = 1.
-- @module idl.model_selection

local core = require "idl.core"
local util = require "idl._util"
local api = require "idl._api"
local labels = require "idl._labels"
local impl = require "idl._cv"

local ms = {}

-- Every function below is public under "idl.model_selection.<name>"
-- (idl._api): a check that fails inside, in this module or in the estimator
-- it fits, raises under that name and blames the caller's line.
local function public(name, f) return api.public("idl.model_selection." .. name, f) end
local function method(class, name, f) return api.method(class, "idl.model_selection." .. name, f) end

--- The names `scoring` accepts (sorted).
ms.SCORINGS = impl.SCORER_NAMES

-- ---------------------------------------------------------------------------
-- Splitters

local KFold = {}
KFold.__index = KFold
local StratifiedKFold = setmetatable({}, {__index = KFold})
StratifiedKFold.__index = StratifiedKFold

local SPLITTER_OPTIONS = {n_splits = true, shuffle = true, rng = true, seed = true}

local function splitter(mt, opts)
  opts = api.options(opts, SPLITTER_OPTIONS, "options")
  local k = opts.n_splits == nil and 5 or
    api.check(opts.n_splits, {"number", integer = true, min = 2, max = api.MAX_DIM}, "n_splits")
  local shuffle = false
  if opts.shuffle ~= nil then shuffle = api.check(opts.shuffle, "boolean", "shuffle") end
  api.check(opts.rng, {"rng", optional = true}, "rng")
  api.check(opts.seed, {"number", integer = true, min = 0, optional = true}, "seed")
  if opts.rng ~= nil and opts.seed ~= nil then api.fail("give rng or seed, not both") end
  if not shuffle and (opts.rng ~= nil or opts.seed ~= nil) then
    api.fail("rng and seed shuffle the samples: they need shuffle = true")
  end
  return setmetatable({n_splits = k, shuffle = shuffle, rng = opts.rng, seed = opts.seed or 0}, mt)
end

--- ms.KFold{n_splits = 5, shuffle = false, rng = nil, seed = 0} -> a splitter:
-- k consecutive folds of the rows (sizes differ by at most one, the first
-- folds larger), in order, or of a permutation drawn from `rng` (or
-- idl.rng(seed)) when shuffle = true.
ms.KFold = public("KFold", function(opts) return splitter(KFold, opts) end)

--- ms.StratifiedKFold{n_splits = 5, shuffle = false, rng = nil, seed = 0} ->
-- a splitter whose folds keep each class's share: the rows of each class (in
-- order, or shuffled) are dealt to the folds in turn, continuing where the
-- previous class stopped, so fold sizes differ by at most one.
ms.StratifiedKFold = public("StratifiedKFold", function(opts) return splitter(StratifiedKFold, opts) end)

local function row_order(self, m)
  if not self.shuffle then
    local order = {}
    for i = 1, m do order[i] = i end
    return order
  end
  return (self.rng or core.rng(self.seed)):permutation(m)
end

-- The folds as {train = {...}, test = {...}} from fold[i] = the fold of row i.
local function folds_from(fold, k)
  local splits = {}
  for f = 1, k do splits[f] = {train = {}, test = {}} end
  for i, f in ipairs(fold) do
    for g = 1, k do
      local part = g == f and splits[g].test or splits[g].train
      part[#part + 1] = i
    end
  end
  return splits
end

local function sample_count(X)
  if core.is_matrix(X) then return X:rows() end
  if type(X) == "number" then return api.check(X, {"dim", min = 1}, "X (a number of samples)") end
  return api.check(X, {"matrix_like", finite = false}, "X"):rows()
end

--- kf:split(X [, y]) -> an array of k folds {train = {rows...}, test = {rows...}}
-- (1-based row indices, each row in exactly one test set). X is the data
-- matrix or its number of rows.
KFold.split = method(KFold, "KFold:split", function(self, X)
  local m = sample_count(X)
  local k = self.n_splits
  if m < k then api.failf("%d samples cannot make %d folds", m, k) end
  local order, fold = row_order(self, m), {}
  local start = 1
  for f = 1, k do
    local size = m // k + (f <= m % k and 1 or 0)
    for t = start, start + size - 1 do fold[order[t]] = f end
    start = start + size
  end
  return folds_from(fold, k)
end)

--- skf:split(X, y) -> the folds as for KFold, y being the labels (a Lua array
-- or a vector, one per row). Raises when a class has fewer rows than folds.
StratifiedKFold.split = method(StratifiedKFold, "StratifiedKFold:split", function(self, X, y)
  local m = sample_count(X)
  y = labels.check(y, "y")
  if #y ~= m then api.failf("y has %d labels, X has %d rows", #y, m) end
  local k = self.n_splits
  local classes, index = labels.classes(y)
  local members = {}
  for c = 1, #classes do members[c] = {} end
  for _, i in ipairs(row_order(self, m)) do
    local c = members[index[y[i]]]
    c[#c + 1] = i
  end
  local fold, next_fold = {}, 0
  for c, rows in ipairs(members) do
    if #rows < k then
      api.failf("class %s has %d samples, fewer than n_splits = %d", tostring(classes[c]), #rows, k)
    end
    for _, i in ipairs(rows) do
      fold[i] = next_fold + 1
      next_fold = (next_fold + 1) % k
    end
  end
  return folds_from(fold, k)
end)

-- ---------------------------------------------------------------------------
-- Clone

-- The kind (idl._cv.KINDS) of an estimator est, which must be one.
local function kind_of(est, fitted)
  local kind = impl.kind_of(est)
  if not kind then
    api.fail("est must be " .. (fitted and "a fitted " or "an ") .. "idl.IDLModel, idl.IDLClassifier or "
      .. "idl.LinearRegression, got " .. api.describe(est))
  end
  return kind
end

--- ms.clone(est) -> a new unfitted estimator of the same class, built from a copy
-- of est's parameters (est:get_params()). Knows idl.IDLModel,
-- idl.IDLClassifier and idl.LinearRegression.
ms.clone = public("clone", function(est)
  return kind_of(est).new(est:get_params())
end)

-- ---------------------------------------------------------------------------
-- Data: X a matrix, y a matrix or a Lua array of labels (for a classifier, or text)

local function check_data(est, X, y)
  X = api.check(X, "matrix_like", "X")
  if y == nil then api.fail("y is missing") end
  if impl.is_classifier(est) or labels.is_text(y) then
    y = labels.check(y, "y")
    if #y ~= X:rows() then api.failf("X has %d rows, y has %d labels", X:rows(), #y) end
  else
    y = api.check(y, "matrix_like", "y")
    if y:rows() ~= X:rows() then api.failf("X has %d rows (samples), y has %d", X:rows(), y:rows()) end
  end
  return X, y
end

-- The folds: cv = a number of folds (stratified for a classifier or text
-- labels), a splitter, or an array of {train =, test =} index arrays.
local function folds_for(cv, X, y)
  if cv == nil then cv = 5 end
  if type(cv) == "number" then
    local k = api.check(cv, {"number", integer = true, min = 2, max = api.MAX_DIM}, "cv")
    local stratify = not core.is_matrix(y)
    cv = (stratify and ms.StratifiedKFold or ms.KFold){n_splits = k}
  end
  if api.is_a(cv, KFold) then return cv:split(X, y) end
  api.check(cv, "table", "cv (a number of folds, a splitter or an array of folds)")
  if #cv == 0 then api.fail("cv is an empty array of folds") end
  for f, fold in ipairs(cv) do
    if type(fold) ~= "table" or type(fold.train) ~= "table" or type(fold.test) ~= "table" then
      api.failf("cv[%d] must be a fold {train = rows, test = rows}", f)
    end
    for _, part in ipairs{"train", "test"} do
      if #fold[part] == 0 then api.failf("cv[%d].%s is empty", f, part) end
      for t, i in ipairs(fold[part]) do
        if math.type(i) ~= "integer" or i < 1 or i > X:rows() then
          api.failf("cv[%d].%s[%d] must be a row index in [1, %d], got %s", f, part, t, X:rows(),
            api.describe(i))
        end
      end
    end
  end
  return cv
end

local function temp_dir()
  local p = io.popen('mktemp -d "${TMPDIR:-/tmp}/idl-cv.XXXXXX"')
  local dir = p and p:read("a"):gsub("\n$", "")
  if p then p:close() end
  if not dir or dir == "" then api.fail("cannot create a temporary directory") end
  return dir
end

-- Scores of every (parameter set, fold) pair in worker processes:
-- result[s][f] for param_sets[s] and folds[f].
local function run_parallel(kind, param_sets, X, y, folds, scoring, fit_options, jobs)
  if type(scoring) == "function" then
    api.fail("a scoring function cannot travel to worker processes: give its name (one of "
      .. table.concat(impl.SCORER_NAMES, ", ") .. ") or jobs = 1")
  end
  local json, parallel = require "idl.json", require "idl.parallel"
  local script = assert(package.searchpath("idl._cv_worker", package.path), "idl._cv_worker not found")
  local dir = temp_dir()
  local ok, res = pcall(function()
    local path = dir .. "/data.json"
    assert(json.write(path, {kind = kind.name, X = X:totable(), y = impl.to_rows(y), folds = folds,
      scoring = scoring, fit_options = fit_options}, {allow_nan = true}))
    local list = {}
    for s, params in ipairs(param_sets) do
      for f = 1, #folds do list[#list + 1] = {data = path, fold = f, params = params, set = s} end
    end
    local results = parallel.map(script, list, {jobs = jobs})
    local scores = {}
    for s = 1, #param_sets do scores[s] = {} end
    for t, job in ipairs(list) do scores[job.set][job.fold] = results[t].score end
    return scores
  end)
  os.execute("rm -rf " .. util.sh_quote(dir))
  -- the error passes on unchanged once the directory is gone (one with no
  -- name and position yet, an assert's, gets them)
  if not ok then api.fail(api.unplace(res)) end
  return res
end

-- Scores of every (parameter set, fold) pair in this process.
local function run_here(kind, param_sets, X, y, folds, scoring, fit_options)
  local scores = {}
  for s, params in ipairs(param_sets) do
    scores[s] = {}
    for f, fold in ipairs(folds) do
      scores[s][f] = impl.fit_and_score(kind, params, X, y, fold, scoring, fit_options)
    end
  end
  return scores
end

local CV_OPTIONS = {cv = true, scoring = true, jobs = true, fit_options = true}

-- The checked common options of cross_val_score and grid_search.
local function check_cv_options(est, X, y, opts, allowed)
  local kind = kind_of(est)
  opts = api.options(opts, allowed, "options")
  X, y = check_data(est, X, y)
  local o = {kind = kind, X = X, y = y}
  o.scoring = impl.check_scoring(opts.scoring)
  o.jobs = opts.jobs == nil and 1 or api.check(opts.jobs, {"number", integer = true, min = 1}, "jobs")
  local fit_options = {verbose = false}
  local given = api.check(opts.fit_options, {"table", optional = true}, "fit_options")
  for k, v in pairs(given or {}) do
    fit_options[k] = v
  end
  if kind.name == "LinearRegression" then fit_options = nil end
  o.fit_options = fit_options
  o.folds = folds_for(opts.cv, X, y)
  return o, opts
end

local function run(o, param_sets)
  local go = o.jobs >= 2 and run_parallel or run_here
  return go(o.kind, param_sets, o.X, o.y, o.folds, o.scoring, o.fit_options, o.jobs)
end

--- ms.cross_val_score(est, X, y [, opts]) -> an array of one score per fold.
-- est is not fitted: each fold fits a clone on its train rows and scores it
-- on its test rows. Options:
--   cv          number of folds (default 5: StratifiedKFold for a classifier or
--               text labels, KFold otherwise, unshuffled), a splitter
--               (ms.KFold{...}), or an array of folds {train = rows, test = rows}
--   scoring     nil (est:score: R^2 or accuracy), a name in ms.SCORINGS
--               ("r2", "neg_mse", "neg_rmse", "neg_mae", "accuracy", "f1_macro",
--               "precision_macro", "recall_macro", "neg_log_loss"), or a
--               function(fitted_est, X_test, y_test) -> number
--   fit_options the options of est:fit (default verbose = false)
--   jobs        worker processes (default 1: in this process)
ms.cross_val_score = public("cross_val_score", function(est, X, y, opts)
  local o = check_cv_options(est, X, y, opts, CV_OPTIONS)
  return run(o, {est:get_params()})[1]
end)

local function mean_std(v)
  local sum = 0
  for _, x in ipairs(v) do sum = sum + x end
  local mean, sq = sum / #v, 0
  for _, x in ipairs(v) do sq = sq + (x - mean) ^ 2 end
  return mean, math.sqrt(sq / #v)
end

-- The parameter sets of a grid {name = {values...}}: the cartesian product in
-- sorted name order, the last name varying fastest, each merged into `base`.
local function expand_grid(grid, base)
  api.check(grid, "table", "grid")
  local names = {}
  for k, values in pairs(grid) do
    if type(k) ~= "string" then api.fail("grid keys must be parameter names") end
    if type(values) ~= "table" or core.is_matrix(values) or #values == 0 then
      api.failf("grid.%s must be a non-empty array of values", k)
    end
    names[#names + 1] = k
  end
  if #names == 0 then api.fail("grid is empty") end
  table.sort(names)
  local sets = {{}}
  for _, k in ipairs(names) do
    local grown = {}
    for _, partial in ipairs(sets) do
      for _, v in ipairs(grid[k]) do
        local p = {}
        for pk, pv in pairs(partial) do p[pk] = pv end
        p[k] = v
        grown[#grown + 1] = p
      end
    end
    sets = grown
  end
  local full = {}
  for s, p in ipairs(sets) do
    local params = util.copy_matrices(base)
    for k, v in pairs(p) do params[k] = v end
    full[s] = params
  end
  return full, sets
end

local GRID_OPTIONS = {cv = true, scoring = true, jobs = true, fit_options = true, refit = true}

--- ms.grid_search(est, grid, X, y [, opts]) -> a result table:
--   results        one entry per parameter set {params = (the grid's values),
--                  scores = per fold, mean =, std =}, in grid order (names
--                  sorted, the last varying fastest)
--   best_params    the grid values of the best mean score (the first on ties)
--   best_score     that mean
--   best_estimator a clone with the best parameters fitted on all of X, y
--                  (unless refit = false)
-- grid maps parameter names to arrays of values ({hidden_variables = {10,
-- 20}, dual_learning_rate = {0.1, 1}}); the other parameters are est's. The
-- options are cross_val_score's (cv, scoring, fit_options, jobs: every
-- (parameter set, fold) pair is one job) and refit.
ms.grid_search = public("grid_search", function(est, grid, X, y, opts)
  local o, raw = check_cv_options(est, X, y, opts, GRID_OPTIONS)
  local refit = raw.refit == nil and true or api.check(raw.refit, "boolean", "refit")
  local sets, values = expand_grid(grid, est:get_params())
  -- every setting is checked by its estimator's constructor before any fit
  for _, params in ipairs(sets) do o.kind.new(params) end
  local scores = run(o, sets)
  local result = {results = {}}
  for s, v in ipairs(values) do
    local mean, std = mean_std(scores[s])
    result.results[s] = {params = v, scores = scores[s], mean = mean, std = std}
    if result.best_score == nil or mean > result.best_score then
      result.best_score, result.best_params, result.best_index = mean, v, s
    end
  end
  if refit then
    local best = o.kind.new(sets[result.best_index])
    best:fit(o.X, o.y, o.fit_options)
    result.best_estimator = best
  end
  return result
end)

-- ---------------------------------------------------------------------------
-- Permutation importance

local IMPORTANCE_OPTIONS = {n_repeats = true, rng = true, scoring = true}

--- ms.permutation_importance(est, X, y [, {n_repeats = 5, rng = idl.rng(0), scoring = nil}])
-- -> {mean = {...}, std = {...}, importances = {{...}, ...}, baseline = score}:
-- for each feature j (column of X) and repeat r, importances[j][r] = baseline -
-- the score of the FITTED est on X with column j permuted (rng:permutation(m),
-- drawn feature by feature, repeat by repeat); mean and std over the repeats.
-- scoring as for cross_val_score (default est:score). X is not modified.
ms.permutation_importance = public("permutation_importance", function(est, X, y, opts)
  kind_of(est, "fitted")
  opts = api.options(opts, IMPORTANCE_OPTIONS, "options")
  local repeats = opts.n_repeats == nil and 5 or api.check(opts.n_repeats, {"count", min = 1}, "n_repeats")
  local rng = opts.rng == nil and core.rng(0) or api.check(opts.rng, "rng", "rng")
  local scoring = impl.check_scoring(opts.scoring)
  X, y = check_data(est, X, y)
  local baseline = impl.score_with(scoring, est, X, y)
  local m = X:rows()
  local result = {mean = {}, std = {}, importances = {}, baseline = baseline}
  for j = 1, X:cols() do
    local drops = {}
    for r = 1, repeats do
      local perm = rng:permutation(m)
      local Xp = X:copy()
      for i = 1, m do Xp:set(i, j, X:get(perm[i], j)) end
      drops[r] = baseline - impl.score_with(scoring, est, Xp, y)
    end
    result.importances[j] = drops
    result.mean[j], result.std[j] = mean_std(drops)
  end
  return result
end)

return ms
