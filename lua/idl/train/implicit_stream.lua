--- The "implicit_stream" trainer: the implicit trainer (idl.train.implicit:
-- the gradient of the true loss through the equilibrium, projected optimizer
-- steps in standardized coordinates, the plateau schedule) on data that are
-- not in memory: a data source (idl.data.stream_csv) read one batch at a
-- time. idl.IDLModel:fit(source) builds its plan and runs it; scripts can do
-- the same with trainers.run("implicit_stream", s, {stream = plan, ...}).
--
-- One round is one pass over the source: one optimizer step per batch of the
-- source (its batch_size; rows held out for early stopping are left out of
-- the batch), in the file's order (a stream cannot be shuffled: shuffle a
-- sorted file beforehand). Memory does not grow with the file:
--
--   * the batch being trained (read, transposed, standardized);
--   * warm starts: the equilibria of the first warm_rows training rows of
--     the pass (warm_rows = warm_start_memory / (8 h) bytes, at most the
--     rows), kept from one epoch to the next as the in-memory trainer keeps
--     all of them; every other row starts its equilibrium cold, at x0 = 0,
--     which costs forward iterations, not accuracy (the map is a contraction).
--     The first epoch starts every row cold.
--
-- The plan (config.stream) is {source = a data source with a target, sc =
-- {u_mean, u_scale, y_mean, y_scale} (n x 1 and p x 1, the standardization
-- of the training rows), held = the sorted 0-based indices of the rows of the
-- source to leave out (the hold-out: s.eval), warm_rows = the number of rows
-- whose warm starts are kept}.
-- @module idl.train.implicit_stream

local core = require "idl.core"
local api = require "idl._api"
local params = require "idl.params"
local registry = require "idl.train.registry"
local state = require "idl.train.state"
local standardize = require "idl.standardize"
local implicit = require "idl.train.implicit"

local implicit_stream = {name = "implicit_stream", relaxed = false, state_key = "implicit_stream"}

