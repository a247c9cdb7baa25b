--- First-order optimizers, learning-rate schedules and a gradient checker,
-- in the torch/optim style.
--
-- An optimizer is a function `step(feval, params, config, state)`:
--
-- * `params` is a table of named matrices (e.g. theta = {A=, B=, c=, D=, E=, f=}),
--   updated in place;
-- * `feval(params)` returns `fx, grads` with `grads` a table of matrices with
--   the same keys and shapes (keys absent from `grads` are left alone);
-- * `config` is read-only (learning rate, betas, ...);
-- * `state` is a plain table of buffers and counters that the optimizer fills
--   on first use, so that a checkpoint can save it as it is.
--
-- Each step returns `params, {fx}`. The heavy part (one fused pass per
-- matrix) is C: `idl.adam_step`, `idl.sgd_step`.
-- @module idl.optim

local core = require "idl.core"
local api = require "idl._api"

local optim = {}

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- The buffer state[field][key], created as zeros shaped like params[key], or
-- checked against it (a state from other parameters is an error, not a crash).
local function buffer(state, field, key, p)
  state[field] = state[field] or {}
  local b = state[field][key]
  if b == nil then
    b = core.zeros(p:rows(), p:cols())
    state[field][key] = b
  elseif not core.is_matrix(b) or b:rows() ~= p:rows() or b:cols() ~= p:cols() then
    local shape = core.is_matrix(b) and (b:rows() .. "x" .. b:cols()) or type(b)
    api.failf("state.%s.%s is %s, params.%s is %dx%d: pass a fresh state table for new parameters",
      field, tostring(key), shape, tostring(key), p:rows(), p:cols())
  end
  return b
end

local function check_common(feval, params, config, state)
  if type(feval) ~= "function" then api.fail("feval must be a function") end
  if type(params) ~= "table" then api.fail("params must be a table of matrices") end
  if config ~= nil and type(config) ~= "table" then api.fail("config must be a table") end
  if type(state) ~= "table" then api.fail("state must be a table (use {} to start)") end
  for k, p in pairs(params) do
    if not core.is_matrix(p) then api.failf("params.%s must be a matrix, got %s", tostring(k), type(p)) end
  end
end

local function eval_checked(feval, params)
  local fx, grads = feval(params)
  if type(grads) ~= "table" then api.fail("feval must return fx, grads (a table)") end
  return fx, grads
end

local function positive(config, key, default)
  local v = config[key]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v < 0 then
    api.failf("config.%s must be a non-negative number, got %s", key, tostring(v))
  end
  return v
end

-- The learning rate of params[key]: config.learning_rate times the optional
-- per-key factor config.scales[key] (blocks of different fan-in want
-- different step sizes).
local function rate_of(config, lr, key)
  local scales = config.scales
  local f = scales and scales[key]
  return f and lr * f or lr
end

--- Adam (Kingma and Ba, 2015), with decoupled weight decay when asked.
-- config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8),
-- weight_decay (0), scales (nil: a table key -> factor on the learning rate
-- of params[key]). state: t, m, v (filled on first use).
optim.adam = api.public("idl.optim.adam", function(feval, params, config, state)
  check_common(feval, params, config, state)
  config = config or {}
  local lr = positive(config, "learning_rate", 1e-3)
  local b1 = positive(config, "beta1", 0.9)
  local b2 = positive(config, "beta2", 0.999)
  local eps = positive(config, "epsilon", 1e-8)
  local wd = positive(config, "weight_decay", 0)
  local fx, grads = eval_checked(feval, params)
  state.t = (state.t or 0) + 1
  for _, k in ipairs(sorted_keys(grads)) do
    local p = params[k]
    if p then
      local m = buffer(state, "m", k, p)
      local v = buffer(state, "v", k, p)
      core.adam_step(p, grads[k], m, v, rate_of(config, lr, k), b1, b2, eps, wd, state.t)
    end
  end
  return params, {fx}
end)

--- Stochastic gradient descent with heavy-ball momentum.
-- config: learning_rate (1e-2), momentum (0), weight_decay (0), scales (as adam).
optim.sgd = api.public("idl.optim.sgd", function(feval, params, config, state)
  check_common(feval, params, config, state)
  config = config or {}
  local lr = positive(config, "learning_rate", 1e-2)
  local mu = positive(config, "momentum", 0)
  local wd = positive(config, "weight_decay", 0)
  local fx, grads = eval_checked(feval, params)
  state.t = (state.t or 0) + 1
  for _, k in ipairs(sorted_keys(grads)) do
    local p = params[k]
    if p then
      local buf = mu ~= 0 and buffer(state, "momentum_buffer", k, p) or nil
      core.sgd_step(p, grads[k], buf, rate_of(config, lr, k), mu, wd)
    end
  end
  return params, {fx}
end)

--- A projected optimizer: `optim.projected(optim.adam, project)` is a step
-- function that calls `project(params)` after every step (e.g. to keep D
-- well-posed). `project` updates params in place.
optim.projected = api.public("idl.optim.projected", function(step, project)
  if type(step) ~= "function" or type(project) ~= "function" then
    api.fail("expected (step, project) functions")
  end
  return function(feval, params, config, state)
    local _, fxs = step(feval, params, config, state)
    project(params)
    return params, fxs
  end
end)

