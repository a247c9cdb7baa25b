--- The report's trainers of the relaxed problem (chapters 3-4), as short
-- functions over a state table, and the loop that runs them.
--
-- The relaxed problem: for dual variables lambda >= 0,
--
--     min over theta, X >= 0 of  G = L + lambda^T F(X, D X + E U + f 1^T),   D in S
--
-- with L = ||A X + B U + c 1^T - Y||_F^2 / (2m) (the report's "L2 loss"), F the
-- Fenchel divergence per hidden unit, S the model's constraint set. Columns are
-- samples: U n x m, Y p x m, X h x m.
--
-- A state `s` (trainers.new_state) holds the model (s.model, whose theta and
-- lambda the steps update in place), the data (s.U, s.Y, optional s.eval),
-- the relaxed hidden variable s.X, workspaces, s.history and s.best. The
-- building blocks each do one thing:
--
--   trainers.theta_step(s)   one projected gradient step on (A,B,c) and (D,E,f)
--                            at fixed X, steps 1/L from idl.lipschitz (valid
--                            constants, REPORT-NOTES.md), then D onto S
--   trainers.x_step(s)       one projected gradient step on X at fixed theta,
--                            step 1/L_x, then X onto X >= 0
--   trainers.dual_step(s, c) lambda += alpha F .* 1{F >= eps} (report 4.1)
--   trainers.objective(s)    G, L, F at the current (theta, X)
--   trainers.abc_exact(s)    A, B, c by least squares (L is quadratic in them)
--
-- and a round is a few lines over them (two_loops, one_loop, bcd below). A
-- round function takes (s, config) and returns true to stop training (e.g.
-- no unit left with F >= eps). trainers.run(round, s, config) records the
-- history, calls the callbacks, keeps the best model and stops early; it also
-- stops on a NaN or Inf (rolling the model back to the last good round), on
-- Ctrl-C (after the round), and writes checkpoints (trainers.checkpoint) that
-- trainers.resume continues bit for bit.
--
-- Another module adds a trainer with trainers.register(name, fn, {relaxed =
-- false}) (e.g. "implicit", training through the equilibrium); relaxed = false
-- means the trainer does not use s.X and the history's relaxed fields stay nil.
--
-- The steps keep the forward pass Z = D X + E U + f 1^T and R = A X + B U +
-- c 1^T - Y cached in s.ws while neither theta nor X changes, so an inner
-- iteration of two_loops costs four h x h x m GEMMs (grad D, Z after the theta
-- step, D^T W for grad X, Z after the X step); the step sizes are valid
-- Lipschitz constants kept as upper bounds between exact recomputations (see
-- "Step sizes" below). The steps are checked against idl.gradients and
-- idl.lipschitz in tests/lua/trainers_spec.lua. A schedule that edits theta
-- or X by hand calls trainers.invalidate(s) afterwards.
-- @module idl.trainers

local core = require "idl.core"
local util = require "idl._util"
local model_mod = require "idl.model"
local losses = require "idl.losses"
local json = require "idl.json"
local steps = require "idl.train.relaxed"

local trainers = {}

-- ---------------------------------------------------------------------------
-- Argument checks of the public functions (errors name fname; `level` as in
-- idl._util, 2 = the caller of the public function).

-- s: a trainer state of trainers.new_state.
local function check_state(s, fname, level)
  if type(s) ~= "table" or getmetatable(s.model) ~= model_mod.Model or not core.is_matrix(s.U)
    or not core.is_matrix(s.Y) or not core.is_matrix(s.X) or type(s.ws) ~= "table" then
    util.fail(fname, "s must be a trainer state (idl.trainers.new_state), got " .. util.describe(s),
      (level or 2) + 1)
  end
end

-- A threshold: any number but NaN and -inf (tol_fenchel = inf counts no unit).
local function check_threshold(v, fname, what, level)
  if type(v) ~= "number" or v ~= v or v == -math.huge then
    util.fail(fname, what .. " must be a number, got " .. util.describe(v), level + 1)
  end
end

local function check_rate(v, fname, what, level) util.check_number(v, fname, what, {min = 0}, level + 1) end
local function check_tol(v, fname, what, level) check_threshold(v, fname, what, level + 1) end
local function check_loops(v, fname, what, level) util.check_count(v, fname, what, 0, level + 1) end
local function check_method(v, fname, what, level)
  util.check_choice(v, {"picard", "anderson"}, fname, what, level + 1)
end

-- The config fields the rounds and the loop read, with their checks.
local CONFIG_CHECKS = {
  rounds_number = check_loops, dual_learning_rate = check_rate, tol_fenchel = check_threshold,
  inner_tol = check_tol, inner_max_iter = check_loops, monitor_tol = check_rate,
  monitor_train_every = check_loops, monitor_max_iter = check_loops, monitor_method = check_method,
  patience = check_loops,
}

-- Checks that config is a table whose fields `keys` (names of CONFIG_CHECKS)
-- are present and valid.
local function check_config(config, keys, fname, level)
  level = (level or 2) + 1
  util.check_table(config, fname, "config", level)
  for _, k in ipairs(keys) do
    local v = config[k]
    if v == nil then util.fail(fname, "config." .. k .. " is missing (see trainers.config)", level) end
    CONFIG_CHECKS[k](v, fname, "config." .. k, level)
  end
end

local DUAL_KEYS = {"dual_learning_rate", "tol_fenchel"}
local INNER_KEYS = {"dual_learning_rate", "tol_fenchel", "inner_tol", "inner_max_iter"}
local MEASURE_KEYS = {"monitor_tol", "monitor_train_every", "monitor_max_iter", "monitor_method"}

-- ---------------------------------------------------------------------------
-- State

local STATE_ARGS = {model = true, U = true, Y = true, X = true, eval = true}

--- trainers.new_state{model =, U =, Y =, X = nil, eval = {U =, Y =}} -> s.
-- U is n x m, Y p x m (columns are samples); X (h x m, the relaxed hidden
-- variable) defaults to the equilibrium of the model on U. The model is
-- trained in place; U, Y, X and eval are only read (X is copied).
function trainers.new_state(args)
  local fn = "new_state"
  if args == nil then util.fail(fn, "needs a table {model =, U =, Y =, ...}") end
  util.check_options(args, STATE_ARGS, fn, "arguments")
  local m = args.model
  if getmetatable(m) ~= model_mod.Model then
    util.fail(fn, "model must be an idl.model, got " .. util.describe(m))
  end
  local U, Y = args.U, args.Y
  if not core.is_matrix(U) or U:rows() ~= m.n then
    util.fail(fn, string.format("U must be a %d x m matrix, got %s", m.n, util.describe(U)))
  end
  if not core.is_matrix(Y) or Y:rows() ~= m.p or Y:cols() ~= U:cols() then
    util.fail(fn, string.format("Y must be a %d x %d matrix, got %s", m.p, U:cols(), util.describe(Y)))
  end
  local X
  if args.X ~= nil then
    if not core.is_matrix(args.X) or args.X:rows() ~= m.h or args.X:cols() ~= U:cols() then
      util.fail(fn, string.format("X must be a %d x %d matrix, got %s", m.h, U:cols(), util.describe(args.X)))
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

-- The steps (idl.train.relaxed), under the names the rounds and schedules use.
trainers.invalidate = steps.invalidate
trainers.objective = steps.objective
trainers.theta_step = steps.theta_step
trainers.x_step = steps.x_step
trainers.abc_exact = steps.abc_exact

--- trainers.dual_step(s, config) -> the number of units updated:
-- lambda += dual_learning_rate * F .* 1{F >= tol_fenchel} (report 4.1), F at
-- the current (theta, X).
function trainers.dual_step(s, config)
  check_state(s, "trainers.dual_step")
  check_config(config, DUAL_KEYS, "trainers.dual_step")
  return steps.dual_step(s, config.dual_learning_rate, config.tol_fenchel)
end

-- ---------------------------------------------------------------------------
-- Rounds

-- |G0 - G1| <= tol |G0|: the relative change test of the inner loops.
local function settled(g0, g1, tol)
  return math.abs(g0 - g1) <= tol * math.max(math.abs(g0), 1e-300)
end

--- two_loops (the report's recommended trainer): block-coordinate projected
-- gradient on (theta, X) until the relative change of G falls below
-- config.inner_tol (or config.inner_max_iter steps), then one dual step.
-- Stops training when no unit has F >= tol_fenchel.
function trainers.two_loops(s, config)
  check_state(s, "trainers.two_loops")
  check_config(config, INNER_KEYS, "trainers.two_loops")
  local g0 = trainers.objective(s)
  local k = 0
  repeat
    trainers.theta_step(s)
    trainers.x_step(s)
    local g1 = trainers.objective(s)
    k = k + 1
    local done = settled(g0, g1, config.inner_tol)
    g0 = g1
  until done or k >= config.inner_max_iter
  s.inner_iterations = k
  return trainers.dual_step(s, config) == 0
end

--- one_loop: one theta step, one X step and one dual step per round.
function trainers.one_loop(s, config)
  check_state(s, "trainers.one_loop")
  check_config(config, DUAL_KEYS, "trainers.one_loop")
  trainers.theta_step(s)
  trainers.x_step(s)
  trainers.dual_step(s, config)
  s.inner_iterations = 1
  return false
end

--- bcd (report 3.1): block coordinate descent. (A, B, c) exactly by least
-- squares, (D, E, f) then X by projected gradient until the relative change of
-- G is below inner_tol (at most inner_max_iter steps each), then a dual step.
function trainers.bcd(s, config)
  check_state(s, "trainers.bcd")
  check_config(config, INNER_KEYS, "trainers.bcd")
  trainers.abc_exact(s)
  local k = 0
  local g0 = trainers.objective(s)
  repeat
    if not steps.def_step(s) then break end
    local g1 = trainers.objective(s)
    k = k + 1
    local done = settled(g0, g1, config.inner_tol)
    g0 = g1
  until done or k >= config.inner_max_iter
  local kx = 0
  repeat
    trainers.x_step(s)
    local g1 = trainers.objective(s)
    kx = kx + 1
    local done = settled(g0, g1, config.inner_tol)
    g0 = g1
  until done or kx >= config.inner_max_iter
  s.inner_iterations = k + kx
  return trainers.dual_step(s, config) == 0
end

-- ---------------------------------------------------------------------------
-- Registry

trainers.registry = {}

--- trainers.register(name, fn [, {relaxed = true, fit_defaults = {}}]): makes
-- fn(s, config) a round that idl.IDLModel can run with type_of_training = name.
-- relaxed = false for trainers that do not use the relaxed variable X (then
-- the history's G, relaxed_l2 and residual are not recorded). fit_defaults
-- are what the estimator uses when the user leaves them out: rounds_number,
-- holdout (the fraction of the training data held out for early stopping
-- when there is no eval_set) and initialization_options.
function trainers.register(name, fn, opts)
  if type(name) ~= "string" or not name:match("^[%w_]+$") then
    error("register: name must be a word (letters, digits, _), got " .. util.describe(name), 2)
  end
  if type(fn) ~= "function" then error("register: fn must be a function, got " .. util.describe(fn), 2) end
  opts = util.check_options(opts, {relaxed = true, fit_defaults = true}, "register", "options")
  if opts.relaxed ~= nil then util.check_boolean(opts.relaxed, "register", "relaxed") end
  if opts.fit_defaults ~= nil then util.check_table(opts.fit_defaults, "register", "fit_defaults") end
  trainers.registry[name] = {fn = fn, relaxed = not (opts and opts.relaxed == false),
    fit_defaults = opts and opts.fit_defaults or {}}
end

trainers.register("two_loops", trainers.two_loops)
trainers.register("one_loop", trainers.one_loop)
trainers.register("bcd", trainers.bcd)

--- hybrid: the report's Fenchel trainer, then implicit fine-tuning. The first
-- config.trainer_options.fenchel_rounds rounds (default 10) are two_loops
-- rounds; every later round is an epoch of the "implicit" trainer, starting
-- from the model the Fenchel rounds left. (After the switch, the relaxed
-- fields of the history describe the frozen relaxed X, not the model.)
function trainers.hybrid(s, config)
  check_state(s, "trainers.hybrid")
  check_config(config, INNER_KEYS, "trainers.hybrid")
  local opts = config.trainer_options or {}
  if s.round <= (opts.fenchel_rounds or 10) then
    trainers.two_loops(s, config)
    return false
  end
  return require("idl.implicit").round(s, config)
end

trainers.register("hybrid", trainers.hybrid,
  {fit_defaults = {rounds_number = 60, holdout = 0.2, patience = 40}})

--- trainers.names() -> the sorted names of the registered trainers.
function trainers.names()
  local t = {}
  for k in pairs(trainers.registry) do t[#t + 1] = k end
  table.sort(t)
  return t
end

-- ---------------------------------------------------------------------------
-- The loop

--- trainers.defaults: the config fields trainers.run and the rounds read.
trainers.defaults = {
  rounds_number = 100,     -- rounds (dual updates) at most
  dual_learning_rate = 0.1,
  tol_fenchel = 0.1,
  inner_tol = 1e-3,        -- relative change of G that ends an inner loop
  inner_max_iter = 500,    -- inner steps at most (the report's cap)
  early_stopping = false,  -- stop when the eval loss stalls for `patience` rounds
  patience = 10,
  monitor_tol = 1e-6,      -- equilibrium tolerance of the true losses per round
  monitor_train_every = 1, -- true train loss every k rounds (0: never); eval: every round
  monitor_max_iter = 1000,
  monitor_method = "picard",
  relaxed = true,          -- the round uses s.X (set from the registry)
  callbacks = nil,         -- {fn(s, entry) -> true to stop, ...}
  progress = nil,          -- an idl.progress bar, updated per round
  trainer_options = nil,   -- settings of a registered trainer (read by that trainer)
  raise_on_nonconvergence = false, -- raise when an equilibrium does not converge
  checkpoint_path = nil,   -- where trainers.checkpoint writes (nil: no checkpoints)
  checkpoint_every = 0,    -- a checkpoint every k rounds (0: only when the run ends)
  checkpoint_meta = nil,   -- extra meta fields for the checkpoint (the estimator's)
  interruptible = true,    -- SIGINT (Ctrl-C) stops after the current round
  caller = "run",          -- the name messages and warnings start with
  warn = nil,              -- fn(message) for warnings (default: a line on stderr)
}

--- trainers.config(t) -> a copy of t with the defaults filled in.
function trainers.config(t)
  if t ~= nil then util.check_table(t, "trainers.config", "t") end
  local c = {}
  for k, v in pairs(trainers.defaults) do c[k] = v end
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end

-- The true loss on (U, Y): X from the equilibrium, warm-started at s[key].
-- The start is the linear extrapolation 2 X_k - X_{k-1} of the last two
-- equilibria: theta moves a little each round, and along a smooth path this
-- saves about one Picard iteration (one GEMM) in three. Any start converges
-- (the map is a contraction), so a poor guess only costs iterations.
local function true_loss(s, config, U, Y, key)
  local spec = losses.get(s.model.loss)
  local x0, prev = s[key], s[key .. "_prev"]
  if x0 and prev then
    local guess = x0 * 2
    core.axpy(guess, -1, prev)
    x0 = guess
  end
  local Yhat, info = s.model:predict_u(U, {x0 = x0, tol = config.monitor_tol,
    max_iter = config.monitor_max_iter, method = config.monitor_method})
  s[key .. "_prev"] = s[key]
  s[key] = info.x
  s.eq_iterations = (s.eq_iterations or 0) + info.iterations
  return spec.value(Yhat, Y), info
end

-- Records a monitoring solve in the entry: eq_converged stays true only if
-- every solve of the round converged; eq_failures counts the others, and
-- eq_failed names the first (for the message of raise_on_nonconvergence).
local function note_solve(e, info, what)
  if info.converged then return end
  e.eq_converged = false
  e.eq_failures = e.eq_failures + 1
  e.eq_failed = e.eq_failed or string.format("the equilibrium on the %s set did not converge "
    .. "(residual %.3g after %d iterations)", what, info.residual, info.iterations)
end

--- trainers.measure(s, config) -> a history entry for the current model:
-- round, G (relaxed objective), relaxed_l2 (L with the trained X), train_l2 (L
-- with X from the equilibrium: the real model; every config.monitor_train_every
-- rounds, nil in between), eval_l2 (the same on s.eval, every round),
-- their RMSEs (for the squared loss: sqrt(2 L / p)), lambda_l1, residual =
-- ||X - (D X + E U + f 1^T)_+||_F for the trained X, seconds since the start;
-- eq_converged (false when an equilibrium solved for the entry, or one the
-- round reported in s.round_eq_failures, did not converge) and eq_failures
-- (how many did not).
-- "L2" is the report's L = ||.||_F^2 / (2m) (or the model's loss if not squared).
function trainers.measure(s, config)
  check_state(s, "trainers.measure")
  check_config(config, MEASURE_KEYS, "trainers.measure")
  local e = {round = s.round, inner_iterations = s.inner_iterations, eq_converged = true, eq_failures = 0}
  local lam = s.model.lambda
  e.lambda_l1 = lam:relu():sum() + (-lam):relu():sum()
  if config.relaxed then
    local G, L, _, residual = trainers.objective(s)
    e.G, e.relaxed_l2, e.residual = G, L, residual
  end
  local every = config.monitor_train_every
  if every > 0 and s.round % every == 0 then
    local info
    e.train_l2, info = true_loss(s, config, s.U, s.Y, "x_eq")
    note_solve(e, info, "training")
  end
  if s.eval then
    local info
    e.eval_l2, info = true_loss(s, config, s.eval.U, s.eval.Y, "x_eq_eval")
    note_solve(e, info, "evaluation")
  end
  local inner = s.round_eq_failures or 0
  if inner > 0 then
    e.eq_converged = false
    e.eq_failures = e.eq_failures + inner
    e.eq_failed = e.eq_failed or string.format("%d equilibrium solve%s of the round did not converge", inner,
      inner == 1 and "" or "s")
  end
  if s.model.loss == "squared" then
    local p = s.Y:rows()
    if e.train_l2 then e.train_rmse = math.sqrt(2 * e.train_l2 / p) end
    if e.eval_l2 then e.eval_rmse = math.sqrt(2 * e.eval_l2 / p) end
  end
  e.seconds = core.clock() - (s.start or core.clock())
  return e
end

-- Keeps a copy of the model when its score (eval loss, else true train loss)
-- is the best so far.
local function track_best(s, e)
  local score = e.eval_l2 or e.train_l2
  if score ~= nil and score == score and (s.best == nil or score < s.best.score) then
    s.best = {score = score, round = e.round, model = s.model:copy(), X = s.X:copy()}
    return true
  end
  return false
end

local function callbacks_of(config)
  local cb = config.callbacks
  if cb == nil then return {} end
  if type(cb) == "function" then return {cb} end
  return cb
end

-- ---------------------------------------------------------------------------
-- Numerical faults: the last good parameters and the checks

local function finite_number(v) return v == v and v ~= math.huge and v ~= -math.huge end

local function nonfinite_word(v)
  if v ~= v then return "NaN" end
  return v > 0 and "Inf" or "-Inf"
end

-- "theta.A has a NaN entry at (1, 2)" for the first non-finite parameter
-- (theta, lambda, and X for the relaxed trainers), or nil.
local function nonfinite_parameter(s, config)
  local function check(name, m)
    local i, j = util.first_nonfinite(m)
    if i then
      return string.format("%s has a%s %s entry at (%d, %d)", name, m:get(i, j) ~= m:get(i, j) and "" or "n",
        nonfinite_word(m:get(i, j)), i, j)
    end
  end
  for _, k in ipairs(model_mod.THETA_NAMES) do
    local msg = check("theta." .. k, s.model.theta[k])
    if msg then return msg end
  end
  return check("lambda", s.model.lambda) or (config.relaxed and check("the relaxed variable X", s.X)) or nil
end

local ENTRY_LOSSES = {{"G", "the relaxed objective G"}, {"relaxed_l2", "the relaxed training loss"},
  {"train_l2", "the training loss"}, {"eval_l2", "the evaluation loss"}, {"residual", "the residual"}}

local function nonfinite_entry(e)
  for _, f in ipairs(ENTRY_LOSSES) do
    local v = e[f[1]]
    if v ~= nil and not finite_number(v) then return string.format("%s is %s", f[2], nonfinite_word(v)) end
  end
end

-- The parameters of the last good round, copied into buffers allocated once.
local function save_good(s, config)
  local g = s.ws.good
  if g == nil then
    g = {theta = {}}
    for _, k in ipairs(model_mod.THETA_NAMES) do g.theta[k] = s.model.theta[k]:copy() end
    g.lambda = s.model.lambda:copy()
    s.ws.good = g
  else
    for _, k in ipairs(model_mod.THETA_NAMES) do core.copy(g.theta[k], s.model.theta[k]) end
    core.copy(g.lambda, s.model.lambda)
  end
  if config.relaxed then
    g.X = g.X or core.zeros(s.X:rows(), s.X:cols())
    core.copy(g.X, s.X)
  end
  g.round = s.round
  return g
end

-- Rolls the model back to the last good parameters; the trainer's own state
-- (s.implicit) holds the fault too and is dropped.
local function stop_nonfinite(s, config, what)
  local g = s.ws.good
  local bad_round = s.round
  for _, k in ipairs(model_mod.THETA_NAMES) do core.copy(s.model.theta[k], g.theta[k]) end
  core.copy(s.model.lambda, g.lambda)
  if config.relaxed and g.X then core.copy(s.X, g.X) end
  s.implicit = nil
  trainers.invalidate(s)
  s.round = g.round
  s.fault = {round = bad_round, what = what, good_round = g.round}
  s.stop_reason = "non-finite"
end

-- ---------------------------------------------------------------------------
-- Checkpoints: the model file (idl.model's format) of the current model, with
-- the trainer state in its meta section:
--
--   meta checkpoint.format number 1
--   meta checkpoint.state string <JSON>   the state's plain values (round,
--        history, counters, best score, rng states, ...); a matrix appears in
--        it as {"$m": "<name>"}, a generator as {"$rng": "<hex of rng:state()>"}
--   meta checkpoint.<name> matrix ...     those matrices (X, best.theta.A,
--        implicit.optim.m.D, ...), %.17g: every double reads back exactly
--
-- plus the caller's checkpoint_meta fields (the estimator: its parameters and
-- fit options). idl.load reads a checkpoint as the model it holds; the file is
-- written atomically (Model:save), so an interrupted write leaves the previous
-- checkpoint intact.

local CHECKPOINT_FORMAT = 1

-- Stop reasons with which a resumed run has nothing left to do.
local FINAL = {converged = true, early_stopping = true}

local function is_rng(v)
  local mt = type(v) == "userdata" and getmetatable(v)
  return mt and mt.__name == "idl.rng" or false
end

local function to_hex(b)
  return (b:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function from_hex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

-- Plain values for JSON; matrices into mats[name], generators as hex.
local function pack(v, name, mats)
  if core.is_matrix(v) then
    mats[name] = v
    return {["$m"] = name}
  elseif is_rng(v) then
    return {["$rng"] = to_hex(v:state())}
  elseif type(v) == "table" then
    local t = {}
    for k, x in pairs(v) do t[k] = pack(x, name .. "." .. tostring(k), mats) end
    return t
  end
  return v
end

local function unpack_value(v, meta, where)
  if type(v) ~= "table" then return v end
  if v["$m"] then
    local m = meta["checkpoint" .. tostring(v["$m"])]
    if not core.is_matrix(m) then
      util.fail("resume", where .. ": matrix " .. tostring(v["$m"]) .. " is missing", 4)
    end
    return m
  end
  if v["$rng"] then
    local g = core.rng(0)
    g:set_state(from_hex(v["$rng"]))
    return g
  end
  local t = {}
  for k, x in pairs(v) do t[k] = unpack_value(x, meta, where) end
  return t
end

-- Figures that identify a data set: a resumed run must see the same data.
local function fingerprint(U, Y)
  return {rows = U:rows(), cols = U:cols(), outputs = Y:rows(), u_sum = U:sum(), u_norm = U:norm("fro"),
    y_sum = Y:sum(), y_norm = Y:norm("fro")}
end

local STATE_KEYS = {"round", "since_best", "history", "timing", "eq_iterations", "inner_iterations", "X",
  "x_eq", "x_eq_prev", "x_eq_eval", "x_eq_eval_prev", "sigma", "lipschitz_slack", "last_constants"}

--- trainers.checkpoint(s, path [, meta]) -> path: writes the current model and
-- the trainer state of s (round, history, best model, early-stopping counter,
-- relaxed X, warm starts, step-size bounds, and the state of a trainer with
-- one of its own, e.g. "implicit": its standardized parameters, Adam moments,
-- generator, learning rate) atomically to path, in the format above. meta is a
-- table of extra meta fields (keys of letters, digits, _ . -). trainers.resume
-- continues from the file exactly where s stood.
function trainers.checkpoint(s, path, meta)
  local fn = "checkpoint"
  if type(s) ~= "table" or getmetatable(s.model) ~= model_mod.Model then
    util.fail(fn, "s must be a trainer state (trainers.new_state), got " .. util.describe(s))
  end
  if type(path) ~= "string" or path == "" then
    util.fail(fn, "path must be a non-empty string, got " .. util.describe(path))
  end
  if meta ~= nil and type(meta) ~= "table" then
    util.fail(fn, "meta must be a table, got " .. util.describe(meta))
  end
  local tree = {format = CHECKPOINT_FORMAT, data = fingerprint(s.U, s.Y),
    eval = s.eval and fingerprint(s.eval.U, s.eval.Y) or nil, finished = s.finished}
  for _, k in ipairs(STATE_KEYS) do tree[k] = s[k] end
  if s.best then
    tree.best = {score = s.best.score, round = s.best.round, theta = s.best.model.theta,
      lambda = s.best.model.lambda, X = s.best.X}
  end
  if s.implicit then tree.implicit = require("idl.implicit").save_state(s) end
  local mats = {}
  local packed = pack(tree, "", mats)
  local m = s.model:copy()
  for k, v in pairs(meta or {}) do m.meta[k] = v end
  m.meta["checkpoint.format"] = CHECKPOINT_FORMAT
  local ok, text = pcall(json.encode, packed, {allow_nan = true})
  if not ok then util.fail(fn, "the state cannot be written: " .. tostring(text)) end
  m.meta["checkpoint.state"] = text
  for name, v in pairs(mats) do m.meta["checkpoint" .. name] = v end
  local saved, err = pcall(m.save, m, path)
  if not saved then util.fail(fn, tostring(err):gsub("^.-save: ", "")) end
  return path
end

--- trainers.resume(checkpoint, {U =, Y =, eval = {U =, Y =}}) -> s: the trainer
-- state written by trainers.checkpoint (checkpoint: its path, or the model
-- idl.load read from it), on the data it was trained on (checked: shapes and
-- sums must match, else "resume: ... differs"). trainers.run(round, s, config)
-- then continues the run: the same config gives the same rounds, bit for bit,
-- as the run that was never stopped.
function trainers.resume(checkpoint, data)
  local fn = "resume"
  local m = checkpoint
  if type(m) == "string" then
    local ok, loaded = pcall(model_mod.load, m)
    if not ok then util.fail(fn, tostring(loaded):gsub("^.-load: ", "")) end
    m = loaded
  end
  if getmetatable(m) ~= model_mod.Model then
    util.fail(fn, "checkpoint must be a path or a model read from a checkpoint, got " .. util.describe(m))
  end
  local text = m.meta["checkpoint.state"]
  if type(text) ~= "string" or m.meta["checkpoint.format"] ~= CHECKPOINT_FORMAT then
    util.fail(fn, "not a checkpoint (a model file without trainer state, or another checkpoint format)")
  end
  local decoded, err = json.decode(text)
  if type(decoded) ~= "table" then util.fail(fn, "the trainer state does not parse: " .. tostring(err)) end
  local tree = unpack_value(decoded, m.meta, "checkpoint")
  if type(data) ~= "table" or core.is_matrix(data) then
    util.fail(fn, "data must be a table {U =, Y =, eval =}, got " .. util.describe(data))
  end
  util.check_options(data, {U = true, Y = true, eval = true}, fn, "data")
  local ev = data.eval
  if ev ~= nil and (type(ev) ~= "table" or core.is_matrix(ev) or not core.is_matrix(ev.U)
    or not core.is_matrix(ev.Y) or ev.U:rows() ~= m.n or ev.Y:rows() ~= m.p
    or ev.U:cols() ~= ev.Y:cols()) then
    util.fail(fn, string.format("data.eval must be a table {U = %d x k, Y = %d x k}, got %s", m.n, m.p,
      util.describe(ev)))
  end
  local model = m:copy()
  for k in pairs(model.meta) do
    if tostring(k):match("^checkpoint%.") then model.meta[k] = nil end
  end
  local ok, s = pcall(trainers.new_state, {model = model, U = data.U, Y = data.Y, X = tree.X, eval = ev})
  if not ok then util.fail(fn, tostring(s):gsub("^.-new_state: ", "")) end
  local function same(what, want, got)
    for _, k in ipairs{"rows", "cols", "outputs", "u_sum", "u_norm", "y_sum", "y_norm"} do
      if want[k] ~= got[k] then
        util.fail(fn, string.format("%s differs from the data of the checkpoint (%s: %.17g, "
          .. "checkpoint %.17g)", what, k, got[k], want[k]), 4)
      end
    end
  end
  same("the training data", tree.data, fingerprint(s.U, s.Y))
  if (tree.eval == nil) ~= (s.eval == nil) then
    util.fail(fn, tree.eval and "the checkpoint has an evaluation set, data.eval is missing"
      or "data.eval is given, the checkpoint was written without an evaluation set")
  end
  if tree.eval then same("the evaluation data", tree.eval, fingerprint(s.eval.U, s.eval.Y)) end
  for _, k in ipairs(STATE_KEYS) do
    if k ~= "X" then s[k] = tree[k] end
  end
  s.history = s.history or {}
  s.timing = s.timing or {rounds = 0, monitor = 0}
  s.resumed_finished = FINAL[tree.finished] and tree.finished or nil
  if tree.best then
    local b = tree.best
    s.best = {score = b.score, round = b.round, X = b.X, model = model_mod.new{theta = b.theta,
      lambda = b.lambda, constraint = model.constraint, loss = model.loss, meta = model.meta}}
  end
  if tree.implicit then require("idl.implicit").restore_state(s, tree.implicit) end
  local last = s.history[#s.history]
  s.start = core.clock() - (last and last.seconds or 0)
  return s
end

-- ---------------------------------------------------------------------------
-- The loop

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

-- Writes a checkpoint when one is due; a failed write is a warning, not the
-- end of the run (training goes on; the previous checkpoint stays).
local function maybe_checkpoint(s, config, ending)
  local path = config.checkpoint_path
  if path == nil then return end
  local every = config.checkpoint_every or 0
  if not ending and not (every > 0 and s.round % every == 0) then return end
  local ok, err = pcall(trainers.checkpoint, s, path, config.checkpoint_meta)
  if ok then
    s.checkpoint_round = s.round
  else
    warn(config, string.format("round %d: the checkpoint was not written: %s", s.round, tostring(err)))
  end
end

--- trainers.run(round, s, config) -> s: runs up to config.rounds_number rounds
-- of round(s, config) (a function, or a registered name). Before the first
-- round and after each, a history entry (trainers.measure) is appended to
-- s.history (the first has round = 0: the initialization), the progress bar is
-- updated and each callback(s, entry) is called (one returning true stops).
-- Training also stops when the round returns true, or, with
-- config.early_stopping and an eval set, when the eval loss has not improved
-- for config.patience rounds; then the best model (s.best) is restored into
-- s.model. s.stop_reason says why the loop ended: "rounds_number",
-- "converged", "callback", "early_stopping", "interrupted" or "non-finite".
--
-- Faults: when a parameter (theta, lambda, the relaxed X), the loss a round
-- reports in s.round_loss or a loss of the history entry becomes NaN or Inf
-- (in the round, or by a callback), or the round raises while a parameter is
-- non-finite, the model is rolled back to the parameters of the last good
-- round, s.stop_reason = "non-finite", s.stop_message says what happened and
-- run returns normally after a warning (config.warn, default a line on
-- stderr). A round may also report a fault of its own state (a message) in
-- s.fault_what, and its training loss in s.round_loss.
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
local RUN_KEYS = {"rounds_number", "dual_learning_rate", "tol_fenchel", "inner_tol", "inner_max_iter",
  "monitor_tol", "monitor_train_every", "monitor_max_iter", "monitor_method", "patience"}

function trainers.run(round, s, config)
  local fname = "trainers.run"
  if config ~= nil then util.check_table(config, fname, "config") end
  config = trainers.config(config)
  if type(round) == "string" then
    local entry = trainers.registry[round]
    if not entry then
      util.fail("run", string.format("unknown trainer '%s' (known: %s)", round,
        table.concat(trainers.names(), ", ")))
    end
    round, config.relaxed = entry.fn, entry.relaxed
  elseif type(round) ~= "function" then
    util.fail(fname, "round must be a trainer name or a function, got " .. util.describe(round))
  end
  check_state(s, fname)
  check_config(config, RUN_KEYS, fname)
  s.start = s.start or core.clock()
  local cbs = callbacks_of(config)
  local guard <close> = interrupt_guard(config)
  if #s.history == 0 then
    local e = trainers.measure(s, config)
    s.history[1] = e
    track_best(s, e)
  end
  s.since_best = s.since_best or 0
  s.stop_reason, s.stop_message, s.fault = "rounds_number", nil, nil
  local rounds = config.rounds_number
  if s.resumed_finished then -- resumed from the checkpoint of a run that had ended by itself
    s.stop_reason, rounds, s.resumed_finished = s.resumed_finished, 0, nil
  elseif interrupted(guard) then
    s.stop_reason, rounds = "interrupted", 0
  end
  save_good(s, config)
  for r = 1, rounds do
    local t0 = core.clock()
    s.round = s.round + 1
    s.round_loss, s.fault_what, s.round_eq_failures = nil, nil, nil
    local ok, stop = pcall(round, s, config)
    if not ok then
      local what = nonfinite_parameter(s, config)
      if not what then error(stop, 0) end
      s.fault_what = string.format("%s (the round raised: %s)", what, tostring(stop))
    end
    local what = s.fault_what
      or (s.round_loss ~= nil and not finite_number(s.round_loss)
        and ("the training loss is " .. nonfinite_word(s.round_loss)))
      or nonfinite_parameter(s, config)
    if what then stop_nonfinite(s, config, what); break end
    local t1 = core.clock()
    local e = trainers.measure(s, config)
    what = nonfinite_entry(e)
    if what then stop_nonfinite(s, config, what); break end
    e.round_seconds = t1 - t0
    s.timing.rounds = s.timing.rounds + (t1 - t0)
    s.timing.monitor = s.timing.monitor + (core.clock() - t1)
    local failed = e.eq_failed
    e.eq_failed = nil
    s.history[#s.history + 1] = e
    if track_best(s, e) then s.since_best = 0 else s.since_best = s.since_best + 1 end
    save_good(s, config)
    if config.raise_on_nonconvergence and failed then
      util.fail(config.caller, string.format("round %d: %s (raise_on_nonconvergence is set)", s.round,
        failed))
    end
    if config.progress then config.progress:update(s.round, e) end
    local by_callback = false
    for _, cb in ipairs(cbs) do
      if cb(s, e) == true then by_callback = true end
    end
    what = nonfinite_parameter(s, config)
    if what then stop_nonfinite(s, config, "after the callbacks, " .. what); break end
    -- a run that ends by itself here is finished whatever else asked it to
    -- stop: a checkpoint records it, so that resuming does not run on
    s.finished = stop and "converged"
      or (config.early_stopping and s.eval and s.since_best >= config.patience and "early_stopping") or nil
    if interrupted(guard) then s.stop_reason = "interrupted"
    elseif by_callback then s.stop_reason = "callback"
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
    last.train_l2 = true_loss(s, config, s.U, s.Y, "x_eq")
    if s.model.loss == "squared" then last.train_rmse = math.sqrt(2 * last.train_l2 / s.Y:rows()) end
  end
  local restored = config.early_stopping and s.eval and s.best and s.best.round ~= s.round
  if restored then trainers.restore_best(s) end
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

--- trainers.restore_best(s) -> s: the best model seen (s.best) copied back
-- into s.model (in place, so references to the model stay valid).
function trainers.restore_best(s)
  check_state(s, "trainers.restore_best")
  local b = s.best
  if type(b) ~= "table" then util.fail("trainers.restore_best", "s has no best model (s.best) yet") end
  for _, k in ipairs(model_mod.THETA_NAMES) do core.copy(s.model.theta[k], b.model.theta[k]) end
  core.copy(s.model.lambda, b.model.lambda)
  core.copy(s.X, b.X)
  trainers.invalidate(s)
  s.restored_round = b.round
  return s
end

return trainers
