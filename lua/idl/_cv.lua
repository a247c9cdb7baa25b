--- Private pieces of idl.model_selection shared with its worker script
-- (lua/idl/_cv_worker.lua): the estimator kinds, the scorers, one fold's fit
-- and score, and the worker's job.
-- @module idl._cv

local core = require "idl.core"
local api = require "idl._api"
local labels = require "idl._labels"
local data = require "idl.data"
local metrics = require "idl.metrics"
local estimator = require "idl.estimator"
local classifier = require "idl.classifier"
local linear = require "idl.linear"

local cv = {}

-- The estimators that clone and the workers know, by name and class.
cv.KINDS = {
  {name = "IDLClassifier", class = classifier.class, new = classifier.IDLClassifier},
  {name = "IDLModel", class = estimator.IDLModel.class, new = estimator.IDLModel},
  {name = "LinearRegression", class = linear.class, new = linear.LinearRegression},
}

function cv.kind_of(est)
  local mt = getmetatable(est)
  for _, kind in ipairs(cv.KINDS) do
    if mt == kind.class then return kind end
  end
end

function cv.kind_named(name)
  for _, kind in ipairs(cv.KINDS) do
    if kind.name == name then return kind end
  end
end

function cv.is_classifier(est)
  return getmetatable(est) == classifier.class
end


-- name -> function(est, X, y) returning a score, higher is better.
cv.SCORERS = {
  r2 = function(est, X, y) return metrics.r2(y, est:predict(X)) end,
  neg_mse = function(est, X, y) return -metrics.mse(y, est:predict(X)) end,
  neg_rmse = function(est, X, y) return -metrics.rmse(y, est:predict(X)) end,
  neg_mae = function(est, X, y) return -metrics.mae(y, est:predict(X)) end,
  accuracy = function(est, X, y) return metrics.accuracy(y, est:predict(X)) end,
  f1_macro = function(est, X, y) return (metrics.f1(y, est:predict(X))) end,
  precision_macro = function(est, X, y) return (metrics.precision(y, est:predict(X))) end,
  recall_macro = function(est, X, y) return (metrics.recall(y, est:predict(X))) end,
  neg_log_loss = function(est, X, y)
    if not est.predict_proba then api.fail("neg_log_loss needs a classifier (predict_proba)") end
    return -metrics.log_loss(y, est:predict_proba(X), est.classes)
  end,
}
cv.SCORER_NAMES = {}
for name in pairs(cv.SCORERS) do cv.SCORER_NAMES[#cv.SCORER_NAMES + 1] = name end
table.sort(cv.SCORER_NAMES)

-- The scorer: est:score (nil), a name of SCORERS, or a function(est, X, y).
function cv.check_scoring(scoring)
  if scoring == nil or type(scoring) == "function" then return scoring end
  return api.check(scoring, {"choice", choices = cv.SCORER_NAMES}, "scoring")
end

function cv.score_with(scoring, est, X, y)
  if scoring == nil then return est:score(X, y) end
  if type(scoring) == "function" then return scoring(est, X, y) end
  return cv.SCORERS[scoring](est, X, y)
end


-- Rows idx of a matrix, or entries idx of a Lua array of labels.
function cv.take(v, idx)
  if core.is_matrix(v) then return data.select_rows(v, idx) end
  return labels.select(v, idx)
end

-- Fits a clone with `params` on the train rows of one fold and scores it on the test rows.
function cv.fit_and_score(kind, params, X, y, fold, scoring, fit_options)
  local est = kind.new(params)
  est:fit(cv.take(X, fold.train), cv.take(y, fold.train), fit_options)
  return cv.score_with(scoring, est, cv.take(X, fold.test), cv.take(y, fold.test))
end


function cv.to_rows(v)
  if core.is_matrix(v) then return v:totable() end
  return v
end

local function from_rows(v)
  if type(v[1]) == "table" then return core.from_table(v) end
  return v
end

-- Parameters as JSON carries them: matrices become tables of rows and come back as such.
local function decode_params(params)
  local theta = params.initialization_theta
  if type(theta) == "table" then
    for k, v in pairs(theta) do theta[k] = core.from_table(v) end
  end
  return params
end

-- The worker's side of a parallel run (lua/idl/_cv_worker.lua serves it
-- through idl.parallel): the score of one job.
function cv.run_job(job)
  local json = require "idl.json"
  local shared = assert(json.read(job.data))
  local kind = assert(cv.kind_named(shared.kind), "unknown estimator kind")
  local X, y = core.from_table(shared.X), from_rows(shared.y)
  local fold = shared.folds[job.fold]
  return {score = cv.fit_and_score(kind, decode_params(job.params), X, y, fold, shared.scoring,
                                shared.fit_options)}
end

return cv
