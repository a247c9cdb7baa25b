--- Training by implicit differentiation: the gradient of the TRUE loss
-- through the equilibrium (El Ghaoui et al.; REPORT-NOTES.md).
--
-- For a batch U (n x b) with targets Y (p x b):
--
--     B0 = E U + f 1^T,  X = (D X + B0)_+ (equilibrium),  Z = D X + B0
--     Yhat = A X + B U + c 1^T,  loss = l(Yhat, Y),  dY = dl/dYhat
--     dA = dY X^T, dB = dY U^T, dc = dY 1, G = A^T dY
--     V solves (I - Phi D^T) V = Phi G with Phi = 1[Z > 0]
--     dD = V X^T,  dE = V U^T,  df = V 1
--
-- then one optimizer step on all six blocks and a projection keeping D in the
-- constraint set (||D||_inf <= kappa by default), so every iterate is
-- well-posed. Each sample's equilibrium is warm-started from its previous
-- state, which makes later epochs cheap.
--
-- `implicit.train(theta, U, Y, opts)` works on plain matrices (columns are
-- samples) and updates theta in place; the estimators wrap it with
-- standardization and early stopping defaults.
-- @module idl.implicit

local core = require "idl.core"
local data = require "idl.data"
local losses = require "idl.losses"
local model_mod = require "idl.model"
local trainers = require "idl.trainers"
local optim = require "idl.optim"
local util = require "idl._util"

local first_nonfinite

local implicit = {}

--- Default options of implicit.train.
implicit.defaults = {
  loss = "squared",         -- a name from idl.losses: "squared", "softmax_xent" (Y one-hot)
  optimizer = "adam",       -- "adam" or "sgd"
  learning_rate = 5e-3,
  momentum = 0.9,           -- sgd only
  weight_decay = 0,
  epochs = 300,             -- upper bound; early stopping usually ends sooner
  batch_size = "auto",      -- mini-batch size: "auto" = m/32 within [32, 256]; 0: full batch
  constraint = "inf",       -- "inf", "spectral" or "lmi" (lmi uses lambda = 1)
  kappa = 0.95,             -- ||D|| <= kappa in the chosen norm
  tol = 1e-7,               -- forward and backward solver tolerance
  max_iter = 300,           -- per solve
  method = "picard",        -- equilibrium solver
  patience = 20,            -- epochs without validation improvement before stopping
  min_delta = 1e-4,         -- relative improvement that counts
  lr_patience = 8,          -- epochs without improvement before the rate is halved
  min_lr = 1e-5,
  seed = 0,                 -- shuffling
  scales = "auto",          -- per-block learning-rate factors (idl.optim); "auto": 1/sqrt(h) for
                            -- D and A, whose h inputs per row add up coherently
  verbose = false,
}

-- The options with defaults filled in: a new table, the caller's is not touched.
local function with_defaults(opts)
  local o = setmetatable({}, {__index = implicit.defaults})
  for k, v in pairs(opts or {}) do o[k] = v end
  return o
end

-- Argument checks shared by the public functions; errors name fname.

-- theta: the six blocks, finite and of consistent sizes; returns n, h, p.
local function check_theta(theta, fname, what)
  util.check_table(theta, fname, what, 3)
  local n, h, p = model_mod.check_theta(theta, fname, 3)
  return n, h, p
end

-- U (n x m) and, when given, Y (p x m): columns are samples.
local function check_data(U, Y, n, p, fname)
  util.check_matrix(U, fname, "U", n, nil, 3)
  if U:cols() == 0 then util.fail(fname, "U has no columns (samples)", 3) end
  if Y ~= false then util.check_matrix(Y, fname, "Y", p, U:cols(), 3) end
end

-- opts: nil or a table of implicit.defaults' names (and train's extra ones).
local function check_opts(opts, fname)
  if opts == nil then return end
  util.check_table(opts, fname, "options", 3)
  for k in pairs(opts) do
    if implicit.defaults[k] == nil and k ~= "callback" and k ~= "val" and k ~= "rng" and k ~= "state" then
      util.fail(fname, "unknown option '" .. tostring(k) .. "'", 3)
    end
  end
