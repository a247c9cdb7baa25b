--- Training by implicit differentiation: the gradient of the TRUE loss
-- through the equilibrium (El Ghaoui et al.; README: what the 2019 report gets wrong).
--
-- For a batch U (n x b) with targets Y (p x b):
--
--     B0 = E U + f 1^T,  X = (D X + B0)_+ (equilibrium),  Z = D X + B0
--     Yhat = A X + B U + c 1^T,  loss = l(Yhat, Y),  dY = dl/dYhat
--     dA = dY X^T, dB = dY U^T, dc = dY 1, G = A^T dY
--     V solves (I - Phi D^T) V = Phi G with Phi = 1[Z > 0]
--     dD = V X^T,  dE = V U^T,  df = V 1
--
-- The passes and the trainer (one round = one epoch) are the "implicit"
-- trainer's, idl.train.implicit; this module is their public face on plain
-- matrices (columns are samples): predict, evaluate, loss_and_grad, project,
-- and train, a thin call of idl.trainers.run with that trainer. The
-- standardization helpers are idl.standardize's.
-- @module idl.implicit

local core = require "idl.core"
local model_mod = require "idl.model"
local api = require "idl._api"
local standardize = require "idl.standardize"
local trainer = require "idl.train.implicit"
local trainers = require "idl.trainers"
local registry = require "idl.train.registry"

local implicit = {}
local forward, backward, workspace = trainer.forward, trainer.backward, trainer.workspace
local core_is_matrix, core_ones, core_copy = core.is_matrix, core.ones, core.copy

--- Default options of implicit.train, none declared here: the trainer's
-- options (idl.train.implicit's schema: learning_rate, optimizer,
-- batch_size, tol, ...), its run (fit_defaults: epochs = rounds_number 200,
-- patience 15) and the model's (loss "squared"; constraint "inf", "spectral"
-- or "lmi" (lmi uses lambda = 1) with ||D|| <= kappa 0.9), as an estimator's
-- fit with type_of_training = "implicit" has them; verbose = false (no
-- progress bar). On purpose, not as in a fit: backward_steps = 0,
-- forward_steps = 0 and precision "double" (the exact gradient through
-- solves to tolerance, what loss_and_grad gives and the gradient checks
-- compare; a fit's trainer takes 2 forward steps and the 1-step phantom
-- gradient in single precision), forward_tol = nil
-- (loss_and_grad, evaluate and predict solve at tol; train leaves the loose
-- training tolerance to the trainer), no hold-out (early stopping needs
-- opts.val) and the true train loss measured every epoch (train's history
-- reports it).
implicit.defaults = trainer.options:defaults()
local run_defaults, model_constraint = trainer.fit_defaults, model_mod.constraint_value(nil)
for k, v in pairs{loss = model_mod.DEFAULT_LOSS, epochs = run_defaults.rounds_number,
  constraint = model_constraint.kind, kappa = model_constraint.kappa, patience = run_defaults.patience,
  verbose = false} do
  implicit.defaults[k] = v
end
implicit.defaults.forward_tol = nil
implicit.defaults.backward_steps = 0
implicit.defaults.forward_steps = 0
implicit.defaults.precision = "double"

-- The options with defaults filled in: a new table, the caller's is not touched.
local function with_defaults(opts)
  local o = setmetatable({}, {__index = implicit.defaults})
  for k, v in pairs(opts or {}) do o[k] = v end
  return o
end

-- Argument checks shared by the public functions (idl._api names the one called).

-- theta: the six blocks, finite and of consistent sizes; returns n, h, p.
local function check_theta(theta, what)
  api.check(theta, "table", what)
  local n, h, p = model_mod.theta_problem(theta)
  if n == nil then api.fail(h) end
  return n, h, p
end

-- U (n x m) and, when given, Y (p x m): columns are samples.
local function check_data(U, Y, n, p)
  api.check(U, {"matrix", rows = n}, "U")
  if U:cols() == 0 then api.fail("U has no columns (samples)") end
  if Y ~= false then api.check(Y, {"matrix", rows = p, cols = U:cols()}, "Y") end
end

-- opts: nil or a table of implicit.defaults' names (and train's extra ones).
local function check_opts(opts)
  if opts == nil then return end
  api.check(opts, "table", "options")
  for k in pairs(opts) do
    if implicit.defaults[k] == nil and k ~= "callback" and k ~= "val" then
      api.fail("unknown option '" .. tostring(k) .. "'")
    end
  end
end

--- Projects D onto the constraint set {kind = constraint, kappa = kappa} in
-- place (idl.model.project_; the "lmi" set uses lambda = 1, for which (2.4)
-- alone already guarantees well-posedness).
implicit.project = api.public("idl.implicit.project", function(theta, constraint, kappa)
  api.check(theta, "table", "theta")
  api.check(theta.D, {"matrix", finite = false}, "theta.D")
  api.check(constraint, {"choice", choices = model_mod.CONSTRAINT_KINDS}, "constraint")
  api.check(kappa, {"number", min = 0, max = 1}, "kappa")
  model_mod.project_(theta.D, {kind = constraint, kappa = kappa}, core.ones(theta.D:rows(), 1))
end)

