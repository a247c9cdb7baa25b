--- est:fit(source) and est:predict(source, {output = path}): the estimator
-- on a data source (idl.data.stream_csv) whose file is larger than memory.
--
-- fit reads the source once before training (CSVSource:stats{comoments,
-- sample}): the per-column means and scales, the centred normal equations of
-- the linear start, and a uniform random sample of rows drawn in the same
-- pass. The sample gives the hold-out for early stopping (the fraction the
-- trainer declares, 20% or 10% of the rows, but at most holdout_max_rows =
-- 10,000: held in memory, left out of every epoch; never the whole file) and
-- a sample of training rows (sample_rows = 2,000) on which the training loss
-- is measured. The statistics and the normal equations are those of the
-- training rows (the hold-out's part is taken out of the pass's moments
-- exactly). The "linear" initialization is solved from the streamed normal
-- equations (idl.initializers.linear_from_moments); any other initialization
-- (or initialization_theta) runs on the in-memory training sample. Then the
-- "implicit_stream" trainer runs: an epoch is one pass over the source's
-- batches (idl.train.implicit_stream: warm starts within warm_start_memory).
-- @module idl.estimator.stream_fit

local core = require "idl.core"
local api = require "idl._api"
local inputs = require "idl.estimator.inputs"
local schema = require "idl.estimator.schema"
local start = require "idl.estimator.start"
local registry = require "idl.train.registry"
local initializers = require "idl.initializers"
local implicit_stream = require "idl.train.implicit_stream"

local stream_fit = {}

-- Options of fit that a streamed fit cannot honour (yet), and why.
local function check_options(o, y, src)
  if y ~= nil then
    api.fail("y must be nil when X is a data source: the targets come from the source's target column")
  end
  if not src.target then
    api.fail("the source has no target column: give idl.data.stream_csv a target (name, index or \"last\")")
  end
  if o.type_of_training ~= "implicit" then
    api.fail("a data source trains with type_of_training 'implicit' only, not '" .. o.type_of_training .. "'")
  end
  for _, k in ipairs{"checkpoint_path", "resume", "distributed"} do
    if o[k] ~= nil and o[k] ~= false then api.fail(k .. " cannot be combined with a data source (yet)") end
  end
  if type(o.trainer_options) == "table" and o.trainer_options.batch_size ~= nil then
    api.fail("trainer_options.batch_size: a streamed fit takes one step per batch of the source "
      .. "(idl.data.stream_csv's batch_size)")
  end
end

-- The moments {rows, mean (1 x k), m2 (k x k)} of the rows of M (b x k).
local function moments_of(M)
  local b = M:rows()
  local mean = M:sum(1) / b
  local C = M - core.ones(b, 1) * mean
  return {rows = b, mean = mean, m2 = C:t() * C}
end

-- The moments of the pass without the rows of H (their exact removal: the
-- inverse of the pairwise merge that built them).
local function without(all, H)
  if H == nil then return all end
  local hb = moments_of(H)
  local n = all.rows - hb.rows
  local mean = (all.mean * all.rows - hb.mean * hb.rows) / n
  local d = hb.mean - mean
  return {rows = n, mean = mean, m2 = all.m2 - hb.m2 - d:t() * d * (n * hb.rows / all.rows)}
end

-- The standardization {u_mean, u_scale, y_mean, y_scale} (columns) of moments
-- mo over n features; targets left alone unless standardized.
local function scalers(mo, n, std_targets)
  local k = mo.mean:cols()
  local scale = core.zeros(k, 1)
  for j = 1, k do
    local sd = math.sqrt(mo.m2:get(j, j) / mo.rows)
    scale:set(j, 1, sd > 0 and sd or 1)
  end
  local mean = mo.mean:t()
  local sc = {u_mean = mean:sub(1, n, 1, 1):copy(), u_scale = scale:sub(1, n, 1, 1):copy()}
  if std_targets then
    sc.y_mean, sc.y_scale = mean:sub(n + 1, k, 1, 1):copy(), scale:sub(n + 1, k, 1, 1):copy()
  else
    sc.y_mean, sc.y_scale = core.zeros(k - n, 1), core.ones(k - n, 1)
  end
  return sc
end