end

-- A trainer state of idl.trainers.new_state.
local function check_state(s, fname)
  if type(s) ~= "table" or getmetatable(s.model) ~= model_mod.Model or not core.is_matrix(s.U)
    or not core.is_matrix(s.Y) then
    util.fail(fname, "s must be a trainer state (idl.trainers.new_state), got " .. util.describe(s), 3)
  end
end

-- The standardizers sc = {u_mean, u_scale, y_mean, y_scale} for n inputs, p outputs.
local function check_scalers(sc, n, p, fname)
  util.check_table(sc, fname, "sc", 3)
  for _, k in ipairs{"u_mean", "u_scale", "y_mean", "y_scale"} do
    util.check_matrix(sc[k], fname, "sc." .. k, k:sub(1, 1) == "u" and n or p, 1, 3)
  end
end

-- fn(Yhat, Y, dY) -> loss, writing dL/dYhat into dY, for a registered loss.
local function loss_function(name)
  local spec = losses.get(name)
  return function(yhat, y, dy)
    spec.gradient(yhat, y, dy)
    return spec.value(yhat, y)
  end
end

--- Projects D onto the constraint set {kind = constraint, kappa = kappa} in
-- place (idl.model.project_; the "lmi" set uses lambda = 1, for which (2.4)
-- alone already guarantees well-posedness).
function implicit.project(theta, constraint, kappa)
  local fname = "implicit.project"
  util.check_table(theta, fname, "theta")
  util.check_matrix(theta.D, fname, "theta.D", nil, nil, 2, false)
  util.check_choice(constraint, model_mod.CONSTRAINT_KINDS, fname, "constraint")
  util.check_number(kappa, fname, "kappa", {min = 0, max = 1})
  util.relabel(fname, 2, model_mod.project_, theta.D, {kind = constraint, kappa = kappa},
    core.ones(theta.D:rows(), 1))
end

-- Buffers for a batch of b columns, reused across steps (hot loops do not
-- allocate beyond what the solvers return).
local function workspace(cache, theta, b)
  local ws = cache[b]
  if ws then return ws end
  local h, n, p = theta.D:rows(), theta.E:cols(), theta.A:rows()
  ws = {
    U = core.zeros(n, b), Y = core.zeros(p, b), X0 = core.zeros(h, b),
    B0 = core.zeros(h, b), Z = core.zeros(h, b), Yhat = core.zeros(p, b),
    dY = core.zeros(p, b), G = core.zeros(h, b), ones = core.ones(b, 1),
  }
  cache[b] = ws
  return ws
end

local function new_grads(theta)
  local g = {}
  for _, k in ipairs{"A", "B", "c", "D", "E", "f"} do
    g[k] = core.zeros(theta[k]:rows(), theta[k]:cols())
  end
  return g
end

-- A numerical fault inside an epoch (a loss or an intermediate that overflowed
-- although the parameters are still finite): raised as a Fault, which
-- run_epoch catches to end the epoch with a non-finite loss and a description.
local Fault = {__tostring = function(f) return "implicit: " .. f.what end}

local function fault(what) error(setmetatable({what = what}, Fault), 0) end

-- Forward pass on ws.U: fills ws.B0, ws.Z, ws.Yhat; returns X and the solver
-- info. guarded: a non-finite E U + f raises a Fault (in an epoch).
local function forward(theta, U, ws, x0, opts, guarded)
  core.gemm(ws.B0, theta.E, U)
  core.add_col(ws.B0, 1, theta.f)
  if guarded and not ws.B0:all_finite() then fault("E U + f 1^T overflowed") end
  local X, info = core.equilibrium(theta.D, ws.B0,
    {x0 = x0, tol = opts.tol, max_iter = opts.max_iter, method = opts.method})
  core.copy(ws.Z, ws.B0)
  core.gemm(ws.Z, theta.D, X, 1, 1)
  core.gemm(ws.Yhat, theta.A, X)
  core.gemm(ws.Yhat, theta.B, U, 1, 1)
  core.add_col(ws.Yhat, 1, theta.c)
  return X, info
