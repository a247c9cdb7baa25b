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
local losses = require "idl.losses"
local optim = require "idl.optim"

local implicit = {}

--- Default options of implicit.train.
implicit.defaults = {
  loss = "squared",         -- a name from idl.losses: "squared", "softmax_xent" (Y one-hot)
  optimizer = "adam",       -- "adam" or "sgd"
  learning_rate = 3e-3,
  momentum = 0.9,           -- sgd only
  weight_decay = 0,
  epochs = 300,             -- upper bound; early stopping usually ends sooner
  batch_size = 256,         -- mini-batch size (math.huge or 0: full batch)
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
  verbose = false,
}

-- The options with defaults filled in: a new table, the caller's is not touched.
local function with_defaults(opts)
  local o = setmetatable({}, {__index = implicit.defaults})
  for k, v in pairs(opts or {}) do o[k] = v end
  return o
end

-- fn(Yhat, Y, dY) -> loss, writing dL/dYhat into dY, for a registered loss.
local function loss_function(name)
  local spec = losses.get(name)
  return function(yhat, y, dy)
    spec.gradient(yhat, y, dy)
    return spec.value(yhat, y)
  end
end

--- Projects D onto the constraint set in place.
function implicit.project(theta, constraint, kappa)
  if constraint == "inf" then
    core.project_inf_(theta.D, kappa)
  elseif constraint == "spectral" then
    core.project_spectral_(theta.D, kappa)
  elseif constraint == "lmi" then
    -- LMI (2.4) with lambda = 1 (sym(D) <= I/2) implies well-posedness;
    -- the norm bound keeps Picard fast.
    core.project_lmi_(theta.D, core.ones(theta.D:rows(), 1))
    core.project_inf_(theta.D, math.max(kappa, 1))
  else
    error("implicit: constraint must be \"inf\", \"spectral\" or \"lmi\", got " .. tostring(constraint), 2)
  end
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

-- Forward pass on ws.U: fills ws.B0, ws.Z, ws.Yhat; returns X and the solver info.
local function forward(theta, U, ws, x0, opts)
  core.gemm(ws.B0, theta.E, U)
  core.add_col(ws.B0, 1, theta.f)
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
local function backward(theta, U, X, ws, grads, opts)
  core.gemm(grads.A, ws.dY, X, 1, 0, false, true)
  core.gemm(grads.B, ws.dY, U, 1, 0, false, true)
  core.gemm(grads.c, ws.dY, ws.ones)
  core.gemm(ws.G, theta.A, ws.dY, 1, 0, true, false)
  local V, info = core.implicit_backward(theta.D, ws.Z, ws.G, {tol = opts.tol, max_iter = opts.max_iter})
  core.gemm(grads.D, V, X, 1, 0, false, true)
  core.gemm(grads.E, V, U, 1, 0, false, true)
  core.gemm(grads.f, V, ws.ones)
  return info
end

--- Predictions A X + B U + c 1^T of theta for U (X from the equilibrium).
function implicit.predict(theta, U, opts)
  opts = with_defaults(opts)
  local ws = workspace({}, theta, U:cols())
  forward(theta, U, ws, nil, opts)
  return ws.Yhat
end

--- The true loss and its gradients on (U, Y) at theta: loss, grads, X.
-- (Used by the gradient checks; training uses the same two passes.)
function implicit.loss_and_grad(theta, U, Y, opts)
  opts = with_defaults(opts)
  local lossfn = loss_function(opts.loss)
  local ws = workspace({}, theta, U:cols())
  local X = forward(theta, U, ws, nil, opts)
  local loss = lossfn(ws.Yhat, Y, ws.dY)
  local grads = new_grads(theta)
  backward(theta, U, X, ws, grads, opts)
  return loss, grads, X
end

--- The true loss of theta on (U, Y) (X from the equilibrium, warm-started from
-- and written back to xcache when given), and the solver info.
function implicit.evaluate(theta, U, Y, opts, xcache)
  opts = with_defaults(opts)
  local ws = workspace({}, theta, U:cols())
  local X, info = forward(theta, U, ws, xcache, opts)
  if xcache then core.copy(xcache, X) end
  local loss = loss_function(opts.loss)(ws.Yhat, Y, ws.dY)
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
  for _, k in ipairs{"A", "B", "c", "D", "E", "f"} do
    if not core.is_matrix(theta[k]) then error("implicit.train: theta." .. k .. " must be a matrix", 3) end
  end
  if not core.is_matrix(U) or not core.is_matrix(Y) then
    error("implicit.train: U and Y must be matrices (columns are samples)", 3)
  end
  if U:cols() ~= Y:cols() then
    error(string.format("implicit.train: U has %d columns, Y has %d", U:cols(), Y:cols()), 3)
  end
  if U:cols() == 0 then error("implicit.train: no training samples", 3) end
  for k in pairs(opts) do
    if implicit.defaults[k] == nil and not extra_options[k] then
      error("implicit.train: unknown option '" .. tostring(k) .. "'", 3)
    end
  end
end

-- One epoch of mini-batch steps over a fresh permutation. Returns the mean
-- training loss and the mean forward/backward iterations per batch.
local function run_epoch(theta, U, Y, st, opts)
  local m = U:cols()
  local bs = (opts.batch_size == 0 or opts.batch_size >= m) and m or opts.batch_size
  local perm = st.rng:permutation(m)
  local lossfn = loss_function(opts.loss)
  local step = opts.optimizer == "sgd" and optim.sgd or optim.adam
  local config = {learning_rate = st.lr, momentum = opts.momentum, weight_decay = opts.weight_decay}
  local total, fwd_iters, bwd_iters, batches = 0, 0, 0, 0
  for first = 1, m, bs do
    local idx = table.move(perm, first, math.min(first + bs - 1, m), 1, {})
    local ws = workspace(st.ws, theta, #idx)
    core.gather_cols(ws.U, U, idx)
    core.gather_cols(ws.Y, Y, idx)
    core.gather_cols(ws.X0, st.xcache, idx)
    local feval = function()
      local X, finfo = forward(theta, ws.U, ws, ws.X0, opts)
      local loss = lossfn(ws.Yhat, ws.Y, ws.dY)
      local binfo = backward(theta, ws.U, X, ws, st.grads, opts)
      core.scatter_cols(st.xcache, idx, X)
      fwd_iters, bwd_iters = fwd_iters + finfo.iterations, bwd_iters + binfo.iterations
      total = total + loss * #idx
      return loss, st.grads
    end
    step(feval, theta, config, st.optim)
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

return implicit
