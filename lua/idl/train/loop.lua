--- The training loop: one for every trainer. It owns measurement (the
-- history), the best model, early stopping, numerical faults, checkpoints,
-- callbacks, progress and Ctrl-C, and knows no trainer by name: a round
-- returns a result record (idl.train.registry) and the loop reads nothing
-- else from it.
-- @module idl.train.loop

local core = require "idl.core"
local api = require "idl._api"
local registry = require "idl.train.registry"
local state = require "idl.train.state"
local monitor = require "idl.train.monitor"
local faults = require "idl.train.faults"
local checkpoint = require "idl.train.checkpoint"
local mpi = require "idl.mpi"
local distributed = require "idl.distributed"

local loop = {}

local function callbacks_of(config)
  local cb = config.callbacks
  if cb == nil then return {} end
  if type(cb) == "function" then return {cb} end
  return cb
end

-- SIGINT becomes a request to stop after the round while the loop runs: the
-- C handler is installed here and removed when the returned value goes out of
-- scope (a to-be-closed variable: also when an error unwinds the loop).
local function interrupt_guard(config)
  if not config.interruptible or not core._interrupt_begin then return nil end
  core._interrupt_begin()
  return setmetatable({}, {__close = function() core._interrupt_end() end})
end

local function interrupted(guard)
  return guard ~= nil and core._interrupted()
end

local function warn(config, message)
  if config.warn then return config.warn(message) end
  io.stderr:write(config.caller, ": ", message, "\n")
  io.stderr:flush()
end

-- Whether to stop after this round because of an interrupt, or because a
-- callback asked: data-parallel, either on any rank stops every rank (one
-- small allreduce a round), so that a callback deciding on its own rank's
-- clock or data cannot leave the others waiting in the next collective.
local function stop_requests(guard, by_callback, config)
  local stop, cb = interrupted(guard), by_callback
  if config.distributed ~= true then return stop, cb end
  local any = distributed.max{stop and 1 or 0, cb and 1 or 0}
  return any[1] > 0, any[2] > 0
end

-- Writes a checkpoint when one is due; a failed write is a warning, not the
-- end of the run (training goes on; the previous checkpoint stays).
local function maybe_checkpoint(s, config, ending)
  local path = config.checkpoint_path
  if path == nil then return end
  local every = config.checkpoint_every or 0
  if not ending and not (every > 0 and s.round % every == 0) then return end
  -- data-parallel: every rank takes part (each has state of its own shard),
  -- rank 0 alone writes and warns
  local shared = config.distributed == true
  local ok, err = pcall(checkpoint.write, s, path, config.checkpoint_meta, {distributed = shared})
  if ok then
    s.checkpoint_round = s.round
  elseif shared and mpi.rank() ~= 0 then
    return
  else
    warn(config, string.format("round %d: the checkpoint was not written: %s", s.round, api.strip(err)))
  end
end

