--- The start a fit trains from: the initialization's parameters (from the
-- generator of random_state), the data-parallel start on the union of the
-- shards, the trainer state around them, and the start drawn again on all
-- the training samples when a fit keeps it.
-- @module idl.estimator.start

local core = require "idl.core"
local distributed = require "idl.distributed"
local initializers = require "idl.initializers"
local inputs = require "idl.estimator.inputs"
local logistic = require "idl.logistic"
local model_mod = require "idl.model"
local mpi = require "idl.mpi"
local trainers = require "idl.trainers"

local start = {}

-- The initialization's theta, X0 and lambda0 = starting_lambda for (U, Y)
-- (params.initialization, or params.initialization_theta), from the
-- generator of random_state.
function start.theta(p, U, Y)
  local h = p.hidden_variables
  local lambda = inputs.starting_lambda(p, h)
  local rng = core.rng(p.random_state)
  local problem = {U = U, Y = Y, h = h, constraint = p.constraint, lambda = lambda, loss = p.loss}
  local theta, X0
  if p.initialization_theta then
    theta, X0 = initializers.user(problem, rng, {theta = p.initialization_theta})
  else
    theta, X0 = initializers.registry[p.initialization](problem, rng, p.initialization_options)
  end
  return theta, X0, lambda
end

-- Data-parallel, the "linear" start of the union of the shards: its readout
-- solved on their normal equations (idl.distributed.comoments), so that every
-- rank starts where one process holding all the data would (to rounding),
-- not from rank 0's shard (for the softmax loss, the logistic regression of
-- the union: idl.logistic with the gradients summed over the ranks). nil for
-- the other initializations (rank 0's).
function start.union_linear(p, U, Y)
  if p.initialization ~= "linear" or p.initialization_theta then return nil end
  local n, p_out = U:rows(), Y:rows()
  local rows, mean, C = distributed.comoments(U:vcat(Y))
  local scale = core.zeros(1, n)
  for i = 1, n do
    local sd = math.sqrt(C:get(i, i) / rows)
    scale:set(1, i, sd > 0 and sd or 1)
  end
  local moments = {x_mean = mean:sub(1, n, 1, 1):t(), x_scale = scale,
    y_mean = mean:sub(n + 1, n + p_out, 1, 1):t(), comoments = C}
  local theta = initializers.linear_from_moments(moments, p.hidden_variables, core.rng(p.random_state),
    p.initialization_options)
  if p.loss == "softmax_xent" then
    logistic.readout(theta.B, theta.c, U, Y, nil, moments.x_mean:t(), scale:t(),
      function(M) return mpi.allreduce(M, "sum") end)
  end
  return theta
end

-- The trainer state a fit starts from: the initialization's model.
-- Data-parallel, every rank starts from rank 0's theta (broadcast). A theta
-- given (a streamed fit's linear start) is used as it is.
function start.state(p, U, Y, eval, parallel, theta)
  local X0, lambda
  if theta then
    lambda = inputs.starting_lambda(p, p.hidden_variables) -- X0 nil: new_state solves for it
  else
    theta, X0, lambda = start.theta(p, U, Y)
  end
  if parallel then
    local blocks = {}
    for i, k in ipairs(model_mod.THETA_NAMES) do blocks[i] = theta[k] end
    mpi.bcast(blocks, 0)
  end
  local m = model_mod.new{theta = theta, lambda = lambda, constraint = p.constraint, loss = p.loss}
  return trainers.new_state{model = m, U = U, Y = Y, X = X0, eval = eval}
end

-- Early stopping kept the initialization (round 0) over every trained round:
-- the hold-out that fit drew has only chosen it, so it is fitted again on all the
-- training samples (the same seed draws the same hidden units). On noisy
-- near-linear tables this is linear regression on all the data instead of
-- on 80% of it (cv_defaults lin0).
function start.on_all(s, p, U_all, Y_all)
  local theta = start.theta(p, U_all, Y_all)
  for _, k in ipairs(model_mod.THETA_NAMES) do s.model.theta[k] = theta[k] end
end

return start
