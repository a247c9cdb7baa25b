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

--- The names `scoring` accepts (sorted).
ms.SCORINGS = impl.SCORER_NAMES

-- ---------------------------------------------------------------------------
-- Splitters

local KFold = {}
KFold.__index = KFold
local StratifiedKFold = setmetatable({}, {__index = KFold})
StratifiedKFold.__index = StratifiedKFold

local SPLITTER_OPTIONS = {n_splits = true, shuffle = true, rng = true, seed = true}

local function splitter(mt, fname, opts)
  opts = util.check_options(opts, SPLITTER_OPTIONS, fname, "options", 3)
  local k = opts.n_splits == nil and 5 or util.check_number(opts.n_splits, fname, "n_splits",
    {integer = true, min = 2, max = util.MAX_DIM}, 3)
  local shuffle = false
  if opts.shuffle ~= nil then shuffle = util.check_boolean(opts.shuffle, fname, "shuffle", 3) end
  if opts.rng ~= nil then util.check_rng(opts.rng, fname, "rng", 3) end
  if opts.seed ~= nil then util.check_number(opts.seed, fname, "seed", {integer = true, min = 0}, 3) end
  if opts.rng ~= nil and opts.seed ~= nil then util.fail(fname, "give rng or seed, not both", 3) end
  if not shuffle and (opts.rng ~= nil or opts.seed ~= nil) then
    util.fail(fname, "rng and seed shuffle the samples: they need shuffle = true", 3)
  end
  return setmetatable({n_splits = k, shuffle = shuffle, rng = opts.rng, seed = opts.seed or 0}, mt)
end

--- ms.KFold{n_splits = 5, shuffle = false, rng = nil, seed = 0} -> a splitter:
-- k consecutive folds of the rows (sizes differ by at most one, the first
-- folds larger), in order, or of a permutation drawn from `rng` (or
-- idl.rng(seed)) when shuffle = true.
function ms.KFold(opts)
  local kf = splitter(KFold, "KFold", opts)
  return kf
end

--- ms.StratifiedKFold{n_splits = 5, shuffle = false, rng = nil, seed = 0} ->
-- a splitter whose folds keep each class's share: the rows of each class (in
-- order, or shuffled) are dealt to the folds in turn, continuing where the
-- previous class stopped, so fold sizes differ by at most one.
function ms.StratifiedKFold(opts)
  local skf = splitter(StratifiedKFold, "StratifiedKFold", opts)
  return skf
end

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

local function sample_count(X, fname, level)
  if core.is_matrix(X) then return X:rows() end
  if type(X) == "number" then return util.check_dim(X, fname, "X (a number of samples)", 1, level + 1) end
  local M = util.as_matrix(X, fname, "X", level + 1, false)
  return M:rows()
end

--- kf:split(X [, y]) -> an array of k folds {train = {rows...}, test = {rows...}}
-- (1-based row indices, each row in exactly one test set). X is the data
-- matrix or its number of rows.
function KFold:split(X)
  util.check_self(self, KFold, "KFold:split")
  local m = sample_count(X, "KFold:split", 2)
  local k = self.n_splits
  if m < k then util.fail("KFold:split", string.format("%d samples cannot make %d folds", m, k)) end
  local order, fold = row_order(self, m), {}
  local start = 1
  for f = 1, k do
    local size = m // k + (f <= m % k and 1 or 0)
    for t = start, start + size - 1 do fold[order[t]] = f end
    start = start + size
  end
  return folds_from(fold, k)
end