--- Learning-rate schedules. A schedule is a plain table describing it; the
-- current rate is `optim.schedule_lr(schedule, sstate, epoch [, metric])`,
-- where sstate is a plain table the schedule keeps its counters in.
--
-- * {kind = "constant", lr = 1e-3}
-- * {kind = "step", lr = 1e-2, every = 50, gamma = 0.5}: lr gamma^floor((epoch-1)/every)
-- * {kind = "cosine", lr = 1e-2, total = 200, min_lr = 0}: cosine decay to min_lr at epoch total
-- * {kind = "plateau", lr = 1e-2, factor = 0.5, patience = 10, min_lr = 1e-6, threshold = 1e-4}:
--   multiplies the rate by factor when the metric has not improved (relative
--   threshold) for patience epochs
optim.schedule_lr = api.public("idl.optim.schedule_lr", function(schedule, sstate, epoch, metric)
  if type(schedule) ~= "table" or type(schedule.lr) ~= "number" then
    api.fail("schedule must be a table with a number lr")
  end
  if type(sstate) ~= "table" then api.fail("sstate must be a table") end
  if math.type(epoch) ~= "integer" or epoch < 1 then
    api.fail("epoch must be a positive integer, got " .. tostring(epoch))
  end
  local kind, lr = schedule.kind or "constant", schedule.lr
  if kind == "constant" then
    return lr
  elseif kind == "step" then
    return lr * (schedule.gamma or 0.5) ^ ((epoch - 1) // (schedule.every or 50))
  elseif kind == "cosine" then
    local total, min_lr = schedule.total or 100, schedule.min_lr or 0
    local t = math.min(epoch - 1, total) / total
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * t))
  elseif kind == "plateau" then
    sstate.lr = sstate.lr or lr
    if metric ~= nil then
      local threshold = schedule.threshold or 1e-4
      if sstate.best == nil or metric < sstate.best * (1 - threshold) then
        sstate.best, sstate.bad = metric, 0
      else
        sstate.bad = (sstate.bad or 0) + 1
        if sstate.bad > (schedule.patience or 10) then
          sstate.lr = math.max(sstate.lr * (schedule.factor or 0.5), schedule.min_lr or 0)
          sstate.bad = 0
        end
      end
    end
    return sstate.lr
  end
  api.fail("unknown kind '" .. tostring(kind) .. "' (constant, step, cosine, plateau)")
end)

local CHECK_OPTIONS = {eps = true, floor = true, max_entries = true}

-- f(params), checked to be a number.
local function value_of(f, params)
  local v = f(params)
  if type(v) ~= "number" then
    api.fail("f must return a number, got " .. api.describe(v))
  end
  return v
end

--- Compares analytic gradients with central finite differences.
-- `f(params)` returns a number; `grads` holds the analytic gradients (same keys
-- and shapes). Every entry of every matrix in grads is perturbed in turn
-- (opts.max_entries caps it per matrix, sampled deterministically).
-- Returns the largest relative error and a table of the error per key, where
-- relative error = |g - fd| / max(|g|, |fd|, opts.floor (1e-8)).
optim.check_gradient = api.public("idl.optim.check_gradient", function(f, params, grads, opts)
  api.check(f, "function", "f")
  api.check(params, "table", "params")
  api.check(grads, "table", "grads")
  opts = api.options(opts, CHECK_OPTIONS, "opts")
  local h = opts.eps == nil and 1e-6 or api.check(opts.eps, {"number", gt = 0}, "opts.eps")
  local floor = opts.floor == nil and 1e-8 or api.check(opts.floor, {"number", gt = 0}, "opts.floor")
  local cap = opts.max_entries == nil and math.huge or
    api.check(opts.max_entries, {"number", integer = true, min = 1}, "opts.max_entries")
  local keys = sorted_keys(grads)
  for _, k in ipairs(keys) do
    local p = params[k]
    if p == nil then api.fail("params." .. tostring(k) .. " is missing (grads has it)") end
    -- finite entries: a NaN would make every comparison below false, a silent pass
    api.check(p, "matrix", "params." .. tostring(k))
    api.check(grads[k], {"matrix", rows = p:rows(), cols = p:cols()}, "grads." .. tostring(k))
  end
  local worst, per_key = 0, {}
  for _, k in ipairs(keys) do
    local p, g = params[k], grads[k]
    local rows, cols = p:rows(), p:cols()
    local n = rows * cols
    local stride = n > 0 and math.max(1, n // math.min(n, cap)) or 1
    local key_worst = 0
    for idx = 0, n - 1, stride do
      local i, j = idx % rows + 1, idx // rows + 1
      local old = p:get(i, j)
      p:set(i, j, old + h)
      local fp = value_of(f, params)
      p:set(i, j, old - h)
      local fm = value_of(f, params)
      p:set(i, j, old)
      local fd, an = (fp - fm) / (2 * h), g:get(i, j)
      local err = math.abs(an - fd) / math.max(math.abs(an), math.abs(fd), floor)
      key_worst = math.max(key_worst, err)
    end
    per_key[k] = key_worst
    worst = math.max(worst, key_worst)
  end
  return worst, per_key
end)

return optim
