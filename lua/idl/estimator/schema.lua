--- The parameters of idl.IDLModel and the options of its fit, each declared
-- once (idl.params): estimator.lua takes its defaults, get_params/set_params
-- checks, the names a resumed fit must share and the docs from here.
-- @module idl.estimator.schema

local core = require "idl.core"
local util = require "idl._util"
local api = require "idl._api"
local params_mod = require "idl.params"
local model_mod = require "idl.model"
local losses = require "idl.losses"
local trainers = require "idl.trainers"
local initializers = require "idl.initializers"

local schema = {}

-- starting_lambda: nil, a number >= 0, or an h x 1 matrix / table >= 0 (copied).
local function starting_lambda_value(v, what)
  if type(v) == "number" then return api.test(v, {"number", min = 0}, what) end
  local m, problem = api.test(v, "matrix_like", what)
  if problem then return nil, problem end
  for i = 1, m:rows() do
    for j = 1, m:cols() do
      if m:get(i, j) < 0 then return nil, string.format("%s has a negative entry at (%d, %d)", what, i, j) end
    end
  end
  return m:copy()
end

local function theta_value(v)
  local n, problem = model_mod.theta_problem(v)
  if n == nil then return nil, problem end
  return util.copy_matrices(v)
end

local function table_value(v, what)
  if type(v) ~= "table" then return nil, what .. " must be a table, got " .. api.describe(v) end
  return v
end

local training = params_mod.training