--- Predictions A X + B U + c 1^T of theta for U (X from the equilibrium).
implicit.predict = api.public("idl.implicit.predict", function(theta, U, opts)
  local n = check_theta(theta, "theta")
  check_data(U, false, n, nil)
  check_opts(opts)
  opts = with_defaults(opts)
  local ws = workspace({}, theta, U:cols())
  -- the solver checks tol, max_iter and method (the user's options)
  api.engine(forward, theta, U, ws, nil, opts)
  return ws.Yhat
end)

--- The true loss and its gradients on (U, Y) at theta: loss, grads, X.
-- (Used by the gradient checks; training uses the same two passes.)
implicit.loss_and_grad = api.public("idl.implicit.loss_and_grad", function(theta, U, Y, opts)
  local n, _, p = check_theta(theta, "theta")
  check_data(U, Y, n, p)
  check_opts(opts)
  opts = with_defaults(opts)
  local loss, grads, X = api.engine(function()
    local lossfn = trainer.loss_function(opts.loss)
    local ws = workspace({}, theta, U:cols())
    local X = forward(theta, U, ws, nil, opts)
    local loss = lossfn(ws.Yhat, Y, ws.dY)
    local grads = trainer.new_grads(theta)
    backward(theta, U, X, ws, grads, opts)
    return loss, grads, X
  end)
  return loss, grads, X
end)

--- The true loss of theta on (U, Y) (X from the equilibrium, warm-started from
-- and written back to xcache when given), and the solver info.
implicit.evaluate = api.public("idl.implicit.evaluate", function(theta, U, Y, opts, xcache)
  local n, h, p = check_theta(theta, "theta")
  check_data(U, Y, n, p)
  check_opts(opts)
  if xcache ~= nil then api.check(xcache, {"matrix", rows = h, cols = U:cols()}, "xcache") end
  opts = with_defaults(opts)
  local loss, info = api.engine(function()
    local ws = workspace({}, theta, U:cols())
    local X, info = forward(theta, U, ws, xcache, opts)
    if xcache then core.copy(xcache, X) end
    return trainer.loss_function(opts.loss)(ws.Yhat, Y, ws.dY), info
  end)
  return loss, info
end)

-- The options of train that are the trainer's (config.trainer_options).
local TRAINER_OPTIONS = {}
for _, name in ipairs(trainer.options.names) do TRAINER_OPTIONS[name] = true end

local function check_inputs(theta, U, Y, opts)
  local n, _, p = check_theta(theta, "theta")
  if not core_is_matrix(U) or not core_is_matrix(Y) then
    api.fail("U and Y must be matrices (columns are samples)")
  end
  if U:cols() ~= Y:cols() then
    api.fail(string.format("U has %d columns, Y has %d", U:cols(), Y:cols()))
  end
  if U:cols() == 0 then api.fail("no training samples") end
  check_data(U, Y, n, p)
  check_opts(opts)
  if opts.epochs ~= nil then api.check(opts.epochs, "count", "epochs") end
  if opts.val ~= nil then
    api.check(opts.val, "table", "val")
    check_data(opts.val.U, opts.val.Y, n, p)
  end
end

-- One history entry of train from an entry of the loop.
local function epoch_entry(e)
  return {epoch = e.round, train_loss = e.train_l2, val_loss = e.eval_l2, iterations = e.inner_iterations,
    seconds = e.seconds}
end

--- implicit.train(theta, U, Y [, opts]) -> history, s: trains theta in place
-- on (U, Y) (columns are samples) with the "implicit" trainer through
-- idl.trainers.run, and returns the history (one entry per epoch: epoch,
-- train_loss and val_loss, the true losses of the model, iterations, seconds)
-- and the trainer state. opts: see implicit.defaults; opts.val = {U =, Y =}
-- enables early stopping after `patience` epochs without improvement, with
-- the best model restored; opts.callback(entry, theta) is called after each
-- epoch (true stops).
implicit.train = api.public("idl.implicit.train", function(theta, U, Y, opts)
  opts = opts or {}
  check_inputs(theta, U, Y, opts)
  opts = with_defaults(opts)
  local h = theta.D:rows()
  local mdl = model_mod.new{theta = theta, lambda = core_ones(h, 1),
    constraint = {kind = opts.constraint, kappa = opts.kappa}, loss = opts.loss}
  implicit.project(mdl.theta, opts.constraint, opts.kappa)
  local s = trainers.new_state{model = mdl, U = U, Y = Y, eval = opts.val}
  local trainer_options = {}
  for k in pairs(TRAINER_OPTIONS) do trainer_options[k] = opts[k] end
  registry.options_of(trainer, trainer_options)
  local callback = opts.callback and function(st, e) return opts.callback(epoch_entry(e), st.model.theta) end
  local bar = opts.verbose and require("idl.progress").new{total = opts.epochs, label = "implicit",
    fields = {"train_l2", "eval_l2"}} or nil
  trainers.run("implicit", s, {rounds_number = opts.epochs, early_stopping = opts.val ~= nil,
    patience = opts.patience, trainer_options = trainer_options, callbacks = callback, progress = bar,
    caller = "idl.implicit.train", interruptible = false})
  if bar then bar:finish() end
  if s.fault then api.fail(s.stop_message) end
  for k, v in pairs(mdl.theta) do core_copy(theta[k], v) end
  local history = {}
  for i = 2, #s.history do history[#history + 1] = epoch_entry(s.history[i]) end
  return history, s
end)

-- ---------------------------------------------------------------------------
-- The trainer's round and state, and the standardization helpers, under the
-- names this module has always had.

-- (the registered spec's: public functions, idl.trainers.implicit and its state)
local spec = trainers.registry.implicit
implicit.round = spec.round
implicit.save_state = spec.save_state
implicit.restore_state = spec.restore_state
implicit.row_scaler = standardize.row_scaler
implicit.standardize = standardize.standardize
implicit.to_standardized = standardize.to_standardized
implicit.from_standardized = standardize.from_standardized

return implicit
