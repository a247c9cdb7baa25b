--- idl.IDLModel: the estimator, with the report's names.
--
--     local est = idl.IDLModel{}                  -- the defaults below
--     est:fit(X, y)
--     local report = idl.IDLModel{preset = "report", hidden_variables = 50}
--     report:fit(X, y, {rounds_number = 100, eval_set = {X_test, y_test}})
--     local y_hat = est:predict(X_test)            -- m x p
--     print(est:score(X_test, y_test))             -- R^2
--
-- Rows are samples: X is m x n and y a vector (a flat Lua table or an m x 1
-- matrix) or m x p; matrices or Lua tables are accepted, and transposed once
-- at this boundary (the engine works with columns as samples). Nothing passed
-- in is modified.
--
-- Parameters (constructor, get_params/set_params): declared once in
-- idl.estimator.schema (name, default, check, doc line; idl.params), whose
-- table estimator.docs() renders. The defaults, chosen by cross-validation
-- (experiments/cv_defaults.lua; README, Choosing a trainer): the "implicit"
-- trainer, hidden_variables = "auto" (min(300, max(30, floor(m / 10))) for
-- m training samples, schema.auto_hidden), initialization = "linear"
-- (training starts at the least-squares linear model, which early stopping
-- can keep), and the implicit trainer's own (learning rate 1e-2, at most 200
-- epochs, patience 20 on a 20% hold-out, 10% from 1,000 samples on).
-- preset = "report" gives the report's settings instead (two_loops,
-- hidden_variables = 1, dual_learning_rate = tol_fenchel = 0.1, inner_tol =
-- 1e-3, picard_ls, centre_inputs = false: the report trained in raw input
-- coordinates; each entry declares its preset value); a value given
-- explicitly always wins. The report's names: hidden_variables,
-- dual_learning_rate, tol_fenchel, inner_tol, starting_lambda,
-- initialization_theta, random_state = 0, early_stopping = true, verbosity =
-- true; and the choices the report fixed internally: constraint,
-- initialization, inner_max_iter, patience, loss, tol, monitor_*,
-- raise_on_nonconvergence, centre_inputs. patience, monitor_train_every and
-- initialization_options are per-trainer: left unset, fit uses the trainer's
-- declared default (idl.trainers.register's fit_defaults: 20 rounds of
-- patience for "implicit", 40 for "hybrid", 10 otherwise; the true train loss
-- every 10th round for "implicit", every round otherwise); a value given,
-- even 1, is used.
--
-- After fit: est.model (an idl.model, columns-as-samples API), est.history
-- (one entry per round, see idl.trainers.measure; entry 1 is the
-- initialization), est.best_round, est.stop_reason (and est.stop_message after a
-- fault or an interrupt, or when the round cap stopped a fit that was still
-- improving: stop_reason "rounds_number_still_improving"), est.timing, est.state
-- (the trainer state, without its workspaces).
-- Another trainer is available to fit once registered in idl.trainers
-- (trainers.register(name, fn)): type_of_training = name.
-- @module idl.estimator

local core = require "idl.core"
local util = require "idl._util"
local api = require "idl._api"
local schema = require "idl.estimator.schema"
local model_mod = require "idl.model"
local losses = require "idl.losses"
local trainers = require "idl.trainers"
local initializers = require "idl.initializers"
local metrics = require "idl.metrics"
local progress = require "idl.progress"
local json = require "idl.json"
local mpi = require "idl.mpi"
local distributed = require "idl.distributed"

local estimator = {}

local IDLModel = {}
IDLModel.__index = IDLModel

-- est:method(...) as a public function (an idl.IDLClassifier is an estimator too).
local function method(name, f) return api.method(IDLModel, name, f) end

local SCHEMA, FIT_SCHEMA = schema.parameters, schema.fit_options
estimator.SCHEMA, estimator.FIT_SCHEMA = SCHEMA, FIT_SCHEMA
estimator.PARAM_NAMES = SCHEMA.names
estimator.docs, estimator.fit_docs = schema.docs, schema.fit_docs