end

-- Gradients of the loss (dY already in ws.dY) with respect to all six blocks.
local function backward(theta, U, X, ws, grads, opts, guarded)
  core.gemm(grads.A, ws.dY, X, 1, 0, false, true)
  core.gemm(grads.B, ws.dY, U, 1, 0, false, true)
  core.gemm(grads.c, ws.dY, ws.ones)
  core.gemm(ws.G, theta.A, ws.dY, 1, 0, true, false)
  if guarded and not ws.G:all_finite() then fault("the gradient A^T dL/dYhat overflowed") end
  local V, info = core.implicit_backward(theta.D, ws.Z, ws.G, {tol = opts.tol, max_iter = opts.max_iter})
  core.gemm(grads.D, V, X, 1, 0, false, true)
  core.gemm(grads.E, V, U, 1, 0, false, true)
  core.gemm(grads.f, V, ws.ones)
  return info
end

--- Predictions A X + B U + c 1^T of theta for U (X from the equilibrium).
function implicit.predict(theta, U, opts)
  local fname = "implicit.predict"
  local n = check_theta(theta, fname, "theta")
  check_data(U, false, n, nil, fname)
  check_opts(opts, fname)
  opts = with_defaults(opts)
  local ws = workspace({}, theta, U:cols())
  -- the solver checks tol, max_iter and method; its messages get our name
  util.relabel(fname, 2, forward, theta, U, ws, nil, opts)
  return ws.Yhat
end

--- The true loss and its gradients on (U, Y) at theta: loss, grads, X.
-- (Used by the gradient checks; training uses the same two passes.)
function implicit.loss_and_grad(theta, U, Y, opts)
  local fname = "implicit.loss_and_grad"
  local n, _, p = check_theta(theta, fname, "theta")
  check_data(U, Y, n, p, fname)
  check_opts(opts, fname)
  opts = with_defaults(opts)
  local loss, grads, X = util.relabel(fname, 2, function()
    local lossfn = loss_function(opts.loss)
    local ws = workspace({}, theta, U:cols())
    local X = forward(theta, U, ws, nil, opts)
    local loss = lossfn(ws.Yhat, Y, ws.dY)
    local grads = new_grads(theta)
    backward(theta, U, X, ws, grads, opts)
    return loss, grads, X
  end)
  return loss, grads, X
end

--- The true loss of theta on (U, Y) (X from the equilibrium, warm-started from
-- and written back to xcache when given), and the solver info.
function implicit.evaluate(theta, U, Y, opts, xcache)
  local fname = "implicit.evaluate"
  local n, h, p = check_theta(theta, fname, "theta")
  check_data(U, Y, n, p, fname)
  check_opts(opts, fname)
  if xcache ~= nil then util.check_matrix(xcache, fname, "xcache", h, U:cols()) end
  opts = with_defaults(opts)
  local loss, info = util.relabel(fname, 2, function()
    local ws = workspace({}, theta, U:cols())
    local X, info = forward(theta, U, ws, xcache, opts)
    if xcache then core.copy(xcache, X) end
    return loss_function(opts.loss)(ws.Yhat, Y, ws.dY), info
  end)
  return loss, info
end

local function copy_theta(theta)
  local t = {}
  for k, v in pairs(theta) do t[k] = v:copy() end
  return t
end

-- Options of implicit.train that have no default value.
local extra_options = {callback = true, val = true, rng = true, state = true}

