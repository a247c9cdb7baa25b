--- Training: the public entry to the trainers and the loop that runs them
-- (the pieces live under lua/idl/train/, one concern per file).
--
-- The relaxed problem of the report (chapters 3-4): for dual variables lambda >= 0,
--
--     min over theta, X >= 0 of  G = L + lambda^T F(X, D X + E U + f 1^T),   D in S
--
-- with L = ||A X + B U + c 1^T - Y||_F^2 / (2m), F the Fenchel divergence per
-- hidden unit and S the model's constraint set; columns are samples.
--
--   trainers.new_state{model =, U =, Y =, X =, eval =} -> s   (idl.train.state)
--   trainers.theta_step(s), x_step(s), dual_step(s, config), objective(s),
--     abc_exact(s), invalidate(s)      the relaxed steps (idl.train.relaxed:
--                                      thin Lua over the core's kernels)
--   trainers.run(trainer, s, config)   the one loop (idl.train.loop): measure,
--                                      best model, early stopping, faults,
--                                      checkpoints, callbacks, progress
--   trainers.checkpoint(s, path), resume(path, data)  (idl.train.checkpoint)
--   trainers.register(spec), names(), registry        (idl.train.registry)
--
-- A trainer is a spec (idl.train.registry): {name, round, options,
-- fit_defaults, save_state, restore_state}, whose round returns a result
-- record. The trainers that ship: two_loops (the report's), one_loop, bcd,
-- hybrid, implicit, each a file idl/train/<name>.lua; a new trainer is one
-- more such file (trainers.run("<name>") loads it), or a spec handed to
-- trainers.register or to trainers.run.
-- @module idl.trainers

local api = require "idl._api"
local state = require "idl.train.state"
local steps = require "idl.train.relaxed"
local registry = require "idl.train.registry"
local monitor = require "idl.train.monitor"
local checkpoint = require "idl.train.checkpoint"
local loop = require "idl.train.loop"

local trainers = {}

-- Every function below is public under "idl.trainers.<name>" (idl._api):
-- whatever check fails inside, the message starts with that name and blames
-- the caller's line.
local function public(name, f) return api.public("idl.trainers." .. name, f) end

trainers.new_state = public("new_state", state.new)
trainers.config = public("config", state.config)
trainers.defaults = state.defaults

trainers.invalidate = public("invalidate", steps.invalidate)
trainers.objective = public("objective", steps.objective)
trainers.theta_step = public("theta_step", steps.theta_step)
trainers.x_step = public("x_step", steps.x_step)
trainers.def_step = public("def_step", steps.def_step)
trainers.abc_exact = public("abc_exact", steps.abc_exact)

--- trainers.dual_step(s, config) -> the number of units updated:
-- lambda += dual_learning_rate * F .* 1{F >= tol_fenchel} (report 4.1), F at
-- the current (theta, X).
trainers.dual_step = public("dual_step", function(s, config)
  state.check(s)
  state.check_config(config, state.DUAL_KEYS)
  return steps.dual_step(s, config.dual_learning_rate, config.tol_fenchel)
end)

trainers.measure = public("measure", monitor.measure)
trainers.restore_best = public("restore_best", monitor.restore_best)
trainers.checkpoint = public("checkpoint", checkpoint.write)
trainers.resume = public("resume", checkpoint.resume)
trainers.run = public("run", loop.run)

-- The trainers that ship, loaded now so that the registry lists them.
registry.load_builtin()

--- trainers.registry: name -> spec of every known trainer.
trainers.registry = registry.specs
trainers.names = public("names", registry.names)

--- trainers.get(name) -> the spec of the trainer `name`, loading its file
-- idl/train/<name>.lua on first use; nil when there is none.
trainers.get = public("get", registry.get)

-- (the rounds themselves, public under their trainer's name: called alone,
-- trainers.bcd(s, config) names itself in an error; inside trainers.run or
-- IDLModel:fit, the function the user called is named)
for _, name in ipairs(registry.BUILTIN) do trainers[name] = registry.specs[name].round end

--- trainers.register(spec) -> spec, or trainers.register(name, round [,
-- {relaxed = true, fit_defaults = {}}]): makes a trainer known by name (see
-- idl.train.registry for the spec; the second form wraps a plain round
-- function). fit_defaults are what the estimator uses when the user leaves
-- them out: rounds_number, patience, holdout (the fraction held out for early
-- stopping when there is no eval_set, or steps {{m1, fraction1}, {m2,
-- fraction2}, ...}: the fraction of the last step with mi <= the number of
-- training samples), refit_below (with fewer training samples, a fit whose
-- hold-out chose a trained round trains again on all of them for as many
-- rounds: est.refit_rounds), ensemble ({size = k, below = m}: the
-- ensemble_size "auto" gives, k models below m training samples, else one)
-- and initialization_options.
trainers.register = public("register", function(spec, fn, opts)
  if type(spec) == "table" then return registry.register(spec) end
  if type(spec) ~= "string" or not spec:match("^[%w_]+$") then
    api.fail("name must be a word (letters, digits, _), got " .. api.describe(spec))
  end
  if type(fn) ~= "function" then api.fail("fn must be a function, got " .. api.describe(fn)) end
  opts = api.options(opts, {relaxed = true, fit_defaults = true}, "options")
  local t = {name = spec, round = fn, relaxed = opts.relaxed, fit_defaults = opts.fit_defaults}
  return registry.register(t)
end)

return trainers