--- idl.IDLModel{...} -> an unfitted estimator (parameters above; an unknown
-- name or a bad value raises "idl.IDLModel: ..." naming it). The first argument is
-- the IDLModel table itself (this is its __call). Parameters left out hold
-- their default; the per-trainer ones (patience, initialization_options) stay
-- unset (nil) so that fit uses the trainer's declared default.
-- Writes the checked values `given` into params, over the values of the
-- preset it names (preset = "report": the entries' declared preset values),
-- so that a value given explicitly always wins over the preset's.
local function assign(params, given)
  if given.preset ~= nil then
    for k, v in pairs(SCHEMA:preset(given.preset)) do params[k] = v end
  end
  for k, v in pairs(given) do params[k] = v end
end

local construct = api.public("idl.IDLModel", function(_, given)
  local self = setmetatable({params = SCHEMA:defaults()}, IDLModel)
  assign(self.params, SCHEMA:check_table(given, "parameters"))
  return self
end)

--- est:get_params() -> a copy of the parameters (matrices copied); an unset
-- per-trainer parameter is nil.
IDLModel.get_params = method("idl.IDLModel:get_params", function(self)
  return util.copy_matrices(self.params)
end)

--- est:set_params{name = value, ...} -> est. Checks names and values like the
-- constructor (preset = name sets that preset's values, except those given
-- with it); the fitted model (if any) is kept until the next fit.
IDLModel.set_params = method("idl.IDLModel:set_params", function(self, given)
  assign(self.params, SCHEMA:check_table(given, "parameters"))
  return self
end)

-- ---------------------------------------------------------------------------
-- Input checks

-- X (m x n, rows are samples) as a matrix, checked; `what` names it.
local function check_x(X, what)
  if X == nil then api.fail(what .. " is missing") end
  local M = api.check(X, "matrix_like", what)
  if M:rows() == 0 or M:cols() == 0 then
    api.fail(string.format("%s is empty (%dx%d)", what, M:rows(), M:cols()))
  end
  return M
end

-- y (m x p or a vector) against X's m rows.
local function check_y(y, m, what, xwhat)
  if y == nil then api.fail(what .. " is missing") end
  local M = api.check(y, "matrix_like", what)
  if M:rows() == 0 or M:cols() == 0 then
    api.fail(string.format("%s is empty (%dx%d)", what, M:rows(), M:cols()))
  end
  if M:rows() ~= m then
    api.fail(string.format("%s has %d rows (samples), %s has %d: one target row per sample",
      xwhat, m, what, M:rows()))
  end
  return M
end

-- The parameters a resumed run must share with the run that wrote the
-- checkpoint (the others do not change the numbers), as declared (resume = true).
local RESUME_PARAMS = SCHEMA:flagged("resume")

-- The checkpoint named by fit's resume option: the model file and the fit
-- record the estimator wrote into it.
local function read_checkpoint(path)
  local ck, problem = model_mod.read(path)
  if not ck then api.fail("resume: " .. problem) end
  local record = ck.meta["checkpoint.fit"]
  local saved = type(record) == "string" and json.decode(record)
  if type(saved) ~= "table" or type(saved.type_of_training) ~= "string" then
    api.fail("resume: '" .. path .. "' is not a checkpoint of fit (written with checkpoint_path)")
  end
  return ck, saved
end

-- distributed = true: MPI must be built in; in a job of several ranks only
-- the implicit trainer is data-parallel, and resuming is not (yet) supported.
local function check_distributed(o)
  if not mpi.available() then
    api.fail("distributed = true needs idl.mpi, and this idl was built without MPI")
  end
  o.ranks = mpi.size()
  if o.ranks == 1 then return end
  if o.type_of_training ~= "implicit" then
    api.fail("distributed = true trains with type_of_training 'implicit' only, not '"
      .. o.type_of_training .. "'")
  end
  if o.resume ~= nil then api.fail("distributed = true cannot resume a checkpoint yet") end
  -- one progress line for the job
  if mpi.rank() ~= 0 then o.verbose = false end
end

-- A resumed run keeps the per-trainer defaults its checkpoint was written
-- with (recorded in its params), even if the trainer's declared ones changed
-- since: a copy of fit_defaults with those values.
local PER_TRAINER_PARAMS = SCHEMA:flagged("per_trainer")
local function resumed_defaults(fit_defaults, saved_params)
  local out = {}
  for k, v in pairs(fit_defaults or {}) do out[k] = v end
  for _, k in ipairs(PER_TRAINER_PARAMS) do
    if saved_params[k] ~= nil then out[k] = saved_params[k] end
  end
  return out
end

local function check_fit_options(self, opts)
  local o = FIT_SCHEMA:check_table(opts, "options")
  if o.verbose == nil then o.verbose = self.params.verbosity end
  if o.resume ~= nil then o.checkpoint, o.saved = read_checkpoint(o.resume) end
  local saved = o.saved or {}
  if o.saved and o.type_of_training ~= nil and o.type_of_training ~= saved.type_of_training then
    api.fail(string.format("resume: the checkpoint was written by type_of_training '%s', not '%s'",
      saved.type_of_training, o.type_of_training))
  end
  local preset = self.params.preset and FIT_SCHEMA:preset(self.params.preset) or {}
  o.type_of_training = o.type_of_training or saved.type_of_training or preset.type_of_training or "implicit"
  o.type_of_training = FIT_SCHEMA:check("type_of_training", o.type_of_training)
  o.fit_defaults = trainers.registry[o.type_of_training].fit_defaults
  SCHEMA:check_overrides(o.fit_defaults, "the fit_defaults of trainer '" .. o.type_of_training .. "'")
  if type(saved.params) == "table" then o.fit_defaults = resumed_defaults(o.fit_defaults, saved.params) end
  o.rounds_number = o.rounds_number or saved.rounds_number or o.fit_defaults.rounds_number
    or FIT_SCHEMA:info("rounds_number").default
  if o.trainer_options == nil then o.trainer_options = saved.trainer_options end
  o.checkpoint_every = o.checkpoint_every or 0
  if o.checkpoint_every > 0 and o.checkpoint_path == nil then
    api.fail("checkpoint_every needs checkpoint_path (the file to write)")
  end
  if o.distributed then check_distributed(o) end
  return o
end

-- ---------------------------------------------------------------------------
-- Fit

-- Splits the columns of (U, Y) at random (seeded): the last `fraction` of a
-- permutation becomes the early-stopping set, kept out of training.
local function hold_out(U, Y, fraction, seed)
  local m = U:cols()
  local k = math.floor(m * fraction + 0.5)
  if k < 1 or k >= m then return U, Y, nil end
  local perm = core.rng(seed):permutation(m)
  local train_idx, eval_idx = table.move(perm, 1, m - k, 1, {}), table.move(perm, m - k + 1, m, 1, {})
  return U:select_cols(train_idx), Y:select_cols(train_idx),
    {U = U:select_cols(eval_idx), Y = Y:select_cols(eval_idx)}
end

-- A trainer's declared holdout (idl.trainers.register) for m training
-- samples: a fraction, or steps {{m1, f1}, {m2, f2}, ...} (the last with mi <= m).
local function holdout_fraction(holdout, m)
  if type(holdout) == "number" then return holdout end
  local fraction = 0
  for _, step in ipairs(holdout) do
    if m >= step[1] then fraction = step[2] end
  end
  return fraction
end

-- The machine's memory in bytes (MemTotal of /proc/meminfo), or nil when unknown.
local function machine_memory()
  local f = io.open("/proc/meminfo")
  if not f then return nil end
  local text = f:read("a") or ""
  f:close()
  local kb = text:match("MemTotal:%s*(%d+)%s*kB")
  return kb and tonumber(kb) * 1024
end

-- Refuses, before any allocation, a hidden_variables whose matrices cannot fit
-- in memory: D (h x h), E (h x n) and the hidden states of the m samples
-- (h x m), which training holds a few times over (X, its equilibrium, steps).
local function check_size(h, n, m)
  local hf = h + 0.0 -- in floating point: h * h overflows the integers for h > 3e9
  local bytes = 8 * (hf * hf + hf * n + 4 * hf * m)
  local ram = machine_memory()
  if ram and bytes > ram then
    api.failf("hidden_variables = %d needs at least %.3g GB (D is h x h, the hidden states h x %d "
      .. "samples), the machine has %.3g GB", h, bytes / 1e9, m, ram / 1e9)
  end
end

local function starting_lambda(params, h)
  local v = params.starting_lambda
  if v == nil then return core.full(h, 1, params.tol_fenchel) end
  if type(v) == "number" then return core.full(h, 1, v) end
  if v:rows() ~= h or v:cols() ~= 1 then
    api.fail(string.format("starting_lambda is %dx%d, expected %dx1 (hidden_variables = %d)",
      v:rows(), v:cols(), h, h))
  end
  return v:copy()
end

-- The meta fields of fit's checkpoints: what est:save writes, and the fit
-- record (trainer, planned rounds, trainer_options, parameters) that resume
-- reads back.
local function checkpoint_meta(p, o)
  local meta, record_params = {estimator = "IDLModel"}, {}
  for k, v in pairs(p) do
    local t = type(v)
    if t == "number" or t == "string" or t == "boolean" then
      meta["param." .. k] = v
      record_params[k] = v
    end
  end
  local record = {type_of_training = o.type_of_training, rounds_number = o.rounds_number,
    params = record_params}
  if o.trainer_options ~= nil and pcall(json.encode, o.trainer_options) then
    record.trainer_options = o.trainer_options
  end
  meta["checkpoint.fit"] = json.encode(record)
  return meta
end

-- The trainer state of fit's resume option, checked against this estimator.
local function resume_state(p, o, data)
  local ck, saved = o.checkpoint, o.saved
  for _, k in ipairs(RESUME_PARAMS) do
    local was = type(saved.params) == "table" and saved.params[k]
    if was ~= nil and was ~= p[k] then
      api.fail(string.format("resume: the checkpoint was written with %s = %s, this estimator has %s",
        k, tostring(was), tostring(p[k])))
    end
  end
  if ck.h ~= p.hidden_variables or ck.constraint.kind ~= p.constraint.kind
    or ck.constraint.kappa ~= p.constraint.kappa then
    api.fail(string.format("resume: the checkpoint holds a model with h = %d, constraint %s %g; "
      .. "this estimator has hidden_variables = %d, constraint %s %g", ck.h, ck.constraint.kind,
      ck.constraint.kappa, p.hidden_variables, p.constraint.kind, p.constraint.kappa))
  end
  -- trainers.resume raises; its message is put under "resume: " (until it
  -- reports nil and a message, as model.read does)
  local ok, s = pcall(trainers.resume, ck, data)
  if not ok then api.fail("resume: " .. api.strip(s)) end
  return s
end

--- est:fit(X, y [, {rounds_number = 100, verbose = verbosity, type_of_training =
-- "implicit" (the preset's: "two_loops" for "report"), eval_set = {X_eval,
-- y_eval}, callbacks = fn or {fn, ...}, trainer_options = {...}, checkpoint_path = nil, checkpoint_every = 0,
-- resume = nil, on_step = nil}]) -> est. trainer_options is handed to the round
-- as config.trainer_options (for trainers with settings of their own);
-- on_step(s) is called after every X step of the relaxed trainers (a
-- per-step trace: idl.experiment.trace_steps). A
-- trainer may register defaults (idl.trainers.register's fit_defaults): the
-- "implicit" trainer runs up to 200 rounds (epochs) and, with early_stopping and
-- no eval_set, holds out 20% of the training data (10% from 1,000 samples on;
-- seeded by random_state) to stop on and to restore the best model from.
-- Initializes (params.initialization, or params.initialization_theta), then
-- runs the trainer (idl.trainers). Callbacks are called after each round with
-- (state, history_entry); one returning true stops training.
--
-- Faults: a NaN or Inf loss or parameter stops training; the model keeps the
-- parameters of the last good round (or the best, with early stopping), fit
-- returns normally with est.stop_reason = "non-finite" and est.stop_message
-- (also written to stderr as a warning: "fit: training stopped at round 12:
-- the training loss is NaN; the model keeps the parameters of round 11").
-- Returning, not raising, keeps the trained model for the script to save.
--
-- Long runs: checkpoint_path = path writes the model and the trainer state
-- (idl.trainers.checkpoint, atomically) when the run ends, on Ctrl-C, and,
-- with checkpoint_every = k, every k rounds. resume = path continues the run
-- saved there: the same data (checked), the same parameters (checked), and
-- type_of_training, trainer_options and rounds_number from the checkpoint
-- unless given; rounds_number counts from the start of the run, so a resumed
-- fit runs the rounds that remain, and gives the same model, bit for bit, as
-- the run that was never stopped.
-- Data-parallel: under `mpirun -np N`, distributed = true lets each rank pass
-- its own shard (the implicit trainer): the standardization statistics, every
-- step's gradients (one fused allreduce) and the losses behind early stopping
-- and the learning-rate schedule are reduced over the ranks, which start from
-- rank 0's initialization and so hold bit-identical parameters throughout;
-- each rank holds out its own share for early stopping; rank 0 alone prints
-- progress and writes checkpoints (resume is not supported yet). In a job of
-- one rank the option changes nothing.
-- Ctrl-C (SIGINT) during training stops it after the current round; fit
-- returns normally with est.stop_reason = "interrupted" (the best model with
-- early stopping, else the last), after writing a checkpoint when
-- checkpoint_path is set. A second Ctrl-C aborts as usual.
IDLModel.fit = method("idl.IDLModel:fit", function(self, X, y, opts)
  local fname = "idl.IDLModel:fit"
  local o = check_fit_options(self, opts)
  -- the values this fit uses: the parameters set, else the trainer's declared
  -- defaults (fit_defaults), else the schema's
  local p = SCHEMA:resolve(self.params, o.fit_defaults)
  local Xm = check_x(X, "X")
  if p.hidden_variables == "auto" then p.hidden_variables = schema.auto_hidden(Xm:rows()) end
  local ym = check_y(y, Xm:rows(), "y", "X")
  local eval
  if o.eval_set ~= nil then
    local es = o.eval_set
    local Xe = check_x(es[1], "eval_set[1]")
    if Xe:cols() ~= Xm:cols() then
      api.fail(string.format("eval_set[1] has %d columns (features), X has %d", Xe:cols(), Xm:cols()))
    end
    local ye = check_y(es[2], Xe:rows(), "eval_set[2]", "eval_set[1]")
    if ye:cols() ~= ym:cols() then
      api.fail(string.format("eval_set[2] has %d columns (outputs), y has %d", ye:cols(), ym:cols()))
    end
    eval = {U = Xe:t(), Y = ye:t()}
  end
  local registered = trainers.registry[o.type_of_training]
  if registered.relaxed and not losses.get(p.loss).relaxed then
    api.fail(string.format("type_of_training '%s' trains the relaxed problem, which needs the "
      .. "squared loss; the model's loss is '%s'", o.type_of_training, p.loss))
  end

  check_size(p.hidden_variables, Xm:cols(), Xm:rows() + (eval and eval.U:cols() or 0))
  local U, Y = Xm:t(), ym:t()
  local parallel = o.distributed and o.ranks > 1
  if eval == nil and p.early_stopping and o.fit_defaults.holdout then
    -- data-parallel: each rank holds out the same fraction of its shard, the
    -- fraction of the total sample count
    local m = parallel and distributed.sum{U:cols()}[1] or U:cols()
    U, Y, eval = hold_out(U, Y, holdout_fraction(o.fit_defaults.holdout, m), p.random_state)
  end
  local s
  if o.checkpoint then
    s = resume_state(p, o, {U = U, Y = Y, eval = eval})
  else
    local h = p.hidden_variables
    local lambda = starting_lambda(p, h)
    local constraint = p.constraint
    local rng = core.rng(p.random_state)
    local problem = {U = U, Y = Y, h = h, constraint = constraint, lambda = lambda}
    local theta, X0
    if p.initialization_theta then
      theta, X0 = initializers.user(problem, rng, {theta = p.initialization_theta})
    else
      theta, X0 = initializers.registry[p.initialization](problem, rng, p.initialization_options)
    end
    -- data-parallel: every rank starts from rank 0's initialization
    if parallel then
      local blocks = {}
      for i, k in ipairs(model_mod.THETA_NAMES) do blocks[i] = theta[k] end
      mpi.bcast(blocks, 0)
    end
    local m = model_mod.new{theta = theta, lambda = lambda, constraint = constraint, loss = p.loss}
    s = trainers.new_state{model = m, U = U, Y = Y, X = X0, eval = eval}
  end
  local bar = progress.new{total = o.rounds_number, label = o.type_of_training, enabled = o.verbose,
    fields = {"G", "relaxed_l2", "train_l2", "eval_l2", "residual"}}
  trainers.run(o.type_of_training, s, {
    rounds_number = math.max(o.rounds_number - s.round, 0), dual_learning_rate = p.dual_learning_rate,
    tol_fenchel = p.tol_fenchel, inner_tol = p.inner_tol, inner_max_iter = p.inner_max_iter,
    early_stopping = p.early_stopping, patience = p.patience, monitor_tol = p.monitor_tol,
    monitor_train_every = p.monitor_train_every, raise_on_nonconvergence = p.raise_on_nonconvergence,
    centre_inputs = p.centre_inputs,
    callbacks = o.callbacks, on_step = o.on_step, progress = bar, trainer_options = o.trainer_options,
    checkpoint_path = o.checkpoint_path, checkpoint_every = o.checkpoint_every,
    checkpoint_meta = o.checkpoint_path and checkpoint_meta(p, o), caller = fname,
    distributed = parallel or nil,
  })
  bar:finish(string.format("%s: %d rounds, stopped by %s%s", o.type_of_training, s.round, s.stop_reason,
    s.restored_round and (", best round " .. s.restored_round .. " restored") or ""))
  if s.stop_reason == "interrupted" or (o.verbose and s.stop_reason == "rounds_number_still_improving") then
    io.stderr:write(fname, ": ", s.stop_message, "\n")
  end
  self.model = s.model
  self.history = s.history
  self.best_round = s.best and s.best.round
  self.stop_reason = s.stop_reason
  self.stop_message = s.stop_message
  self.timing = s.timing
  self.n_features = Xm:cols()
  self.n_outputs = ym:cols()
  -- the trainer state stays available (s.X, s.x_eq, ...) without its h x m
  -- workspaces, which the relaxed steps rebuild on demand
  s.ws, s.x_eq_prev, s.x_eq_eval_prev = {}, nil, nil
  if s.best then s.best.X = nil end
  self.state = s
  return self
end)

-- ---------------------------------------------------------------------------
-- Predict

local PREDICT_OPTIONS = {k_iterations = true, tol = true, method = true}

--- est:predict(X [, {k_iterations = 10000, tol = params.tol, method = "picard"}])
-- -> y_hat (m x p): the equilibrium of each sample (at most k_iterations
-- iterations), then A x + B u + c. est.predict_info holds the solver's record
-- (a prediction whose equilibrium did not converge says so there).
IDLModel.predict = method("idl.IDLModel:predict", function(self, X, opts)
  if not self.model then api.fail("the model is not fitted: call fit(X, y) first") end
  opts = api.options(opts, PREDICT_OPTIONS, "options")
  local k = opts.k_iterations == nil and 10000 or
    api.check(opts.k_iterations, {"number", integer = true, min = 0}, "k_iterations")
  local tol = opts.tol == nil and self.params.tol or api.check(opts.tol, {"number", min = 0}, "tol")
  local Xm = check_x(X, "X")
  if Xm:cols() ~= self.model.n then
    api.fail(string.format("X has %d columns (features), the model was fitted on %d",
      Xm:cols(), self.model.n))
  end
  local Yhat, info = self.model:predict_u(Xm:t(), {max_iter = k, tol = tol, method = opts.method})
  info.x = nil
  self.predict_info = info
  return Yhat:t()
end)

--- est:score(X, y) -> R^2 of the predictions (idl.metrics.r2, averaged over outputs).
IDLModel.score = method("idl.IDLModel:score", function(self, X, y)
  check_x(X, "X")
  local yhat = IDLModel.predict(self, X)
  local ym = check_y(y, yhat:rows(), "y", "X")
  if ym:cols() ~= yhat:cols() then
    api.fail(string.format("y has %d columns, the model has %d outputs", ym:cols(), yhat:cols()))
  end
  return metrics.r2(ym, yhat)
end)

local HISTORY_PLOT_OPTIONS = {title = true, logy = true}

--- est:plot_history(path [, {title = "training history", logy = true}]) -> the
-- image path (and all paths), or nil and a message (gnuplot missing): the
-- training loss and, with an eval set, the validation loss of est.history
-- against the round (round 0 = the initialization), drawn by idl.plot.lines
-- (.png or .svg by path's extension). Rounds whose loss was not measured, or
-- is not positive on the log scale, are left out.
IDLModel.plot_history = method("idl.IDLModel:plot_history", function(self, path, opts)
  api.check(path, "string", "path")
  opts = api.options(opts, HISTORY_PLOT_OPTIONS, "options")
  local logy = opts.logy == nil or api.check(opts.logy, "boolean", "logy")
  if not self.history then api.fail("the model is not fitted: call fit(X, y) first") end
  local series = {}
  for _, s in ipairs{{"train_l2", "train"}, {"eval_l2", "validation"}} do
    local x, y = {}, {}
    for _, e in ipairs(self.history) do
      local v = e[s[1]]
      if type(v) == "number" and v == v and v < math.huge and (v > 0 or not logy) then
        x[#x + 1], y[#y + 1] = e.round, v
      end
    end
    if #x > 0 then series[#series + 1] = {x = x, y = y, label = s[2], style = "linespoints"} end
  end
  if #series == 0 then return nil, "idl.IDLModel:plot_history: the history holds no loss to draw" end
  local image, paths = require("idl.plot").lines{path = path,
    title = opts.title or "training history", xlabel = "round (0 = initialization)",
    ylabel = "loss (" .. self.params.loss .. ")", logy = logy, series = series}
  return image, paths
end)

-- ---------------------------------------------------------------------------
-- Files

--- est:save(path) -> est: the fitted model (idl.model format) with the
-- estimator's scalar parameters in its meta fields ("param.<name>").
IDLModel.save = method("idl.IDLModel:save", function(self, path)
  if not self.model then api.fail("the model is not fitted: nothing to save") end
  local m = self.model:copy()
  m.meta["estimator"] = "IDLModel"
  for k, v in pairs(self.params) do
    local t = type(v)
    if t == "number" or t == "string" or t == "boolean" then m.meta["param." .. k] = v end
  end
  m:save(path)
  return self
end)

--- idl.IDLModel.load(path) / estimator.load(path) -> a fitted estimator
-- rebuilt from a file written by est:save (or any idl.model file).
estimator.load = api.public("idl.IDLModel.load", function(path)
  local m = model_mod.load(path)
  local params = {hidden_variables = m.h, constraint = m.constraint, loss = m.loss}
  for k, v in pairs(m.meta) do
    local name = type(k) == "string" and k:match("^param%.(.+)$")
    if name and SCHEMA.allowed[name] and params[name] == nil then params[name] = v end
  end
  local est = construct(nil, params)
  est.model = m
  est.n_features, est.n_outputs = m.n, m.p
  return est
end)

-- idl.IDLModel is callable (the constructor) and carries load and the class
-- (whose methods are fit, predict, score, ...).
estimator.IDLModel = setmetatable({load = estimator.load, class = IDLModel}, {__call = construct})

return estimator
