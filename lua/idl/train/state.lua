--- The trainer state and the loop's config: what every trainer and the loop
-- share (idl.trainers re-exports new_state, config and defaults).
--
-- A state `s` holds the model (s.model, trained in place), the data (s.U, s.Y,
-- optional s.eval = {U =, Y =}), the relaxed hidden variable s.X, s.ws (the
-- workspaces of idl.train.relaxed and of the loop), s.history, s.best, and
-- s.trainer_state, the running trainer's own state (its spec saves and
-- restores it; the loop drops it after a fault).
-- @module idl.train.state

local core = require "idl.core"
local api = require "idl._api"
local model_mod = require "idl.model"
local steps = require "idl.train.relaxed"
local params = require "idl.params"

local state = {}

-- s: a trainer state of new_state (errors through idl._api: the public
-- function's name, the caller's line).
function state.check(s)
  if not steps.is_state(s) then
    api.fail("s must be a trainer state (idl.trainers.new_state), got " .. api.describe(s))
  end
end

-- A threshold: any number but NaN and -inf (tol_fenchel = inf counts no unit).
local function check_threshold(v, what)
  if type(v) ~= "number" or v ~= v or v == -math.huge then
    api.fail(what .. " must be a number, got " .. api.describe(v))
  end
end

local function check_rate(v, what) api.check(v, {"number", min = 0}, what) end
local function check_loops(v, what) api.check(v, {"count", min = 0}, what) end
local function check_method(v, what)
  api.check(v, {"choice", choices = {"picard", "anderson"}}, what)
end

-- The config fields the rounds and the loop read, with their checks.
local CONFIG_CHECKS = {
  rounds_number = check_loops, dual_learning_rate = check_rate, tol_fenchel = check_threshold,
  inner_tol = check_threshold, inner_max_iter = check_loops, monitor_tol = check_rate,
  monitor_train_every = check_loops, monitor_max_iter = check_loops, monitor_method = check_method,
  monitor_precision = function(v, what) api.check(v, {"choice", choices = {"double", "single"}}, what) end,
  patience = check_loops,
  min_improvement = function(v, what) api.check(v, {"number", min = 0, max = 0.99}, what) end,
  centre_inputs = function(v, what)
    if type(v) ~= "boolean" then api.fail(what .. " must be a boolean, got " .. api.describe(v)) end
  end,
}

state.DUAL_KEYS = {"dual_learning_rate", "tol_fenchel"}
state.INNER_KEYS = {"dual_learning_rate", "tol_fenchel", "inner_tol", "inner_max_iter"}
state.MEASURE_KEYS = {"monitor_tol", "monitor_train_every", "monitor_max_iter", "monitor_method",
  "monitor_precision"}
state.RUN_KEYS = {"rounds_number", "dual_learning_rate", "tol_fenchel", "inner_tol", "inner_max_iter",
  "monitor_tol", "monitor_train_every", "monitor_max_iter", "monitor_method", "monitor_precision", "patience",
  "min_improvement", "centre_inputs"}

-- Checks that config is a table whose fields `keys` (names of CONFIG_CHECKS)
-- are present and valid.
function state.check_config(config, keys)
  api.check(config, "table", "config")
  for _, k in ipairs(keys) do
    local v = config[k]
    if v == nil then api.fail("config." .. k .. " is missing (see trainers.config)") end
    CONFIG_CHECKS[k](v, "config." .. k)
  end
end

--- state.defaults: the config fields trainers.run and the rounds read: the
-- training settings as declared once in idl.params.training (rounds_number
-- 100, dual_learning_rate 0.1, tol_fenchel 0.1, inner_tol 1e-3,
-- inner_max_iter 500, early_stopping false, patience 10, monitor_tol 1e-6,
-- monitor_train_every 1, monitor_max_iter 1000, monitor_method "picard",
-- monitor_precision "double", raise_on_nonconvergence false, centre_inputs
-- true), and the loop's own fields below.
state.defaults = params.training:resolve({})
for k, v in pairs{
  relaxed = true,          -- the round uses s.X (set from the trainer's spec)
  -- callbacks = {fn(s, entry) -> true to stop, ...}, progress = an idl.progress bar,
  -- trainer_options (checked against the trainer's spec's options),
  -- on_step = fn(s) after every X step of the relaxed trainers (idl.experiment.trace_steps),
  -- distributed = true: data-parallel under MPI (each rank its own shard; the implicit trainer
  -- reduces its steps and the monitor its losses over the ranks; rank 0 alone writes checkpoints),
  -- checkpoint_path (nil: no checkpoints), checkpoint_meta (extra meta fields, the estimator's),
  -- warn = fn(message) for warnings (default: a line on stderr): all nil by default
  checkpoint_every = 0,    -- a checkpoint every k rounds (0: only when the run ends)
  interruptible = true,    -- SIGINT (Ctrl-C) stops after the current round
  caller = "run",          -- the name warnings start with
} do state.defaults[k] = v end

--- state.config(t) -> a copy of t with the defaults filled in.
function state.config(t)
  if t ~= nil then api.check(t, "table", "t") end
  local c = {}
  for k, v in pairs(state.defaults) do c[k] = v end
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end

local STATE_ARGS = {model = true, U = true, Y = true, X = true, eval = true}

--- state.new{model =, U =, Y =, X = nil, eval = {U =, Y =}} -> s.
-- U is n x m, Y p x m (columns are samples); X (h x m, the relaxed hidden
-- variable) defaults to the equilibrium of the model on U. The model is
-- trained in place; U, Y, X and eval are only read (X is copied).
function state.new(args)
  if args == nil then api.fail("needs a table {model =, U =, Y =, ...}") end
  api.options(args, STATE_ARGS, "arguments")
  local m = args.model
  if getmetatable(m) ~= model_mod.Model then
    api.fail("model must be an idl.model, got " .. api.describe(m))
  end
  local U, Y = args.U, args.Y
  if not core.is_matrix(U) or U:rows() ~= m.n then
    api.fail(string.format("U must be a %d x m matrix, got %s", m.n, api.describe(U)))
  end
  if not core.is_matrix(Y) or Y:rows() ~= m.p or Y:cols() ~= U:cols() then
    api.fail(string.format("Y must be a %d x %d matrix, got %s", m.p, U:cols(), api.describe(Y)))
  end
  local X
  if args.X ~= nil then
    if not core.is_matrix(args.X) or args.X:rows() ~= m.h or args.X:cols() ~= U:cols() then
      api.fail(string.format("X must be a %d x %d matrix, got %s", m.h, U:cols(), api.describe(args.X)))
    end
    X = core.project_nonneg_(args.X:copy())
  end
  local s = {model = m, U = U, Y = Y, X = X, eval = args.eval, round = 0, history = {}, best = nil,
    ws = {}, timing = {rounds = 0, monitor = 0}}
  if s.X == nil then
    s.X = m:hidden(U, {max_iter = 10000})
    core.project_nonneg_(s.X)
  end
  return s
end

return state