--- loop.run(round, s, config) -> s: runs up to config.rounds_number rounds
-- of a trainer (round: its name, its spec (idl.train.registry) or a plain
-- function round(s, config) returning a result record or true to stop). Before the first
-- round and after each, a history entry (trainers.measure) is appended to
-- s.history (the first has round = 0: the initialization), the progress bar is
-- updated and each callback(s, entry) is called (one returning true stops;
-- with config.distributed, on any rank: every rank stops).
-- Training also stops when the round returns true, or, with
-- config.early_stopping and an eval set, when the eval loss has not improved
-- for config.patience rounds; then the best model (s.best) is restored into
-- s.model. s.stop_reason says why the loop ended: "rounds_number",
-- "rounds_number_still_improving" (the cap was reached while the eval loss,
-- else the true train loss, was still improving: its best came in the last
-- tenth of the rounds; s.stop_message then says to raise rounds_number),
-- "converged", "callback", "early_stopping", "interrupted" or "non-finite".
--
-- Faults: when a parameter (theta, lambda, the relaxed X), the loss a round
-- reports in its result or a loss of the history entry becomes NaN or Inf
-- (in the round, or by a callback), or the round raises while a parameter is
-- non-finite, the model is rolled back to the parameters of the last good
-- round, s.stop_reason = "non-finite", s.stop_message says what happened and
-- run returns normally after a warning (config.warn, default a line on
-- stderr). A round may also report a fault of its own state (a message) in
-- its result's fault, its training loss in result.loss, and ask for the
-- patience count to restart at its round (result.restart_patience: the
-- implicit trainer when its MLP phase ends and D is released).
-- An equilibrium that does not converge is recorded in the history entry
-- (eq_converged = false, eq_failures); with config.raise_on_nonconvergence
-- it raises instead.
--
-- SIGINT (Ctrl-C, kill -INT) while the loop runs stops it at the end of the
-- current round (s.stop_reason = "interrupted"); a second one goes to the
-- handler that was in place before (the REPL's error, or the end of the
-- process). Checkpoints (trainers.checkpoint) go to config.checkpoint_path
-- every config.checkpoint_every rounds, on an interrupt, and when the run
-- ends (not after a fault: the last good checkpoint stays).
-- The round function and the spec of `round` (a trainer name, a spec, or a
-- plain function), and the round's checked trainer options.
local function resolve(round, config)
  local spec
  if type(round) == "string" then
    spec = registry.get(round)
    if not spec then
      api.fail(string.format("unknown trainer '%s' (known: %s)", round,
        table.concat(registry.names(), ", ")))
    end
  elseif type(round) == "table" then
    spec = registry.register(round)
  elseif type(round) == "function" then
    return round, nil, nil
  else
    api.fail("round must be a trainer name, a spec or a function, got " .. api.describe(round))
  end
  config.relaxed = spec.relaxed
  return spec.round, spec, registry.options_of(spec, config.trainer_options)
end

-- A round's return value as a result record (a plain function's true: stop).
local function as_result(r)
  if type(r) == "table" then return r end
  return {stop = r == true}
end

-- Runs one round; returns its result, or a fault message.
local function play(round, s, config, opts)
  local ok, r = pcall(round, s, config, opts)
  if not ok then
    local what = faults.nonfinite_parameter(s, config)
    if not what then error(r, 0) end
    return nil, string.format("%s (the round raised: %s)", what, tostring(r))
  end
  r = as_result(r)
  local what = r.fault
    or (r.loss ~= nil and not faults.finite_number(r.loss)
      and ("the training loss is " .. faults.nonfinite_word(r.loss)))
    or faults.nonfinite_parameter(s, config)
  return r, what
end

-- Whether a run that reached its round cap was still improving: its best
-- score (eval loss, else true train loss) came in the last tenth of the
-- rounds it ran (at least the last round; without an eval set, at least the
-- last monitoring period, so that a measured round is in the window), and
-- after the initialization (a best at round 0: no round improved on it).
local function still_improving(s, config)
  if not s.best or s.best.round == 0 then return false end
  local window = math.max(1, math.ceil(s.round / 10))
  if not s.eval then window = math.max(window, config.monitor_train_every) end
  return s.best.round > s.round - window
end

