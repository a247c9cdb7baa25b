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
-- epochs, stopping when 15 epochs bring no 5% fall of the loss on a 20%
-- hold-out, 10% from 1,000 samples on), and ensemble_size = "auto": below
-- 2,000 training samples the model is the mean of three fits (see fit).
-- preset = "report" gives the report's settings instead (two_loops,
-- hidden_variables = 1, dual_learning_rate = tol_fenchel = 0.1, inner_tol =
-- 1e-3, picard_ls, centre_inputs = false: the report trained in raw input
-- coordinates; each entry declares its preset value); a value given
-- explicitly always wins. The report's names: hidden_variables,
-- dual_learning_rate, tol_fenchel, inner_tol, starting_lambda,
-- initialization_theta, random_state = 0, early_stopping = true, verbosity =
-- true; and the choices the report fixed internally: constraint,
-- initialization, inner_max_iter, patience, loss, tol, monitor_*,
-- raise_on_nonconvergence, centre_inputs. patience, min_improvement,
-- monitor_tol, monitor_train_every and initialization_options are
-- per-trainer: left unset, fit uses the trainer's declared default
-- (idl.trainers.register's fit_defaults: 15 rounds of patience for
-- "implicit", 40 for "hybrid", 10 otherwise; the true train loss every 20th
-- round for "implicit", every 10th for "two_loops", every round otherwise; "implicit":
-- min_improvement 0.05, monitor_tol 1e-3, monitor_precision "single"); a
-- value given, even the generic default, is used.
--
-- After fit: est.model (an idl.model, columns-as-samples API), est.members
-- (one record per model fitted), est.history
-- (one entry per round, see idl.trainers.measure; entry 1 is the
-- initialization), est.best_round, est.stop_reason (and est.stop_message after a
-- fault or an interrupt, or when the round cap stopped a fit that was still
-- improving: stop_reason "rounds_number_still_improving"), est.timing, est.state
-- (the trainer state, without its workspaces), est.refit_rounds (set when the
-- model was trained again on all the samples for that many rounds: the
-- trainer's refit_below, see fit).
-- Another trainer is available to fit once registered in idl.trainers
-- (trainers.register(name, fn)): type_of_training = name.
-- @module idl.estimator

local core = require "idl.core"
local util = require "idl._util"
local api = require "idl._api"
local schema = require "idl.estimator.schema"
local inputs = require "idl.estimator.inputs"
local fit_options = require "idl.estimator.options"
local resume = require "idl.estimator.resume"
local select_model = require "idl.estimator.select"
local start = require "idl.estimator.start"
local model_mod = require "idl.model"
local losses = require "idl.losses"
local trainers = require "idl.trainers"
local initializers = require "idl.initializers"
local metrics = require "idl.metrics"
local progress = require "idl.progress"
local distributed = require "idl.distributed"
local stream = require "idl.stream"
local stream_fit = require "idl.estimator.stream_fit"

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
-- Fit

-- Data-parallel: the early-stopping losses are reduced over the ranks, so
-- every rank needs an evaluation set, or none (all ranks raise alike).
local function evaluated_everywhere(eval, ranks, what)
  local with = distributed.sum{eval and 1 or 0}[1]
  if with ~= 0 and with ~= ranks then
    api.failf("distributed = true: %d of the %d ranks have %s; every rank needs one, or none", with, ranks,
      what)
  end
end

-- Whether the fit keeps its start: early stopping restored it (round 0), or
-- the trained round that won beat it on the hold-out by less than a standard
-- error (idl.estimator.select; refit = {U_all, Y_all, U, Y}, U, Y the part
-- trained on, from which the start is drawn again, as at round 0).
local function keeps_start(s, p, refit)
  if s.restored_round == 0 or not s.best or s.best.round == 0 then return true end
  local theta, _, lambda = start.theta(p, refit[3], refit[4])
  local first = model_mod.new{theta = theta, lambda = lambda, constraint = p.constraint, loss = p.loss}
  return not select_model.trained_wins(s.model, first, s.eval, p.tol, losses.get(p.loss))
end

-- Runs the trainer on s with the parameters p and fit options o; extra: the
-- run's own config fields (rounds_number, early_stopping, callbacks, ...).
local function train(s, p, o, run, extra)
  local config = {dual_learning_rate = p.dual_learning_rate, tol_fenchel = p.tol_fenchel,
    inner_tol = p.inner_tol, inner_max_iter = p.inner_max_iter, patience = p.patience,
    min_improvement = p.min_improvement, monitor_tol = p.monitor_tol, monitor_precision = p.monitor_precision,
    monitor_train_every = p.monitor_train_every, raise_on_nonconvergence = p.raise_on_nonconvergence,
    centre_inputs = p.centre_inputs, trainer_options = o.trainer_options, distributed = run.distributed,
    stream = run.stream}
  for k, v in pairs(extra) do config[k] = v end
  trainers.run(run.type_of_training or o.type_of_training, s, config)
end

-- Whether a fit on m_all samples whose hold-out chose a trained round trains
-- again on all of them: below the trainer's refit_below (fit_defaults), where
-- the hold-out took a fifth of the samples, after a run that ended by itself
-- (not a fault or an interrupt) and without checkpoints (a resume would not
-- know of the second run).
local function retrains(s, o, m_all)
  local below = o.fit_defaults.refit_below
  return below ~= nil and m_all < below and s.best ~= nil and s.best.round > 0
    and (s.stop_reason == "early_stopping" or s.stop_reason:match("^rounds_number") ~= nil)
    and o.checkpoint_path == nil and o.checkpoint == nil
end

-- The model trained again on all the training samples (run.refit's U_all,
-- Y_all), from the start drawn on them, for as many rounds as the hold-out
-- chose and with the same settings, without early stopping: the fifth of
-- the data the hold-out took back in the model (cv_defaults full_refit).
local function retrained(p, o, run, rounds)
  local U_all, Y_all = run.refit[1], run.refit[2]
  local again = start.state(p, U_all, Y_all, nil, false, nil)
  train(again, p, o, run, {rounds_number = rounds, early_stopping = false})
  return again.model
end

-- The trainer state of a fit on matrices X, y (rows are samples), the run's
-- config fields (distributed; refit = {U_all, Y_all, U, Y} when a hold-out
-- was drawn: keeps_start), the number of features and of outputs.
local function memory_state(p, o, X, y)
  local Xm = inputs.x(X, "X")
  if p.hidden_variables == "auto" then p.hidden_variables = schema.auto_hidden(Xm:rows()) end
  local ym = inputs.y(y, Xm:rows(), "y", "X")
  local eval = o.eval_set ~= nil and inputs.eval_set(o.eval_set, Xm, ym) or nil
  local registered = trainers.registry[o.type_of_training]
  if registered.relaxed and not losses.get(p.loss).relaxed then
    api.fail(string.format("type_of_training '%s' trains the relaxed problem, which needs the "
      .. "squared loss; the model's loss is '%s'", o.type_of_training, p.loss))
  end

  inputs.check_size(p.hidden_variables, Xm:cols(), Xm:rows() + (eval and eval.U:cols() or 0))
  local U, Y = Xm:t(), ym:t()
  local parallel = o.distributed and o.ranks > 1
  if parallel then evaluated_everywhere(eval, o.ranks, "an eval_set") end
  local U_all, Y_all, held_out = U, Y, false
  if eval == nil and p.early_stopping and o.fit_defaults.holdout then
    -- data-parallel: each rank holds out the same fraction of its shard, the
    -- fraction of the total sample count
    local m = parallel and distributed.sum{U:cols()}[1] or U:cols()
    U, Y, eval = inputs.hold_out(U, Y, inputs.holdout_fraction(o.fit_defaults.holdout, m), p.random_state)
    if parallel then evaluated_everywhere(eval, o.ranks, "a hold-out (a shard too small?)") end
    held_out = true
  end
  local s
  if o.checkpoint then
    s = resume.state(p, o, {U = U, Y = Y, eval = eval, distributed = parallel or nil})
  else
    s = start.state(p, U, Y, eval, parallel, parallel and start.union_linear(p, U, Y) or nil)
  end
  local run = {distributed = parallel or nil,
    refit = held_out and not parallel and {U_all, Y_all, U, Y} or nil}
  return s, run, Xm:cols(), ym:cols()
end

-- The number of models a fit trains: ensemble_size, or for "auto" the
-- trainer's rule (fit_defaults.ensemble: size below `below` samples); one
-- for a checkpointed, resumed or streamed fit, whose run is one trainer
-- state, and "auto" gives one for a data-parallel fit (the same model on any
-- number of ranks: its members would not be retrained to a common round).
local function ensemble_size(p, o, X)
  local one_run = stream.is_source(X) or o.checkpoint_path ~= nil or o.checkpoint ~= nil
  if p.ensemble_size ~= "auto" then
    if p.ensemble_size > 1 and one_run then
      api.failf("ensemble_size = %d: a fit with checkpoint_path, resume or a data source trains one "
        .. "model; set ensemble_size = 1", p.ensemble_size)
    end
    return p.ensemble_size
  end
  local rule = o.fit_defaults.ensemble
  if rule == nil or one_run or o.distributed then return 1 end
  -- the rows counted without a copy of X (a bad X raises in inputs.x)
  local rows = core.is_matrix(X) and X:rows() or (type(X) == "table" and #X) or inputs.x(X, "X"):rows()
  return rows < rule.below and rule.size or 1
end

-- One model's fit on (X, y) with the values p (its random_state), the
-- progress line labelled `label`: the trainer run, then the start kept
-- (keeps_start). Returns the member's record (est.members), what
-- `retrain` needs (nil when the model is final: retrains) and its trainer
-- state and data sizes.
local function fit_member(p, o, X, y, label)
  local fname = "idl.IDLModel:fit"
  local s, run, n_features, n_outputs
  if stream.is_source(X) then
    s, run, n_features, n_outputs = stream_fit.state(p, o, X, y)
  else
    s, run, n_features, n_outputs = memory_state(p, o, X, y)
  end
  local bar = progress.new{total = o.rounds_number, label = label, enabled = o.verbose,
    fields = {"G", "relaxed_l2", "train_l2", "eval_l2", "residual"}}
  train(s, p, o, run, {rounds_number = math.max(o.rounds_number - s.round, 0),
    early_stopping = p.early_stopping, callbacks = o.callbacks, on_step = o.on_step, progress = bar,
    checkpoint_path = o.checkpoint_path, checkpoint_every = o.checkpoint_every,
    checkpoint_meta = o.checkpoint_path and resume.checkpoint_meta(p, o), caller = fname})
  bar:finish(string.format("%s: %d rounds, stopped by %s%s", label, s.round, s.stop_reason,
    s.restored_round and (", best round " .. s.restored_round .. " restored") or ""))
  if s.stop_reason == "interrupted" or (o.verbose and s.stop_reason == "rounds_number_still_improving") then
    io.stderr:write(fname, ": ", s.stop_message, "\n")
  end
  local kept_start = run.refit and keeps_start(s, p, run.refit)
  if kept_start then start.on_all(s, p, run.refit[1], run.refit[2]) end
  local again = run.refit and not kept_start and retrains(s, o, run.refit[1]:cols()) and {p = p, run = run}
  -- the trainer state stays available (s.X, s.x_eq, ...) without its h x m
  -- workspaces, which the relaxed steps rebuild on demand
  s.ws, s.x_eq_prev, s.x_eq_eval_prev = {}, nil, nil
  if s.best then s.best.X = nil end
  return {random_state = p.random_state, model = s.model, history = s.history,
    best_round = kept_start and 0 or (s.best and s.best.round), stop_reason = s.stop_reason,
    stop_message = s.stop_message, timing = s.timing}, again or nil, s, n_features, n_outputs
end

-- Member `member` trained again on all the samples for `rounds` rounds
-- (again: fit_member's).
local function retrain(member, again, o, rounds)
  member.model = retrained(again.p, o, again.run, rounds)
  member.refit_rounds = rounds
end

-- The round an ensemble's retrained members run to at least: the one where
-- the mean of their hold-out losses (history's eval_l2; a member that
-- stopped earlier counts with its last) is least, a cross-validated epoch
-- count (idl.IDLModel:fit, Ensembles).
local function common_round(members)
  local last = 0
  for _, m in ipairs(members) do last = math.max(last, m.history[#m.history].round) end
  local best, best_loss = 0, math.huge
  for round = 0, last do
    local sum = 0
    for _, m in ipairs(members) do
      local h = m.history
      sum = sum + h[math.min(round, h[#h].round) + 1].eval_l2
    end
    if sum < best_loss then best, best_loss = round, sum end
  end
  return best
end

-- Whether a member's stop ends the ensemble's fit: a fault or an interrupt.
local function stops_ensemble(member)
  return member.stop_reason == "interrupted" or member.stop_reason == "non-finite"
end

-- The random_state of member r of an ensemble seeded by random_state (kept
-- within the parameter's range).
local function member_seed(random_state, r)
  return (random_state + 1000 * (r - 1)) % 4294967296
end

-- Fits k models (member r seeded member_seed(p.random_state, r)) until one
-- stops the ensemble; returns their records, what retraining each needs
-- (fit_member's), member 1's trainer state and the data's sizes.
local function fit_members(p, o, X, y, k)
  local members, again, state, n_features, n_outputs = {}, {}, nil, nil, nil
  for r = 1, k do
    local pr = p
    if k > 1 then
      pr = {}
      for name, v in pairs(p) do pr[name] = v end
      pr.random_state = member_seed(p.random_state, r)
    end
    local label = k > 1 and string.format("%s %d/%d", o.type_of_training, r, k) or o.type_of_training
    local s
    members[r], again[r], s, n_features, n_outputs = fit_member(pr, o, X, y, label)
    state = state or s
    if stops_ensemble(members[r]) then break end
  end
  return members, again, state, n_features, n_outputs
end

-- The members that need it (again[r]) trained again on all the samples, each
-- for its own best round or, when more, the members' common_round.
local function retrain_members(members, again, o)
  local retrained_members = {}
  for r, m in ipairs(members) do
    if again[r] then retrained_members[#retrained_members + 1] = m end
  end
  local rounds = #retrained_members > 1 and common_round(retrained_members) or 0
  for r, m in ipairs(members) do
    if again[r] then retrain(m, again[r], o, math.max(rounds, m.best_round)) end
  end
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
-- seeded by random_state) to stop on and to restore the best model from;
-- when the best is round 0 (the initialization), or a trained round beat it
-- on the hold-out by less than one standard error of the per-sample
-- difference (idl.estimator.select), the initialization is fitted again on
-- all the training samples and kept (est.best_round 0; not with a
-- data-parallel fit). A trained round that won is kept; below the trainer's
-- refit_below samples ("implicit": 1,000, where the hold-out took a fifth of
-- them) the model is then trained again on all the training samples for as
-- many rounds, from the same seed (est.refit_rounds; the history stays the
-- hold-out run's; not with checkpoint_path or resume).
-- Initializes (params.initialization, or params.initialization_theta), then
-- runs the trainer (idl.trainers). Callbacks are called after each round with
-- (state, history_entry); one returning true stops training.
--
-- Ensembles: with ensemble_size = k > 1 (or "auto" and the trainer's rule:
-- "implicit" fits 3 models below 2,000 training samples) fit trains k
-- models as above, member r with random_state + 1000 (r - 1) (its own
-- start, hold-out and batches), and est.model is their mean
-- (idl.model.average: one implicit model whose hidden state stacks the
-- members', h = the sum of theirs, predicting the mean of their outputs;
-- for a classifier the mean of their logits). est.members[r] records member
-- r: {random_state, model, history, best_round, stop_reason, stop_message,
-- refit_rounds, timing}; est.history, best_round, refit_rounds, timing and
-- state are member 1's (one member: est.members = {that record});
-- callbacks and on_step see every member's rounds (each member's round
-- count starts again at 1; with an eval_set every member evaluates on it and
-- none is retrained). Members
-- that are trained again on all the samples (refit_below) run for their
-- own best round or, when more, the round where the mean of their hold-out
-- losses is least (a cross-validated epoch count: one member's hold-out of
-- a few dozen samples can stop it on a plateau that the others show
-- training passes). A member stopped by a fault or an interrupt ends
-- the fit there: est.model is the mean of the members fitted so far and
-- est.stop_reason that member's. checkpoint_path, resume and data sources
-- train one model ("auto" gives 1; k > 1 raises), and so does "auto" with
-- distributed = true.
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
-- one initialization (the "linear" start solved on the union of the shards,
-- another one rank 0's, broadcast) and so hold bit-identical parameters throughout;
-- each rank holds out its own share for early stopping; rank 0 alone prints
-- progress and writes checkpoints, with every rank's own state (warm starts,
-- shuffling generator: idl.train.checkpoint), and resume continues on as many
-- ranks, each with its shard, bit for bit. With the option, ensemble_size
-- "auto" trains one model (the same on any number of ranks; an explicit k >
-- 1 trains k data-parallel fits in turn, each keeping its own best round);
-- otherwise, in a job of one rank, the option changes nothing.
-- Ctrl-C (SIGINT) during training stops it after the current round; fit
-- returns normally with est.stop_reason = "interrupted" (the best model with
-- early stopping, else the last), after writing a checkpoint when
-- checkpoint_path is set. A second Ctrl-C aborts as usual.
--
-- Data larger than memory: est:fit(source [, nil, opts]) with a data source
-- (idl.data.stream_csv with a target) trains the implicit trainer on the file
-- a batch at a time (idl.estimator.stream_fit: one pass for the statistics,
-- the linear start and a sampled hold-out of at most 10,000 rows; then an
-- epoch per pass; idl.train.implicit_stream). Not with checkpoint_path,
-- resume or distributed (yet).
IDLModel.fit = method("idl.IDLModel:fit", function(self, X, y, opts)
  local o = fit_options.check(self.params, opts)
  -- the values this fit uses: the parameters set, else the trainer's declared
  -- defaults (fit_defaults), else the schema's
  local p = SCHEMA:resolve(self.params, o.fit_defaults)
  if self.params.initialization_options == nil and p.initialization_options ~= nil then
    -- the trainer's default options, for the strategies that take them
    p.initialization_options = initializers.accepted(p.initialization, p.initialization_options)
  end
  local members, again, state, n_features, n_outputs = fit_members(p, o, X, y, ensemble_size(p, o, X))
  retrain_members(members, again, o)
  local models = {}
  for r, m in ipairs(members) do models[r] = m.model end
  local first, stopped = members[1], members[#members]
  if not stops_ensemble(stopped) then stopped = first end
  self.model = #models == 1 and models[1] or model_mod.average(models)
  self.members = members
  self.history = first.history
  self.best_round = first.best_round
  self.refit_rounds = first.refit_rounds
  self.stop_reason, self.stop_message = stopped.stop_reason, stopped.stop_message
  self.timing = first.timing
  self.n_features = n_features
  self.n_outputs = n_outputs
  self.state = state
  return self
end)

-- ---------------------------------------------------------------------------
-- Predict

local PREDICT_OPTIONS = {k_iterations = true, tol = true, method = true}

--- est:predict(X [, {k_iterations = 10000, tol = params.tol, method = "picard"}])
-- -> y_hat (m x p): the equilibrium of each sample (at most k_iterations
-- iterations), then A x + B u + c. est.predict_info holds the solver's record
-- (a prediction whose equilibrium did not converge says so there).
--
-- est:predict(source, {output = path, ...}) -> path, rows: for a data
-- source (idl.data.stream_csv; its target column, if any, is not read), the
-- predictions are written to the CSV file at path a batch at a time
-- (idl.estimator.stream_fit.predict: header "prediction", atomically: a
-- malformed line of the source raises with its line number and path keeps
-- its old contents); est.predict_info sums the iterations, keeps the worst
-- residual and whether every solve converged.
IDLModel.predict = method("idl.IDLModel:predict", function(self, X, opts)
  if not self.model then api.fail("the model is not fitted: call fit(X, y) first") end
  local source = stream.is_source(X)
  opts = api.options(opts, source and stream_fit.PREDICT_OPTIONS or PREDICT_OPTIONS, "options")
  local k = opts.k_iterations == nil and 10000 or
    api.check(opts.k_iterations, {"number", integer = true, min = 0}, "k_iterations")
  local tol = opts.tol == nil and self.params.tol or api.check(opts.tol, {"number", min = 0}, "tol")
  local solver = {max_iter = k, tol = tol, method = opts.method}
  if source then
    local path, rows, info = stream_fit.predict(self.model, X, opts, solver)
    self.predict_info = info
    return path, rows
  end
  local Xm = inputs.x(X, "X")
  api.check_features(Xm, self.model.n)
  local Yhat, info = self.model:predict_u(Xm:t(), solver)
  info.x = nil
  self.predict_info = info
  return Yhat:t()
end)

--- est:score(X, y) -> R^2 of the predictions (idl.metrics.r2, averaged over outputs).
IDLModel.score = method("idl.IDLModel:score", function(self, X, y)
  inputs.x(X, "X")
  local yhat = IDLModel.predict(self, X)
  local ym = inputs.y(y, yhat:rows(), "y", "X")
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
  for k, v in pairs(resume.param_meta(self.params)) do m.meta[k] = v end
  m:save(path)
  return self
end)

--- idl.IDLModel.load(path) / estimator.load(path) -> a fitted estimator
-- rebuilt from a file written by est:save (or any idl.model file).
estimator.load = api.public("idl.IDLModel.load", function(path)
  local m = model_mod.load(path)
  local params = {constraint = m.constraint, loss = m.loss}
  for k, v in pairs(m.meta) do
    local name = type(k) == "string" and k:match("^param%.(.+)$")
    if name and SCHEMA.allowed[name] and params[name] == nil then params[name] = v end
  end
  -- a file without the parameter: the model's (an ensemble's h is its members' sum)
  params.hidden_variables = params.hidden_variables or m.h
  local est = construct(nil, params)
  est.model = m
  est.n_features, est.n_outputs = m.n, m.p
  return est
end)

-- idl.IDLModel is callable (the constructor) and carries load and the class
-- (whose methods are fit, predict, score, ...).
estimator.IDLModel = setmetatable({load = estimator.load, class = IDLModel}, {__call = construct})

return estimator