--- schema.auto_hidden(m) -> the hidden size hidden_variables = "auto" gives
-- for m training samples (the rows of X given to fit): min(300, max(30,
-- floor(m / 10))), chosen by cross-validation (experiments/cv_defaults.lua):
-- one unit per ten samples, at least 30, at most 300.
function schema.auto_hidden(m)
  return math.min(300, math.max(30, m // 10))
end

-- "auto" or an integer >= 1 (hidden_variables, ensemble_size)
local function auto_or_count(v, what)
  if v == "auto" then return v end
  if type(v) ~= "number" then
    return nil, string.format("%s must be \"auto\" or an integer >= 1, got %s", what, api.describe(v))
  end
  return api.test(v, {"number", integer = true, min = 1}, what)
end

--- The estimator's parameters, each declared once (idl.params): the
-- constructor's defaults, get_params/set_params, their checks, the values a
-- resumed fit must share with its checkpoint (resume = true) and the docs
-- (estimator.docs()) come from here. The training loop's settings are
-- idl.params.training's declarations; early_stopping is on by default for
-- the estimator (the loop alone runs without it).
local SCHEMA = params_mod.schema{
  {"preset", nil, {"choice", choices = {"report"}}, "named settings: \"report\" = the 2019 report's "
    .. "(two_loops, hidden_variables = 1, its dual step and initialization); a value given explicitly wins"},
  {"hidden_variables", "auto", auto_or_count, "h, the number of hidden units (an integer >= 1), or \"auto\": "
    .. "min(300, max(30, floor(m / 10))) for m training samples", resume = true, presets = {report = 1}},
  training:entry("dual_learning_rate", {presets = {report = 0.1}}),
  training:entry("tol_fenchel", {presets = {report = 0.1}}),
  training:entry("inner_tol", {presets = {report = 1e-3}}),
  {"starting_lambda", nil, starting_lambda_value,
    "lambda0 = starting_lambda * 1 (a number >= 0), or an h x 1 matrix / table; nil: tol_fenchel * 1"},
  {"initialization_theta", nil, theta_value, "a theta {A, B, c, D, E, f} to start from (copied)"},
  {"ensemble_size", "auto", auto_or_count, "the number of models fitted (member r with random_state + "
    .. "1000 (r - 1): its own start, hold-out and batches), whose mean is the model (idl.model.average); "
    .. "\"auto\": the trainer's rule (\"implicit\": 3 below 2,000 samples, else 1; others 1)",
    presets = {report = 1}},
  {"random_state", 0, {"number", integer = true, min = 0, max = 4294967295}, "seed of every random draw",
    resume = true},
  training:entry("early_stopping", {default = true, doc = "with an eval_set (or a trainer's holdout): stop "
    .. "when the eval loss has not improved for `patience` rounds, restore the best"}),
  {"verbosity", true, "boolean", "progress line on a terminal (fit's verbose)"},
  {"constraint", model_mod.constraint_value(nil), model_mod.constraint_value,
    "the set D is kept in: {kind = \"inf\" | \"spectral\" | \"lmi\", kappa < 1} (idl.model)"},
  {"initialization", "linear", {"choice", choices = initializers.names}, "idl.initializers strategy "
    .. "(\"linear\": training starts at the least-squares linear model)", presets = {report = "picard_ls"}},
  {"initialization_options", nil, table_value, "the strategy's options table (nil: the trainer's, "
    .. "those the strategy takes: idl.initializers.accepted)",
    per_trainer = true},
  training:entry("inner_max_iter"),
  training:entry("patience"),
  training:entry("min_improvement"),
  {"loss", model_mod.DEFAULT_LOSS, {"choice", choices = losses.names}, "idl.losses name", resume = true},
  {"tol", 1e-10, {"number", gt = 0}, "equilibrium tolerance of predict"},
  training:entry("monitor_tol"),
  training:entry("monitor_precision"),
  training:entry("monitor_train_every"),
  training:entry("raise_on_nonconvergence"),
  training:entry("centre_inputs", {presets = {report = false}}),
}
schema.parameters = SCHEMA

-- The defaults the registered trainers declare (fit_defaults), by trainer.
local function trainer_defaults()
  local overrides = {}
  for name, entry in pairs(trainers.registry) do
    if next(entry.fit_defaults) then overrides[name] = entry.fit_defaults end
  end
  return overrides
end

--- estimator.docs() -> the parameters of idl.IDLModel as a Markdown table,
-- with the defaults the registered trainers declare (fit_defaults).
function schema.docs()
  return SCHEMA:markdown(trainer_defaults())
end

local function nonempty_string(v, what)
  if type(v) ~= "string" or v == "" then
    return nil, what .. " must be a non-empty string, got " .. api.describe(v)
  end
  return v
end

-- a trainer's name; a trainer in a file of its own (idl/train/<name>.lua) is loaded by it
local function trainer_name(v, what)
  if type(v) == "string" then trainers.get(v) end
  return api.test(v, {"choice", choices = trainers.names()}, what)
end

local function eval_set_value(v, what)
  if type(v) ~= "table" or core.is_matrix(v) or #v ~= 2 then
    return nil, what .. " must be a table {X_eval, y_eval}, got " .. api.describe(v)
  end
  return v
end

-- a function or an array of functions -> the array
local function callbacks_value(v, what)
  local list = type(v) == "function" and {v} or v
  if type(list) ~= "table" then return nil, what .. " must be a function or a table of functions" end
  for i, f in ipairs(list) do
    if type(f) ~= "function" then
      return nil, string.format("%s[%d] must be a function, got %s", what, i, api.describe(f))
    end
  end
  return list
end

--- The options of fit, declared once like the parameters (estimator.fit_docs()
-- renders them). nil defaults are resolved by fit: verbose from verbosity;
-- type_of_training, rounds_number and trainer_options from the checkpoint
-- being resumed, else the trainer's fit_defaults, else the default shown.
local FIT_SCHEMA = params_mod.schema{
  training:entry("rounds_number"),
  {"verbose", nil, "boolean", "the progress line (nil: the verbosity parameter)"},
  {"type_of_training", nil, trainer_name, "the trainer, by name (nil: the checkpoint's, else the preset's, "
    .. "else \"implicit\")", presets = {report = "two_loops"}},
  {"eval_set", nil, eval_set_value, "{X_eval, y_eval}: the evaluation set (history, early stopping)"},
  {"callbacks", nil, callbacks_value, "fn(s, entry) or an array of them, after every round (true stops)"},
  {"trainer_options", nil, "table", "the trainer's own options (its option schema)"},
  {"checkpoint_path", nil, nonempty_string, "where checkpoints are written (atomically)"},
  {"checkpoint_every", 0, {"number", integer = true, min = 0}, "a checkpoint every k rounds (0: at the end)"},
  {"resume", nil, nonempty_string, "the path of a checkpoint to continue from"},
  {"on_step", nil, "function", "fn(s) after every X step of the relaxed trainers (a per-step trace)"},
  {"distributed", false, "boolean", "data-parallel under mpirun: each rank passes its own shard (implicit "
    .. "trainer)"},
}
schema.fit_options = FIT_SCHEMA

--- schema.fit_docs() (estimator.fit_docs) -> the options of est:fit as a Markdown table.
function schema.fit_docs()
  return FIT_SCHEMA:markdown(trainer_defaults())
end

return schema