--- loop.run(round, s, config) -> s (also trainers.run): runs up to config.rounds_number rounds
-- of round (a trainer spec, a registered name or a function) on the training state s, with
-- everything the module doc above lists; s.stop_reason says why it ended.
function loop.run(round, s, config)
  if config ~= nil then api.check(config, "table", "config") end
  config = state.config(config)
  local fn, spec, opts = resolve(round, config)
  state.check(s)
  state.check_config(config, state.RUN_KEYS)
  if config.distributed ~= nil and type(config.distributed) ~= "boolean" then
    api.fail("config.distributed must be a boolean, got " .. api.describe(config.distributed))
  end
  if spec then s.trainer = spec.name end
  s.start = s.start or core.clock()
  local cbs = callbacks_of(config)
  local guard <close> = interrupt_guard(config)
  if #s.history == 0 then
    local e = monitor.measure(s, config)
    s.history[1] = e
    monitor.track_best(s, e, config.relaxed)
  end
  s.since_best = s.since_best or 0
  s.stop_reason, s.stop_message, s.fault = "rounds_number", nil, nil
  local rounds = config.rounds_number
  if s.resumed_finished then -- resumed from the checkpoint of a run that had ended by itself
    s.stop_reason, rounds, s.resumed_finished = s.resumed_finished, 0, nil
  elseif interrupted(guard) then
    s.stop_reason, rounds = "interrupted", 0
  end
  faults.save_good(s, config)
  for r = 1, rounds do
    local t0 = core.clock()
    s.round = s.round + 1
    local result, what = play(fn, s, config, opts)
    if what then faults.rollback(s, config, what); break end
    local t1 = core.clock()
    local e = monitor.measure(s, config, result)
    what = faults.nonfinite_entry(e)
    if what then faults.rollback(s, config, what); break end
    e.round_seconds = t1 - t0
    s.timing.rounds = s.timing.rounds + (t1 - t0)
    s.timing.monitor = s.timing.monitor + (core.clock() - t1)
    local failed = e.eq_failed
    e.eq_failed = nil
    s.history[#s.history + 1] = e
    -- before track_best, which may make e's score the best one
    if monitor.restarts_patience(s, e, config.min_improvement, result.restart_patience) then s.since_best = 0
    else s.since_best = s.since_best + 1 end
    monitor.track_best(s, e, config.relaxed)
    faults.save_good(s, config)
    if config.raise_on_nonconvergence and failed then
      api.fail(string.format("round %d: %s (raise_on_nonconvergence is set)", s.round,
        failed))
    end
    if config.progress then config.progress:update(s.round, e) end
    local by_callback = false
    for _, cb in ipairs(cbs) do
      if cb(s, e) == true then by_callback = true end
    end
    what = faults.nonfinite_parameter(s, config)
    if what then faults.rollback(s, config, "after the callbacks, " .. what); break end
    -- a run that ends by itself here is finished whatever else asked it to
    -- stop: a checkpoint records it, so that resuming does not run on
    s.finished = result.stop and "converged"
      or (config.early_stopping and s.eval and s.since_best >= config.patience and "early_stopping") or nil
    local stop, cb_stop = stop_requests(guard, by_callback, config)
    if stop then s.stop_reason = "interrupted"
    elseif cb_stop then s.stop_reason = "callback"
    elseif s.finished then s.stop_reason = s.finished
    end
    maybe_checkpoint(s, config, s.stop_reason ~= "rounds_number" or r == rounds)
    if s.stop_reason ~= "rounds_number" then break end
  end
  s.finished = nil
  if s.stop_reason == "interrupted" and s.checkpoint_round ~= s.round then
    maybe_checkpoint(s, config, true)
  end
  local last = s.history[#s.history]
  if last.train_l2 == nil and config.monitor_train_every > 0 then
    -- the true train loss of the final model, even off the monitoring period
    last.train_l2 = monitor.true_loss(s, config, s.U, s.Y, "x_eq")
    if s.model.loss == "squared" then last.train_rmse = math.sqrt(2 * last.train_l2 / s.Y:rows()) end
  end
  if s.stop_reason == "rounds_number" and rounds > 0 and still_improving(s, config) then
    s.stop_reason = "rounds_number_still_improving"
    s.stop_message = string.format("stopped at the cap of %d rounds (rounds_number) while the %s loss was "
      .. "still improving (best at round %d): raise rounds_number to train longer", s.round,
      s.eval and "validation" or "training", s.best.round)
  end
  local restored = config.early_stopping and s.eval and s.best and s.best.round ~= s.round
  if restored then monitor.restore_best(s) end
  if s.fault then
    local f = s.fault
    s.stop_message = string.format("training stopped at round %d: %s; the model keeps the %s", f.round,
      f.what, restored and string.format("best parameters, of round %d (early stopping)", s.best.round)
        or string.format("parameters of round %d", f.good_round))
    warn(config, s.stop_message)
  elseif s.stop_reason == "interrupted" then
    s.stop_message = string.format("training interrupted after round %d%s", s.round,
      s.checkpoint_round == s.round and ("; checkpoint written to " .. config.checkpoint_path) or "")
  end
  return s
end

return loop