local function check_inputs(theta, U, Y, opts)
  local fname = "implicit.train"
  local n, _, p = check_theta(theta, fname, "theta")
  if not core.is_matrix(U) or not core.is_matrix(Y) then
    util.fail(fname, "U and Y must be matrices (columns are samples)", 3)
  end
  if U:cols() ~= Y:cols() then
    util.fail(fname, string.format("U has %d columns, Y has %d", U:cols(), Y:cols()), 3)
  end
  if U:cols() == 0 then util.fail(fname, "no training samples", 3) end
  check_data(U, Y, n, p, fname)
  util.check_table(opts, fname, "options", 3)
  for k in pairs(opts) do
    if implicit.defaults[k] == nil and not extra_options[k] then
      util.fail(fname, "unknown option '" .. tostring(k) .. "'", 3)
    end
  end
  if opts.epochs ~= nil then util.check_count(opts.epochs, fname, "epochs", 0, 3) end
  if opts.batch_size ~= nil and opts.batch_size ~= "auto" then
    util.check_number(opts.batch_size, fname, "batch_size", {integer = true, min = 0}, 3)
  end
end

-- One epoch of mini-batch steps over a fresh permutation. Returns the mean
-- training loss and the mean forward/backward iterations per batch; after a
-- numerical fault (a Fault), NaN, the iterations so far and its description.
local function batch_size(opts, m)
  local bs = opts.batch_size
  if bs == "auto" then bs = math.max(32, math.min(256, m // 32)) end
  return (bs == 0 or bs >= m) and m or bs
end

local function scales_of(opts, theta)
  if opts.scales ~= "auto" then return opts.scales end
  local s = 1 / math.sqrt(theta.D:rows())
  return {D = s, A = s}
end

local function run_epoch(theta, U, Y, st, opts)
  local m = U:cols()
  local bs = batch_size(opts, m)
  local perm = st.rng:permutation(m)
  local lossfn = loss_function(opts.loss)
  local step = opts.optimizer == "sgd" and optim.sgd or optim.adam
  local config = {learning_rate = st.lr, momentum = opts.momentum, weight_decay = opts.weight_decay,
    scales = scales_of(opts, theta)}
  local total, fwd_iters, bwd_iters, batches = 0, 0, 0, 0
  for first = 1, m, bs do
    local idx = table.move(perm, first, math.min(first + bs - 1, m), 1, {})
    local ws = workspace(st.ws, theta, #idx)
    core.gather_cols(ws.U, U, idx)
    core.gather_cols(ws.Y, Y, idx)
    core.gather_cols(ws.X0, st.xcache, idx)
    local feval = function()
      local X, finfo = forward(theta, ws.U, ws, ws.X0, opts, true)
      if not finfo.converged then st.eq_failures = (st.eq_failures or 0) + 1 end
      local loss = lossfn(ws.Yhat, ws.Y, ws.dY)
      if loss ~= loss or math.abs(loss) == math.huge then
        fault("the training loss is " .. (loss ~= loss and "NaN" or (loss > 0 and "Inf" or "-Inf")))
      end
      local binfo = backward(theta, ws.U, X, ws, st.grads, opts, true)
      core.scatter_cols(st.xcache, idx, X)
      fwd_iters, bwd_iters = fwd_iters + finfo.iterations, bwd_iters + binfo.iterations
      total = total + loss * #idx
      return loss, st.grads
    end
    local ok, err = pcall(step, feval, theta, config, st.optim)
    if not ok then
      if getmetatable(err) ~= Fault then error(err, 0) end
      return 0 / 0, fwd_iters / math.max(batches, 1), bwd_iters / math.max(batches, 1), err.what
    end
    implicit.project(theta, opts.constraint, opts.kappa)
    batches = batches + 1
  end
  return total / m, fwd_iters / batches, bwd_iters / batches
end

local function improved(value, best, min_delta)
  return best == nil or value < best - min_delta * math.abs(best)
end

--- Trains theta in place on (U, Y) (columns are samples) and returns the
-- history (one entry per epoch) and the training state.
-- opts: see implicit.defaults; opts.val = {U=, Y=} enables early stopping with
-- best-model restore; opts.rng overrides the shuffling generator;
-- opts.state resumes from a returned state.
function implicit.train(theta, U, Y, opts)
  opts = opts or {}
  check_inputs(theta, U, Y, opts)
  opts = with_defaults(opts)
  implicit.project(theta, opts.constraint, opts.kappa)
  local st = opts.state or {}
  st.rng = st.rng or opts.rng or core.rng(opts.seed)
  st.ws = st.ws or {}
  st.grads = st.grads or new_grads(theta)
  st.optim = st.optim or {}
  st.xcache = st.xcache or core.zeros(theta.D:rows(), U:cols())
  st.lr = st.lr or opts.learning_rate
  st.epoch = st.epoch or 0
  st.history = st.history or {}
  local val = opts.val
  local xval = val and core.zeros(theta.D:rows(), val.U:cols())
  local t0 = core.clock()
  local since_best, since_lr = 0, 0
  while st.epoch < opts.epochs do
    st.epoch = st.epoch + 1
    local train_loss, fwd, bwd = run_epoch(theta, U, Y, st, opts)
    local entry = {epoch = st.epoch, train_loss = train_loss, forward_iterations = fwd,
                   backward_iterations = bwd, learning_rate = st.lr, seconds = core.clock() - t0}
    if val then entry.val_loss = implicit.evaluate(theta, val.U, val.Y, opts, xval) end
    st.history[#st.history + 1] = entry
    if train_loss ~= train_loss or math.abs(train_loss) == math.huge then
      error(string.format("implicit.train: the training loss became %s at epoch %d", train_loss, st.epoch), 2)
    end
    local watched = entry.val_loss or train_loss
    if improved(watched, st.best_loss, opts.min_delta) then
      st.best_loss, st.best_epoch, st.best_theta = watched, st.epoch, copy_theta(theta)
      since_best, since_lr = 0, 0
    else
      since_best, since_lr = since_best + 1, since_lr + 1
      if since_lr >= opts.lr_patience and st.lr > opts.min_lr then
        st.lr, since_lr = math.max(st.lr / 2, opts.min_lr), 0
      end
    end
    if opts.verbose then
      io.stderr:write(string.format("\repoch %4d  train %.4e  val %s  lr %.1e  iters %.0f/%.0f  %.1fs   ",
        st.epoch, train_loss, entry.val_loss and string.format("%.4e", entry.val_loss) or "-",
        st.lr, fwd, bwd, entry.seconds))
    end
    if opts.callback and opts.callback(entry, theta) then break end
    if since_best >= opts.patience then break end
  end
  if opts.verbose then io.stderr:write("\n") end
  if st.best_theta then
    for k, v in pairs(st.best_theta) do core.copy(theta[k], v) end
  end
  return st.history, st
end

-- ---------------------------------------------------------------------------
-- Standardized coordinates. Training runs on standardized inputs and targets
-- (u = su .* u' + mu, y = sy .* y' + my), where one learning rate suits every
-- problem; the model keeps raw units. theta and its standardized twin theta'
-- describe the same function with the same hidden state X:
--   E' = E Su, f' = f + E mu, A' = Sy^-1 A, B' = Sy^-1 B Su,
--   c' = Sy^-1 (c + B mu - my), D' = D   (Su = diag(su), Sy = diag(sy)).

--- The per-row mean and scale (population standard deviation, 1 for a
-- constant row) of M (k x m, columns are samples), as k x 1 matrices.
function implicit.row_scaler(M)
  local fname = "implicit.row_scaler"
  util.check_matrix(M, fname, "M")
  if M:cols() == 0 then util.fail(fname, "M has no columns (samples)") end
  return data.row_scaler(M)
end

local function reciprocal(v)
  local r = v:copy()
  for i = 1, r:rows() do r:set(i, 1, 1 / r:get(i, 1)) end
  return r
end

--- (M - mean 1^T) ./ scale, row by row (a new matrix).
function implicit.standardize(M, mean, scale)
  local fname = "implicit.standardize"
  util.check_matrix(M, fname, "M")
  util.check_matrix(mean, fname, "mean", M:rows(), 1)
  util.check_matrix(scale, fname, "scale", M:rows(), 1)
  local S = M:copy()
  core.add_col(S, -1, mean)
  return core.scale_rows(S, reciprocal(scale))
end

--- theta' in standardized coordinates (new matrices); sc = {u_mean, u_scale, y_mean, y_scale}.
function implicit.to_standardized(theta, sc)
  local fname = "implicit.to_standardized"
  local n, _, p = check_theta(theta, fname, "theta")
  check_scalers(sc, n, p, fname)
  local t = {D = theta.D:copy()}
  t.E = core.scale_cols(theta.E:copy(), sc.u_scale)
  t.f = theta.f + theta.E * sc.u_mean
  local inv_sy = reciprocal(sc.y_scale)
  t.A = core.scale_rows(theta.A:copy(), inv_sy)
  t.B = core.scale_rows(core.scale_cols(theta.B:copy(), sc.u_scale), inv_sy)
  t.c = core.scale_rows(theta.c + theta.B * sc.u_mean - sc.y_mean, inv_sy)
  return t
end

--- Writes theta' (standardized) back into theta in raw units, in place.
function implicit.from_standardized(ts, sc, theta)
  local fname = "implicit.from_standardized"
  local n, h, p = check_theta(ts, fname, "ts")
  local n2, h2, p2 = check_theta(theta, fname, "theta")
  if n ~= n2 or h ~= h2 or p ~= p2 then
    util.fail(fname, string.format("ts has n = %d, h = %d, p = %d, theta has n = %d, h = %d, p = %d",
      n, h, p, n2, h2, p2))
  end
  check_scalers(sc, n, p, fname)
  local inv_su = reciprocal(sc.u_scale)
  core.copy(theta.D, ts.D)
  core.copy(theta.E, core.scale_cols(ts.E:copy(), inv_su))
  core.copy(theta.f, ts.f - theta.E * sc.u_mean)
  core.copy(theta.A, core.scale_rows(ts.A:copy(), sc.y_scale))
  core.copy(theta.B, core.scale_rows(core.scale_cols(ts.B:copy(), inv_su), sc.y_scale))
  core.copy(theta.c, core.scale_rows(ts.c:copy(), sc.y_scale) + sc.y_mean - theta.B * sc.u_mean)
  return theta
end

-- ---------------------------------------------------------------------------
-- The "implicit" trainer of idl.trainers (and so of the estimators): one round
-- is one epoch over the training set in standardized coordinates; after it the
-- model (raw units) is updated, so trainers.run measures the true losses,
-- keeps the best model and stops early as for every trainer.

-- Options the round reads from config.trainer_options (the rest of
-- implicit.defaults applies; epochs and patience belong to trainers.run).
local ROUND_OPTIONS = {
  learning_rate = true, optimizer = true, momentum = true, weight_decay = true, batch_size = true,
  tol = true, max_iter = true, method = true, lr_patience = true, min_lr = true, min_delta = true,
  seed = true, standardize_targets = true, scales = true,
  fenchel_rounds = true, -- read by the "hybrid" trainer (idl.trainers)
}

-- The options of the round: implicit.defaults, config.trainer_options, and the
-- model's loss and constraint.
local function round_options(s, config)
  local opts = with_defaults({})
  for k, v in pairs(config.trainer_options or {}) do
    if not ROUND_OPTIONS[k] then
      error("implicit: unknown trainer option '" .. tostring(k) .. "'", 4)
    end
    opts[k] = v
  end
  opts.loss = s.model.loss
  local c = s.model.constraint
  opts.constraint, opts.kappa = c.kind, c.kappa
  return opts
end

local function round_context(s, config)
  local opts = round_options(s, config)
  local sc = {}
  sc.u_mean, sc.u_scale = implicit.row_scaler(s.U)
  local p = s.Y:rows()
  if opts.loss == "squared" and opts.standardize_targets ~= false then
    sc.y_mean, sc.y_scale = implicit.row_scaler(s.Y)
  else -- classification targets are one-hot: leave them alone
    sc.y_mean, sc.y_scale = core.zeros(p, 1), core.ones(p, 1)
  end
  local ctx = {opts = opts, sc = sc, U = implicit.standardize(s.U, sc.u_mean, sc.u_scale),
    Y = implicit.standardize(s.Y, sc.y_mean, sc.y_scale),
    theta = implicit.to_standardized(s.model.theta, sc)}
  ctx.st = {rng = core.rng(opts.seed), ws = {}, grads = new_grads(ctx.theta), optim = {},
    xcache = s.model:hidden(s.U, {tol = opts.tol, max_iter = opts.max_iter}), lr = opts.learning_rate}
  return ctx
end

--- The round of the "implicit" trainer (registered below).
-- Reads config.trainer_options (see implicit.defaults). The learning rate is
-- halved when the training loss has not improved for lr_patience rounds.
function implicit.round(s, config)
  check_state(s, "implicit.round")
  util.check_table(config, "implicit.round", "config")
  local ctx = s.implicit
  if ctx == nil or ctx.model ~= s.model then
    ctx = round_context(s, config)
    ctx.model = s.model
    s.implicit = ctx
  end
  ctx.opts = ctx.opts or round_options(s, config) -- a context from a checkpoint has none yet
  local opts, st = ctx.opts, ctx.st
  st.eq_failures = 0
  local ok, loss, fwd, bwd, what = pcall(run_epoch, ctx.theta, ctx.U, ctx.Y, st, opts)
  local bad = first_nonfinite(ctx.theta)
  if not ok then
    if not bad then error(loss, 0) end
    s.fault_what = string.format("%s (the epoch raised: %s)", bad, tostring(loss))
    return false
  end
  -- the loop (idl.trainers.run) stops on a non-finite loss or parameter and
  -- rolls the model back: the model is not written with them
  s.round_loss, s.round_eq_failures = loss, st.eq_failures
  s.fault_what = what or bad
  if s.fault_what or loss ~= loss or math.abs(loss) == math.huge then return false end
  if improved(loss, st.best_train, opts.min_delta) then
    st.best_train, st.stalled = loss, 0
  else
    st.stalled = (st.stalled or 0) + 1
    if st.stalled >= opts.lr_patience and st.lr > opts.min_lr then
      st.lr, st.stalled = math.max(st.lr / 2, opts.min_lr), 0
    end
  end
  s.inner_iterations = math.floor(fwd + bwd + 0.5)
  s.implicit_epoch = {train_loss_std = loss, forward_iterations = fwd, backward_iterations = bwd,
    learning_rate = st.lr}
  implicit.from_standardized(ctx.theta, ctx.sc, s.model.theta)
  trainers.invalidate(s) -- theta changed: the relaxed fields (hybrid) are recomputed, not read from a cache
  return false
end

-- "theta'.D has a NaN entry at (i, j)" for the first non-finite standardized
-- parameter, or nil.
first_nonfinite = function(theta)
  for _, k in ipairs{"A", "B", "c", "D", "E", "f"} do
    local m = theta[k]
    if not m:all_finite() then
      for j = 1, m:cols() do
        for i = 1, m:rows() do
          local v = m:get(i, j)
          if v ~= v or v == math.huge or v == -math.huge then
            return string.format("the standardized theta.%s has a%s %s entry at (%d, %d)", k,
              v ~= v and "" or "n", v ~= v and "NaN" or (v > 0 and "Inf" or "-Inf"), i, j)
          end
        end
      end
    end
  end
end

--- implicit.save_state(s) -> the trainer's state in s (s.implicit, set by
-- implicit.round) as a table of matrices, a generator and numbers, for
-- idl.trainers.checkpoint: the standardized parameters theta', the
-- standardizers, the optimizer state (Adam's t, m, v), the shuffling
-- generator, the warm starts (xcache), the learning rate and its plateau
-- counters. nil when the trainer has not run yet.
function implicit.save_state(s)
  local ctx = type(s) == "table" and s.implicit
  if not ctx then return nil end
  local st = ctx.st
  return {theta = ctx.theta, sc = ctx.sc, optim = st.optim, rng = st.rng, xcache = st.xcache, lr = st.lr,
    best_train = st.best_train, stalled = st.stalled}
end

--- implicit.restore_state(s, saved) -> s: the trainer state saved by
-- implicit.save_state put back into s (s.model, s.U and s.Y already those of
-- the checkpoint), so that the next implicit.round continues the run.
function implicit.restore_state(s, saved)
  local fname = "restore_state"
  if type(s) ~= "table" or getmetatable(s.model) ~= model_mod.Model or not core.is_matrix(s.U)
    or not core.is_matrix(s.Y) then
    error(fname .. ": s must be a trainer state (idl.trainers.new_state)", 2)
  end
  if type(saved) ~= "table" or type(saved.theta) ~= "table" or type(saved.sc) ~= "table" then
    error(fname .. ": saved must be a table from implicit.save_state", 2)
  end
  model_mod.check_theta(saved.theta, fname, 2)
  local sc = saved.sc
  for _, k in ipairs{"u_mean", "u_scale", "y_mean", "y_scale"} do
    if not core.is_matrix(sc[k]) then error(fname .. ": saved.sc." .. k .. " must be a matrix", 2) end
  end
  if sc.u_mean:rows() ~= s.U:rows() or sc.y_mean:rows() ~= s.Y:rows() then
    error(string.format("%s: the standardizers are for %d features and %d outputs, the data has %d and %d",
      fname, sc.u_mean:rows(), sc.y_mean:rows(), s.U:rows(), s.Y:rows()), 2)
  end
  local xc = saved.xcache
  if not core.is_matrix(xc) or xc:rows() ~= s.model.h or xc:cols() ~= s.U:cols() then
    error(string.format("%s: saved.xcache must be a %dx%d matrix", fname, s.model.h, s.U:cols()), 2)
  end
  local theta = util.copy_matrices(saved.theta)
  local rng = saved.rng
  local mt = type(rng) == "userdata" and getmetatable(rng)
  if not (mt and mt.__name == "idl.rng") then
    error(fname .. ": saved.rng must be a generator (idl.rng)", 2)
  end
  if saved.optim ~= nil and (type(saved.optim) ~= "table" or core.is_matrix(saved.optim)) then
    error(fname .. ": saved.optim must be a table (an optimizer state)", 2)
  end
  local function number(k, v, opt, min)
    if (v == nil and opt) or (type(v) == "number" and v >= min and math.abs(v) < math.huge) then return end
    error(string.format("%s: saved.%s must be a finite number >= %g, got %s", fname, k, min, tostring(v)), 3)
  end
  number("lr", saved.lr, false, 0)
  number("best_train", saved.best_train, true, -math.huge)
  number("stalled", saved.stalled, true, 0)
  s.implicit = {model = s.model, sc = sc, theta = theta,
    U = implicit.standardize(s.U, sc.u_mean, sc.u_scale),
    Y = implicit.standardize(s.Y, sc.y_mean, sc.y_scale),
    st = {rng = rng, ws = {}, grads = new_grads(theta), optim = util.copy_matrices(saved.optim or {}),
      xcache = saved.xcache:copy(), lr = saved.lr, best_train = saved.best_train, stalled = saved.stalled}}
  return s
end

trainers.register("implicit", implicit.round, {relaxed = false, fit_defaults = {
  rounds_number = 60,
  holdout = 0.2,
  patience = 40,
  -- A least-squares readout with a tiny ridge has huge, cancelling weights
  -- that the first gradient steps wreck; a firmer ridge starts from a
  -- readout that training can refine.
  initialization_options = {ridge = 1e-4, standardize = true},
}})

return implicit
