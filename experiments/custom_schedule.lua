--- New trainers in a few lines of Lua, no recompilation.
--
--     idl experiments/custom_schedule.lua [--rounds 30] [--seed 0]
--
-- A trainer is a spec (idl.train.registry): a table {name, round, options,
-- fit_defaults, ...} whose round(s, config, opts) is built from the relaxed
-- steps (idl.trainers: theta_step, x_step, dual_step, objective, abc_exact,
-- and the report's rounds two_loops, one_loop, bcd) and returns a result
-- record ({stop =, iterations =, ...}). Registered (trainers.register(spec)),
-- it is a `type_of_training` of idl.IDLModel, with history, callbacks, early
-- stopping, faults, checkpoints and the progress line from the one loop.
-- Saved as its own file lua/idl/train/<name>.lua returning the spec, it needs
-- no register call at all: trainers.run("<name>") and IDLModel load it by name
-- (that is how two_loops, one_loop, bcd, hybrid and implicit ship).
--
-- Two trainers are defined here and compared with the report's two_loops on
-- the section 7.2 problem (sin, noise 0.1, h = 100):
--   warmup_alternate  `warmup` rounds (an option, default 5) of dual warm-up
--                     (three dual steps per theta and X step), then one_loop
--                     and two_loops rounds in turn
--   two_loops_refit   a two_loops round, then A, B, c refitted by least
--                     squares on the REAL model's hidden state (the
--                     equilibrium X), which the relaxed steps never look at
local idl = require "idl"
local cli = require "idl.cli"
local params = require "idl.params"

local opts = cli.parse(arg, {
  name = "custom_schedule",
  description = "Define training schedules in Lua and compare them with two_loops (report 7.2 problem).",
  options = {
    {"rounds", "integer", 30, "rounds per fit"},
    {"seed", "integer", 0, "data and model seed"},
  }})

local trainers = idl.trainers

-- Trainer 1: dual warm-up, then alternate the report's two trainers. Its
-- option is declared once, in a schema: trainer_options = {warmup = k}.
trainers.register{
  name = "warmup_alternate",
  options = params.schema{{"warmup", 5, "count", "rounds of dual warm-up"}},
  round = function(s, config, options)
    if s.round <= options.warmup then
      for _ = 1, 3 do trainers.dual_step(s, config) end
      trainers.theta_step(s)
      trainers.x_step(s)
      return {iterations = 1}
    end
    if s.round % 2 == 0 then return trainers.one_loop(s, config) end
    return trainers.two_loops(s, config)
  end,
}

-- Trainer 2: after each two_loops round, refit the readout on the equilibrium.
trainers.register{
  name = "two_loops_refit",
  round = function(s, config)
    local result = trainers.two_loops(s, config)
    local X_eq = s.model:hidden(s.U, {x0 = s.x_eq, tol = 1e-8})
    idl.initializers.least_squares_abc(s.model.theta, X_eq, s.U, s.Y)
    trainers.invalidate(s) -- theta changed outside the steps
    return result
  end,
}

local X, y = idl.data.sin(1000, idl.rng(opts.seed), {noise = 0.1})
local Xtr, Xte, ytr, yte = idl.data.train_test_split(X, y, {test_size = 100, shuffle = false})

print(string.format("%-18s %7s %9s %12s %12s %10s", "schedule", "rounds", "fit (s)", "eval RMSE 0",
  "eval RMSE end", "train G end"))
for _, name in ipairs{"two_loops", "warmup_alternate", "two_loops_refit"} do
  local est = idl.IDLModel{preset = "report", hidden_variables = 100, dual_learning_rate = 1e-3,
    tol_fenchel = 1e-6, starting_lambda = 1e-6, random_state = opts.seed, early_stopping = false,
    verbosity = false}
  local t = idl.clock()
  est:fit(Xtr, ytr, {rounds_number = opts.rounds, type_of_training = name, eval_set = {Xte, yte}})
  local h = est.history
  print(string.format("%-18s %7d %9.3f %12.4f %12.4f %10.3g", name, #h - 1, idl.clock() - t,
    h[1].eval_rmse, idl.metrics.rmse(yte, est:predict(Xte)), h[#h].G))
end
print(string.format("%-18s %7s %9s %12s %12.4f", "linear regression", "", "", "",
  idl.metrics.rmse(yte, idl.LinearRegression():fit(Xtr, ytr):predict(Xte))))