-- Splits the pass's sample (seeded): the hold-out (k rows, their sorted
-- indices), the rest as the training sample.
local function split_sample(sample, k, seed)
  local m = #sample.rows
  local perm = core.rng(seed):permutation(m)
  local held, train = {}, {}
  for i = 1, m do
    if i <= k then held[#held + 1] = perm[i] else train[#train + 1] = perm[i] end
  end
  table.sort(held)
  table.sort(train)
  local X, y = sample.X:t(), sample.y:t()
  local out = {U = X:select_cols(train), Y = y:select_cols(train), held = {}}
  if k > 0 then
    out.eval = {U = X:select_cols(held), Y = y:select_cols(held)}
    for i, r in ipairs(held) do out.held[i] = sample.rows[r] end
  end
  return out
end

--- stream_fit.state(p, o, src, y) -> s, config: the trainer
-- state and the run's config fields (trainer, stream plan) of est:fit on the
-- source src, for the resolved parameters p and checked fit options o.
function stream_fit.state(p, o, src, y)
  check_options(o, y, src)
  local topts = registry.options_of(registry.get("implicit_stream"), o.trainer_options)
  local early = o.eval_set == nil and p.early_stopping and o.fit_defaults.holdout
  local cap = early and topts.holdout_max_rows or 0
  local st = src:stats{comoments = true, sample = cap + topts.sample_rows, seed = p.random_state}
  local n = st.x_mean:cols()
  if p.hidden_variables == "auto" then p.hidden_variables = schema.auto_hidden(st.rows) end
  local h = p.hidden_variables
  local k = 0
  if early then
    local f = inputs.holdout_fraction(o.fit_defaults.holdout, st.rows)
    k = math.min(math.floor(st.rows * f + 0.5), cap, #st.sample.rows - 1)
  end
  local parts = split_sample(st.sample, k, p.random_state)
  local eval = parts.eval
  if o.eval_set ~= nil then eval = inputs.eval_set(o.eval_set, parts.U:t(), parts.Y:t()) end
  local train = without({rows = st.rows, mean = st.x_mean:hcat(st.y_mean), m2 = st.comoments},
    k > 0 and parts.eval.U:t():hcat(parts.eval.Y:t()) or nil)
  local warm = implicit_stream.warm_rows(topts, h, train.rows)
  inputs.check_size(h, n, warm + parts.U:cols() + (eval and eval.U:cols() or 0))
  local theta
  if p.initialization == "linear" and not p.initialization_theta then
    theta = initializers.linear_from_moments({x_mean = train.mean:sub(1, 1, 1, n),
      x_scale = scalers(train, n, false).u_scale:t(), y_mean = train.mean:sub(1, 1, n + 1, n + 1),
      comoments = train.m2}, h, core.rng(p.random_state), p.initialization_options)
  end
  local s = start.state(p, parts.U, parts.Y, eval, false, theta)
  local std_targets = p.loss == "squared" and topts.standardize_targets
  local plan = {source = src, sc = scalers(train, n, std_targets), held = parts.held, warm_rows = warm,
    rows = st.rows}
  return s, {type_of_training = "implicit_stream", stream = plan}, n, 1
end

local PREDICT_OPTIONS = {output = true, k_iterations = true, tol = true, method = true}

--- stream_fit.predict(model, src, opts, solver) -> path, rows: the
-- predictions of every row of src (its target column, if any, is left out),
-- written to opts.output one batch at a time through one atomic writer
-- (idl._csv_writer): a header "prediction" (p = 1) or "prediction1", ...,
-- then a line per row. A malformed line of the source raises with its line
-- number, and nothing is written: the file at output keeps its old contents.
-- solver = {max_iter, tol, method} for model:predict_u; info (worst residual,
-- total iterations, converged) is returned third.
function stream_fit.predict(model, src, opts, solver)
  local path = api.check(opts.output, "string", "output (the CSV file to write the predictions to)")
  local names = {}
  for j = 1, model.p do names[j] = model.p == 1 and "prediction" or ("prediction" .. j) end
  if src.n_features ~= model.n then
    api.failf("the source has %d feature columns, the model was fitted on %d", src.n_features, model.n)
  end
  local w, err = core._csv_writer(path, names)
  if not w then api.fail(err) end
  local info = {iterations = 0, residual = 0, converged = true}
  local rows = 0
  local ok, problem = pcall(function()
    for X in src:batches() do
      local Yhat, i = model:predict_u(X:t(), solver)
      info.iterations = info.iterations + i.iterations
      info.residual = math.max(info.residual, i.residual)
      info.converged = info.converged and i.converged
      local written, why = w:write(Yhat:t())
      if not written then api.fail(why) end
      rows = rows + X:rows()
    end
  end)
  if not ok then
    w:abort()
    api.fail(api.strip(problem) .. "; nothing was written ('" .. path .. "' keeps its old contents)")
  end
  local done, why = w:commit()
  if not done then api.fail(why) end
  return path, rows, info
end
stream_fit.PREDICT_OPTIONS = PREDICT_OPTIONS

return stream_fit