local OPTIONS = {}
for _, entry in ipairs(implicit.OPTIONS) do OPTIONS[#OPTIONS + 1] = entry end
-- 64 MiB: 84,000 rows of warm starts at h = 100, beside the ~100 MB a fit
-- at h = 100 needs otherwise (bench_stream_fit keeps peak RSS under 300 MB)
OPTIONS[#OPTIONS + 1] = {"warm_start_memory", 64 * 1024 * 1024, {"number", integer = true, min = 0},
  "bytes of warm starts kept between epochs (h doubles a row); rows beyond start at x0 = 0"}
OPTIONS[#OPTIONS + 1] = {"holdout_max_rows", 10000, {"count", min = 0},
  "the hold-out (early stopping) holds at most this many rows in memory"}
OPTIONS[#OPTIONS + 1] = {"sample_rows", 2000, {"count", min = 1},
  "training rows held in memory to measure the training loss on (s.U, s.Y)"}
implicit_stream.OPTIONS = OPTIONS
implicit_stream.options = params.schema(OPTIONS)
implicit_stream.fit_defaults = implicit.fit_defaults

--- implicit_stream.warm_rows(opts, h, rows) -> the number of training rows
-- whose warm starts fit opts.warm_start_memory bytes (h doubles each).
function implicit_stream.warm_rows(opts, h, rows)
  return math.min(rows, opts.warm_start_memory // (8 * h))
end

local function check_plan(plan, s)
  if type(plan) ~= "table" or type(plan.source) ~= "table" or type(plan.sc) ~= "table" then
    api.fail("config.stream must be the plan of a streamed fit ({source, sc, held, warm_rows}), got "
      .. api.describe(plan))
  end
  api.check(plan.sc.u_mean, {"matrix", rows = s.model.n, cols = 1}, "config.stream.sc.u_mean")
  api.check(plan.sc.y_mean, {"matrix", rows = s.model.p, cols = 1}, "config.stream.sc.y_mean")
end

local function reciprocal(v)
  local r = v:copy()
  for i = 1, r:rows() do r:set(i, 1, 1 / r:get(i, 1)) end
  return r
end

local function context(s, plan, opts)
  local sc = plan.sc
  local theta = standardize.to_standardized(s.model.theta, sc)
  return {model = s.model, sc = sc, theta = theta, plan = plan,
    inv = {u = reciprocal(sc.u_scale), y = reciprocal(sc.y_scale)},
    st = {ws = {}, nws = 0, grads = implicit.new_grads(theta), optim = {}, schedule = {},
      xcache = core.zeros(s.model.h, plan.warm_rows or 0),
      -- the implicit trainer's MLP phase (D held at 0), when training starts at D = 0
      warmup = {left = theta.D:norm("max") == 0 and opts.warmup_epochs or 0, stalled = 0}}}
end

-- The 1-based rows of a batch of b rows starting at 0-based row pos that
-- are not held out (held[lo..hi] are the held rows in the batch).
local function kept_rows(pos, b, held, lo, hi)
  local keep, j = {}, lo
  for r = 1, b do
    if j <= hi and held[j] == pos + r - 1 then j = j + 1 else keep[#keep + 1] = r end
  end
  return keep
end

-- A batch (X rows x n, y rows x 1) as standardized columns U (n x b), Y (p x b),
-- without the rows of keep's complement.
local function columns(ctx, X, y, keep)
  local U, Y = X:t(), y:t()
  if keep then U, Y = U:select_cols(keep), Y:select_cols(keep) end
  core.add_col(U, -1, ctx.sc.u_mean)
  core.scale_rows(U, ctx.inv.u)
  core.add_col(Y, -1, ctx.sc.y_mean)
  core.scale_rows(Y, ctx.inv.y)
  return U, Y
end

-- The workspace of implicit.forward/backward for b columns: batches lose
-- their held-out rows, so sizes vary; a few are cached, not one per size.
local function workspace(st, theta, b)
  if not st.ws[b] then
    if st.nws >= 4 then st.ws, st.nws = {}, 0 end
    st.nws = st.nws + 1
  end
  return implicit.workspace(st.ws, theta, b)
end

-- The warm-start columns first + 1 .. first + b of the training rows that
-- the cache holds: their range in the cache (c1 > c2 when none).
local function warm_range(st, first, b)
  return first + 1, math.min(first + b, st.xcache:cols())
end

-- x0 for training rows first + 1 .. first + b: the cached equilibria, zeros beyond.
local function fill_x0(st, X0, first, b)
  core.fill(X0, 0)
  local c1, c2 = warm_range(st, first, b)
  if c1 <= c2 then core.copy(X0:sub(1, X0:rows(), 1, c2 - c1 + 1), st.xcache:sub(1, X0:rows(), c1, c2)) end
end

local function keep_x(st, X, first, b)
  local c1, c2 = warm_range(st, first, b)
  if c1 <= c2 then core.copy(st.xcache:sub(1, X:rows(), c1, c2), X:sub(1, X:rows(), 1, c2 - c1 + 1)) end
end

-- The loss of the standardized batch U, Y (training rows seen + 1 .. seen +
-- b) and its gradients (into st.grads), the warm starts read and kept, the
-- solvers' iterations counted in st.iters. A numerical fault raises.
local function batch_gradients(theta, U, Y, seen, st, opts, lossfn)
  local b = U:cols()
  local ws = workspace(st, theta, b)
  fill_x0(st, ws.X, seen, b)
  local X, finfo = implicit.forward(theta, U, ws, ws.X, opts, true)
  if not finfo.converged and finfo.stop ~= "steps" then st.eq_failures = st.eq_failures + 1 end
  local loss = lossfn(ws.Yhat, Y, ws.dY)
  if loss ~= loss or math.abs(loss) == math.huge then
    implicit.fault("the training loss is " .. (loss ~= loss and "NaN" or (loss > 0 and "Inf" or "-Inf")))
  end
  local binfo = implicit.backward(theta, U, X, ws, st.grads, opts, true)
  keep_x(st, X, seen, b)
  st.iters.forward = st.iters.forward + finfo.iterations
  st.iters.backward = st.iters.backward + binfo.iterations
  return loss
end

-- One epoch: a step per batch of the source (projected; D held in the MLP
-- phase, opts.explicit). Returns the mean training loss and the mean solver
-- iterations per batch; after a numerical fault, NaN, the iterations so far
-- and its description. A malformed line of the source raises (its message
-- names the line).
local function run_epoch(ctx, opts)
  local theta, st, held = ctx.theta, ctx.st, ctx.plan.held or {}
  local lossfn = implicit.loss_function(opts.loss)
  local step, config = implicit.stepper(opts), implicit.optimizer_config(st, opts, theta)
  local grads = implicit.stepped_grads(st, opts)
  local total, seen, batches = 0, 0, 0
  local pos, j = 0, 1
  for X, y in ctx.plan.source:batches() do
    local b, lo = X:rows(), j
    while held[j] and held[j] < pos + b do j = j + 1 end
    local U, Y = columns(ctx, X, y, j > lo and kept_rows(pos, b, held, lo, j - 1) or nil)
    pos = pos + b
    local bk = U:cols()
    if bk > 0 then
      local feval = function()
        local loss = batch_gradients(theta, U, Y, seen, st, opts, lossfn)
        total = total + loss * bk
        return loss, grads
      end
      local ok, err = pcall(step, feval, theta, config, st.optim)
      local per_step = (st.iters.forward + st.iters.backward) / math.max(batches, 1)
      if not ok then
        if not implicit.is_fault(err) then error(err, 0) end
        return 0 / 0, per_step, err.what
      end
      seen, batches = seen + bk, batches + 1
    end
  end
  if seen == 0 then api.fail("the source has no training rows (all are held out, or it is empty)") end
  return total / seen, (st.iters.forward + st.iters.backward) / batches
end

--- implicit_stream.round(s, config, opts) -> result: one pass over the
-- plan's source (config.stream), as implicit.round is one epoch over s.U.
function implicit_stream.round(s, config, opts)
  state.check(s)
  api.check(config, "table", "config")
  check_plan(config.stream, s)
  opts = implicit.round_options(s, opts or registry.options_of(implicit_stream, config.trainer_options), nil)
  local ctx = s.trainer_state
  if ctx == nil or ctx.model ~= s.model or ctx.plan ~= config.stream then
    ctx = context(s, config.stream, opts)
    s.trainer_state = ctx
  end
  ctx.opts = opts
  return implicit.run_round(s, ctx, opts, run_epoch)
end

return implicit_stream
