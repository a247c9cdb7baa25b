--- One mini-batch of the "implicit" trainer (idl.train.implicit): its
-- forward pass through the equilibrium (or, in the MLP phase with D held at
-- 0, through (E U + f)_+), its loss and the gradients of all six blocks by
-- implicit differentiation, in reusable per-batch-size workspaces. A
-- numerical fault inside a batch raises a Fault (batch.fault), which the
-- epoch drivers catch.
-- @module idl.train.implicit_batch

local core = require "idl.core"
local util = require "idl._util"
local losses = require "idl.losses"
local model_mod = require "idl.model"

local batch = {}

-- fn(Yhat, Y, dY) -> loss, writing dL/dYhat into dY, for a registered loss.
function batch.loss_function(name)
  local spec = losses.get(name)
  return function(yhat, y, dy)
    spec.gradient(yhat, y, dy)
    return spec.value(yhat, y)
  end
end

-- Buffers for a batch of b columns, reused across steps.
function batch.workspace(cache, theta, b)
  local ws = cache[b]
  if ws then return ws end
  local h, n, p = theta.D:rows(), theta.E:cols(), theta.A:rows()
  ws = {
    U = core.zeros(n, b), Y = core.zeros(p, b), B0 = core.zeros(h, b), Yhat = core.zeros(p, b),
    X = core.zeros(h, b), V = core.zeros(h, b), dY = core.zeros(p, b), G = core.zeros(h, b),
    ones = core.ones(b, 1),
  }
  cache[b] = ws
  return ws
end

function batch.new_grads(theta)
  local g = {}
  for _, k in ipairs(model_mod.THETA_NAMES) do g[k] = core.zeros(theta[k]:rows(), theta[k]:cols()) end
  return g
end

-- A numerical fault inside an epoch (a loss or an intermediate that overflowed
-- although the parameters are still finite): raised as a Fault, which
-- run_epoch catches to end the epoch with a non-finite loss and a description.
local Fault = {__tostring = function(f) return "implicit: " .. f.what end}

local function fault(what) error(setmetatable({what = what}, Fault), 0) end
batch.fault = fault
function batch.is_fault(err) return getmetatable(err) == Fault end

-- The forward of the MLP phase (D held at 0): X = (E U + f)_+ exactly.
local EXPLICIT_INFO = {iterations = 0, converged = true}
local ONE_STEP_INFO = {iterations = 1, converged = false, stop = "steps"}

--- batch.forward(theta, U, ws, x0, opts, guarded) -> X, info: X (in ws.X)
-- from the warm start x0 (the trainers pass ws.X itself, holding the warm
-- starts, which the solve updates in place: no copy), filling ws.B0 and
-- ws.Yhat (opts.forward_tol, else opts.tol). guarded: a non-finite E U + f
-- raises a Fault. opts.explicit (D is 0): X = (B0)_+, no solve.
function batch.forward(theta, U, ws, x0, opts, guarded)
  core.gemm(ws.B0, theta.E, U)
  core.add_col(ws.B0, 1, theta.f)
  if guarded and not ws.B0:all_finite() then fault("E U + f 1^T overflowed") end
  local X, info
  if opts.explicit then
    X, info = core.relu(ws.X, ws.B0), EXPLICIT_INFO
  else
    local k = opts.forward_steps or 0
    -- into the batch's workspace (out): no new h x batch matrix per step
    X, info = core.equilibrium(theta.D, ws.B0, {x0 = x0, out = ws.X,
      tol = util.solve_tol(opts.forward_tol or opts.tol, opts.precision),
      max_iter = math.max(opts.max_iter, k), method = opts.method, steps = k, precision = opts.precision})
  end
  core.gemm(ws.Yhat, theta.A, X)
  core.gemm(ws.Yhat, theta.B, U, 1, 1)
  core.add_col(ws.Yhat, 1, theta.c)
  return X, info
end

--- batch.backward(theta, U, X, ws, grads, opts, guarded) -> info: the
-- gradients of the loss (dY already in ws.dY) for all six blocks, X the
-- forward's equilibrium (opts.backward_tol, else opts.tol; opts.backward_steps
-- = k > 0: at most k steps from V = 0, the phantom gradient). Phi = 1[Z > 0]
-- is read from X (1[X > 0]): the solver's X is (Z')_+ of one of its products
-- Z' = D X' + B0, within its tolerance of the equilibrium, so the patterns
-- differ at most at entries that close to 0, and the product D X that
-- computing Z again would cost (h x h x batch) is saved. opts.explicit (D
-- held at 0): V = Phi G exactly, and grads.D is left alone.
function batch.backward(theta, U, X, ws, grads, opts, guarded)
  core.gemm(grads.A, ws.dY, X, 1, 0, false, true)
  core.gemm(grads.B, ws.dY, U, 1, 0, false, true)
  core.gemm(grads.c, ws.dY, ws.ones)
  core.gemm(ws.G, theta.A, ws.dY, 1, 0, true, false)
  if guarded and not ws.G:all_finite() then fault("the gradient A^T dL/dYhat overflowed") end
  local V, info
  local k = opts.backward_steps or 0
  if opts.explicit then
    V, info = core.relu_grad(ws.V, ws.G, X), EXPLICIT_INFO
  elseif k == 1 then
    -- the 1-step phantom gradient from V = 0 is Phi G itself (the solve's
    -- one step, without its per-call conversions and checks: a tenth of a batch)
    V, info = core.relu_grad(ws.V, ws.G, X), ONE_STEP_INFO
  else
    V, info = core.implicit_backward(theta.D, X, ws.G, {
      tol = util.solve_tol(opts.backward_tol or opts.tol, opts.precision),
      max_iter = math.max(opts.max_iter, k), steps = k, precision = opts.precision})
  end
  if not opts.explicit then
    -- dL/dD = V X^T, the epoch's one h x h x batch product besides the
    -- forward's: in float with the solves (precision "single")
    core.gemm(grads.D, V, X, 1, 0, false, true, opts.precision)
  end
  core.gemm(grads.E, V, U, 1, 0, false, true)
  core.gemm(grads.f, V, ws.ones)
  return info
end

function batch.check_loss(loss)
  if loss ~= loss or math.abs(loss) == math.huge then
    fault("the training loss is " .. (loss ~= loss and "NaN" or (loss > 0 and "Inf" or "-Inf")))
  end
end

-- The loss of the columns idx of U, Y and its gradients (into st.grads),
-- their warm starts updated and the solvers' iterations counted in st.iters.
-- A numerical fault raises a Fault.
function batch.gradients(theta, U, Y, idx, st, opts, lossfn)
  local ws = batch.workspace(st.ws, theta, #idx)
  core.gather_cols(ws.U, U, idx)
  core.gather_cols(ws.Y, Y, idx)
  -- the warm starts straight into ws.X, which the solve then updates in place
  core.gather_cols(ws.X, st.xcache, idx)
  local X, finfo = batch.forward(theta, ws.U, ws, ws.X, opts, true)
  -- forward_steps: stopping at the budget is the request, not a failure
  if not finfo.converged and finfo.stop ~= "steps" then st.eq_failures = st.eq_failures + 1 end
  local loss = lossfn(ws.Yhat, ws.Y, ws.dY)
  batch.check_loss(loss)
  local binfo = batch.backward(theta, ws.U, X, ws, st.grads, opts, true)
  core.scatter_cols(st.xcache, idx, X)
  st.iters.forward = st.iters.forward + finfo.iterations
  st.iters.backward = st.iters.backward + binfo.iterations
  return loss
end

return batch