--- skf:split(X, y) -> the folds as for KFold, y being the labels (a Lua array
-- or a vector, one per row). Raises when a class has fewer rows than folds.
function StratifiedKFold:split(X, y)
  local fname = "StratifiedKFold:split"
  util.check_self(self, StratifiedKFold, fname)
  local m = sample_count(X, fname, 2)
  y = labels.check(y, fname, "y", 2)
  if #y ~= m then util.fail(fname, string.format("y has %d labels, X has %d rows", #y, m)) end
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
      util.fail(fname, string.format("class %s has %d samples, fewer than n_splits = %d",
        tostring(classes[c]), #rows, k))
    end
    for _, i in ipairs(rows) do
      fold[i] = next_fold + 1
      next_fold = (next_fold + 1) % k
    end
  end
  return folds_from(fold, k)
end

-- ---------------------------------------------------------------------------
-- Clone

--- ms.clone(est) -> a new unfitted estimator of the same class, built from a copy
-- of est's parameters (est:get_params()). Knows idl.IDLModel,
-- idl.IDLClassifier and idl.LinearRegression.
function ms.clone(est)
  local kind = impl.kind_of(est)
  if not kind then
    util.fail("clone", "est must be an idl.IDLModel, idl.IDLClassifier or idl.LinearRegression, got "
      .. util.describe(est))
  end
  local new = util.relabel("clone", 2, kind.new, est:get_params())
  return new
end

-- ---------------------------------------------------------------------------
-- Data: X a matrix, y a matrix or a Lua array of labels (for a classifier, or text)

local function check_data(est, X, y, fname, level)
  level = level + 1
  X = util.as_matrix(X, fname, "X", level)
  if y == nil then util.fail(fname, "y is missing", level) end
  if impl.is_classifier(est) or labels.is_text(y) then
    y = labels.check(y, fname, "y", level)
    if #y ~= X:rows() then
      util.fail(fname, string.format("X has %d rows, y has %d labels", X:rows(), #y), level)
    end
  else
    y = util.as_matrix(y, fname, "y", level)
    if y:rows() ~= X:rows() then
      util.fail(fname, string.format("X has %d rows (samples), y has %d", X:rows(), y:rows()), level)
    end
  end
  return X, y
end

-- The folds: cv = a number of folds (stratified for a classifier or text
-- labels), a splitter, or an array of {train =, test =} index arrays.
local function folds_for(cv, X, y, fname, level)
  level = level + 1
  if cv == nil then cv = 5 end
  if type(cv) == "number" then
    local k = util.check_number(cv, fname, "cv", {integer = true, min = 2, max = util.MAX_DIM}, level)
    local stratify = not core.is_matrix(y)
    cv = (stratify and ms.StratifiedKFold or ms.KFold){n_splits = k}
  end
  local mt = getmetatable(cv)
  if mt == KFold or mt == StratifiedKFold then return util.relabel(fname, level, cv.split, cv, X, y) end
  util.check_table(cv, fname, "cv (a number of folds, a splitter or an array of folds)", level)
  if #cv == 0 then util.fail(fname, "cv is an empty array of folds", level) end
  for f, fold in ipairs(cv) do
    if type(fold) ~= "table" or type(fold.train) ~= "table" or type(fold.test) ~= "table" then
      util.fail(fname, string.format("cv[%d] must be a fold {train = rows, test = rows}", f), level)
    end
    for _, part in ipairs{"train", "test"} do
      if #fold[part] == 0 then util.fail(fname, string.format("cv[%d].%s is empty", f, part), level) end
      for t, i in ipairs(fold[part]) do
        if math.type(i) ~= "integer" or i < 1 or i > X:rows() then
          util.fail(fname, string.format("cv[%d].%s[%d] must be a row index in [1, %d], got %s", f, part, t,
            X:rows(), util.describe(i)), level)
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
  if not dir or dir == "" then error("cannot create a temporary directory", 0) end
  return dir
end

-- Scores of every (parameter set, fold) pair in worker processes:
-- result[s][f] for param_sets[s] and folds[f].
local function run_parallel(kind, param_sets, X, y, folds, scoring, fit_options, jobs, fname, level)
  if type(scoring) == "function" then
    util.fail(fname, "a scoring function cannot travel to worker processes: give its name (one of "
      .. table.concat(impl.SCORER_NAMES, ", ") .. ") or jobs = 1", level + 1)
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
  if not ok then
    util.fail(fname, api.strip(res), level + 1)
  end
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
local function check_cv_options(est, X, y, opts, allowed, fname, level)
  level = level + 1
  local kind = impl.kind_of(est)
  if not kind then
    util.fail(fname, "est must be an idl.IDLModel, idl.IDLClassifier or idl.LinearRegression, got "
      .. util.describe(est), level)
  end
  opts = util.check_options(opts, allowed, fname, "options", level)
  X, y = check_data(est, X, y, fname, level)
  local o = {kind = kind, X = X, y = y}
  o.scoring = impl.check_scoring(opts.scoring, fname, level)
  o.jobs = opts.jobs == nil and 1 or
    util.check_number(opts.jobs, fname, "jobs", {integer = true, min = 1}, level)
  local fit_options = {verbose = false}
  local given = opts.fit_options and util.check_table(opts.fit_options, fname, "fit_options", level)
  for k, v in pairs(given or {}) do
    fit_options[k] = v
  end
  if kind.name == "LinearRegression" then fit_options = nil end
  o.fit_options = fit_options
  o.folds = folds_for(opts.cv, X, y, fname, level)
  return o, opts
end

local function run(o, param_sets, fname, level)
  if o.jobs >= 2 then
    return run_parallel(o.kind, param_sets, o.X, o.y, o.folds, o.scoring, o.fit_options, o.jobs, fname,
      level + 1)
  end
  return util.relabel(fname, level + 1, run_here, o.kind, param_sets, o.X, o.y, o.folds, o.scoring,
    o.fit_options)
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
function ms.cross_val_score(est, X, y, opts)
  local fname = "cross_val_score"
  local o = check_cv_options(est, X, y, opts, CV_OPTIONS, fname, 2)
  return run(o, {est:get_params()}, fname, 2)[1]
end

local function mean_std(v)
  local sum = 0
  for _, x in ipairs(v) do sum = sum + x end
  local mean, sq = sum / #v, 0
  for _, x in ipairs(v) do sq = sq + (x - mean) ^ 2 end
  return mean, math.sqrt(sq / #v)
end

-- The parameter sets of a grid {name = {values...}}: the cartesian product in
-- sorted name order, the last name varying fastest, each merged into `base`.
local function expand_grid(grid, base, fname, level)
  util.check_table(grid, fname, "grid", level + 1)
  local names = {}
  for k, values in pairs(grid) do
    if type(k) ~= "string" then util.fail(fname, "grid keys must be parameter names", level + 1) end
    if type(values) ~= "table" or core.is_matrix(values) or #values == 0 then
      util.fail(fname, string.format("grid.%s must be a non-empty array of values", k), level + 1)
    end
    names[#names + 1] = k
  end
  if #names == 0 then util.fail(fname, "grid is empty", level + 1) end
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
function ms.grid_search(est, grid, X, y, opts)
  local fname = "grid_search"
  local o, raw = check_cv_options(est, X, y, opts, GRID_OPTIONS, fname, 2)
  local refit = raw.refit == nil and true or util.check_boolean(raw.refit, fname, "refit")
  local sets, values = expand_grid(grid, est:get_params(), fname, 2)
  for _, params in ipairs(sets) do util.relabel(fname, 2, o.kind.new, params) end
  local scores = run(o, sets, fname, 2)
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
end

-- ---------------------------------------------------------------------------
-- Permutation importance

local IMPORTANCE_OPTIONS = {n_repeats = true, rng = true, scoring = true}

--- ms.permutation_importance(est, X, y [, {n_repeats = 5, rng = idl.rng(0), scoring = nil}])
-- -> {mean = {...}, std = {...}, importances = {{...}, ...}, baseline = score}:
-- for each feature j (column of X) and repeat r, importances[j][r] = baseline -
-- the score of the FITTED est on X with column j permuted (rng:permutation(m),
-- drawn feature by feature, repeat by repeat); mean and std over the repeats.
-- scoring as for cross_val_score (default est:score). X is not modified.
function ms.permutation_importance(est, X, y, opts)
  local fname = "permutation_importance"
  if not impl.kind_of(est) then
    util.fail(fname, "est must be a fitted idl.IDLModel, idl.IDLClassifier or idl.LinearRegression, got "
      .. util.describe(est))
  end
  opts = util.check_options(opts, IMPORTANCE_OPTIONS, fname, "options")
  local repeats = opts.n_repeats == nil and 5 or
    util.check_count(opts.n_repeats, fname, "n_repeats", 1)
  local rng = opts.rng == nil and core.rng(0) or util.check_rng(opts.rng, fname, "rng")
  local scoring = impl.check_scoring(opts.scoring, fname, 2)
  X, y = check_data(est, X, y, fname, 2)
  local baseline = util.relabel(fname, 2, impl.score_with, scoring, est, X, y)
  local m = X:rows()
  local result = {mean = {}, std = {}, importances = {}, baseline = baseline}
  for j = 1, X:cols() do
    local drops = {}
    for r = 1, repeats do
      local perm = rng:permutation(m)
      local Xp = X:copy()
      for i = 1, m do Xp:set(i, j, X:get(perm[i], j)) end
      drops[r] = baseline - util.relabel(fname, 2, impl.score_with, scoring, est, Xp, y)
    end
    result.importances[j] = drops
    result.mean[j], result.std[j] = mean_std(drops)
  end
  return result
end

return ms
