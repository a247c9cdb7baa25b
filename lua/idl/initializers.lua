--- Initialization strategies: where training starts.
--
-- Each strategy is a function init(problem, rng [, opts]) -> theta, X where
-- problem = {U = n x m, Y = p x m (columns are samples), h = hidden units,
-- constraint = {kind, kappa}, lambda = h x 1 (read by the "lmi" set)} and
-- rng = idl.rng(seed) supplies every random draw, so a seed reproduces the
-- result. theta is a fresh table {A, B, c, D, E, f} with D in the constraint
-- set; X (h x m, >= 0) is the relaxed hidden variable to start from.
--
--   picard_ls    (the report's recommended one) D, E, f random, D
--                projected onto the set (radius opts.kappa = 0.5 for "inf" and
--                "spectral", as the report's code), X by the equilibrium, then
--                A, B, c by ridge least squares on [X; U; 1^T]
--   subproblems  (report 4.1) lambda = 0: min L over X >= 0 and A, B, c
--                (alternating least squares / projected gradient), then
--                min 1^T F(X, D X + E U + f 1^T) over D, E, f (projected gradient)
--   random       sparse random theta (entries uniform on [0, 1) with
--                probability opts.density = 0.1, as the report's examples),
--                X by the equilibrium
--   user         opts.theta, copied (never written) and checked, D projected;
--                X by the equilibrium
--   linear       the linear model the IDL model contains: A = 0, D = 0, (B, c)
--                by least squares, random hidden units scaled to the inputs
--                (the estimator's default: training starts at linear
--                regression, and early stopping can keep it)
--
-- Another strategy is added with initializers.register(name, fn).
-- @module idl.initializers

local core = require "idl.core"
local logistic = require "idl.logistic"
local losses = require "idl.losses"
local standardize = require "idl.standardize"
local util = require "idl._util"
local api = require "idl._api"
local model_mod = require "idl.model"
local steps = require "idl.train.relaxed"

local init = {}
init.registry = {}

-- name -> the set of option names the strategy takes (nil: not declared)
local option_names = {}

--- initializers.register(name, fn [, options]): fn(problem, rng, opts) ->
-- theta, X (each strategy is public as idl.initializers.<name>); options, the
-- set of the option names it takes ({ridge = true, ...}), lets a trainer's
-- default options reach only the strategies that take them
-- (initializers.accepted).
init.register = api.public("idl.initializers.register", function(name, fn, options)
  if type(name) ~= "string" or not name:match("^[%w_]+$") then
    api.fail("name must be a word (letters, digits, _), got " .. api.describe(name))
  end
  if type(fn) ~= "function" then api.fail("fn must be a function") end
  if options ~= nil then api.check(options, "table", "options") end
  local public = api.public("idl.initializers." .. name, fn)
  init.registry[name] = public
  init[name] = public
  option_names[name] = options
end)

--- initializers.accepted(name, opts) -> the entries of opts that strategy
-- `name` takes (a new table), or nil when it takes none of them; opts whole
-- when the strategy declared no option names. For defaults that name
-- options of some strategies only (the implicit trainer's ridge and
-- standardize, for "linear" and "picard_ls").
init.accepted = api.public("idl.initializers.accepted", function(name, opts)
  api.check(name, {"choice", choices = init.names()}, "name")
  api.check(opts, "table", "opts")
  local known = option_names[name]
  if known == nil then return opts end
  local out
  for k, v in pairs(opts) do
    if known[k] then
      out = out or {}
      out[k] = v
    end
  end
  return out
end)

--- initializers.names() -> the sorted names of the strategies.
init.names = api.public("idl.initializers.names", function()
  local t = {}
  for k in pairs(init.registry) do t[#t + 1] = k end
  table.sort(t)
  return t
end)

-- Checks a strategy's problem (and its rng when need_rng); returns
-- {U, Y, n, h, p, m, constraint, lambda, loss} with the defaults filled in.
local function check_problem(problem, rng, need_rng)
  api.check(problem, "table", "problem")
  local U = api.check(problem.U, "matrix", "problem.U")
  local m = U:cols()
  if m == 0 then api.fail("problem.U has no columns (samples)") end
  local Y = api.check(problem.Y, {"matrix", cols = m}, "problem.Y")
  if Y:rows() == 0 then api.fail("problem.Y has no rows (outputs)") end
  local h = api.check(problem.h, {"dim", min = 1}, "problem.h")
  local lambda = problem.lambda == nil and core.ones(h, 1) or
    api.check(problem.lambda, {"matrix", rows = h, cols = 1}, "problem.lambda")
  if need_rng then api.check(rng, "rng", "rng") end
  local constraint, problem_c = model_mod.constraint_value(problem.constraint)
  if problem_c then api.fail("problem." .. problem_c) end
  local loss = problem.loss == nil and model_mod.DEFAULT_LOSS
    or api.check(problem.loss, {"choice", choices = losses.names}, "problem.loss")
  return {U = U, Y = Y, n = U:rows(), h = h, p = Y:rows(), m = m, lambda = lambda, constraint = constraint,
    loss = loss}
end

-- opts.kappa, the initialization radius (default 0.5).
local function radius(opts)
  return opts.kappa == nil and 0.5 or api.check(opts.kappa, {"number", gt = 0}, "opts.kappa")
end

-- D onto the problem's constraint set, with the initialization radius kappa
-- (smaller than the training one: Picard converges faster, as in the report).
local function project_init(D, P, kappa)
  local c = P.constraint
  return model_mod.project_(D, {kind = c.kind, kappa = math.min(kappa, c.kappa)}, P.lambda)
end

-- X = (D X + E U + f 1^T)_+ for theta's (D, E, f), cold start.
local function equilibrium(theta, U)
  local X = core.equilibrium(theta, U, {max_iter = 100000})
  return X
end

-- The grid of relative ridges "loo" chooses from: 10^-8 to 10^2 in quarter
-- decades (the features are scaled to unit ridge, so 1e-8 is plain least
-- squares and 1e2 all but the intercept alone).
init.RIDGE_GRID = {}
for k = 0, 40 do init.RIDGE_GRID[k + 1] = 10 ^ (-8 + k / 4) end

--- initializers.least_squares_abc(theta, X, U, Y [, ridge_rel]) -> theta,
-- ridge_rel, loo: (A, B, c) = argmin ||A X + B U + c 1^T - Y||_F^2 + sum_k
-- ridge_k ||[A B]_{:,k}||^2, ridge_k = ridge_rel times feature k's centred sum
-- of squares (features: the rows of [X; U]); c is not penalized, so offsets
-- of U and Y do not change the predictions (idl.readout, the one readout
-- solver). ridge_rel defaults to idl.train.relaxed.READOUT_RIDGE = 1e-8 (a
-- tiny ridge relative to the data: dead units get zero weight instead of a
-- singular system); ridge_rel = "loo" chooses it from
-- initializers.RIDGE_GRID by exact leave-one-out (idl.readout_loo; loo is
-- then its curve over the grid, needing 2 samples or more). Written into
-- theta in place.
init.least_squares_abc = api.public("idl.initializers.least_squares_abc", function(theta, X, U, Y, ridge_rel)
  api.check(theta, "table", "theta")
  api.check(X, "matrix", "X")
  local h, m = X:rows(), X:cols()
  if m == 0 then api.fail("X has no columns (samples)") end
  local n = api.check(U, {"matrix", cols = m}, "U"):rows()
  local p = api.check(Y, {"matrix", cols = m}, "Y"):rows()
  api.check(theta.A, {"matrix", rows = p, cols = h, finite = false}, "theta.A")
  api.check(theta.B, {"matrix", rows = p, cols = n, finite = false}, "theta.B")
  api.check(theta.c, {"matrix", rows = p, cols = 1, finite = false}, "theta.c")
  if ridge_rel == "loo" then
    if m < 2 then api.fail("ridge_rel = \"loo\" needs at least 2 samples, got 1") end
    local chosen, loo = api.engine(core.readout_loo, theta, X, U, Y, init.RIDGE_GRID)
    return theta, chosen, loo
  end
  if ridge_rel ~= nil then api.check(ridge_rel, {"number", gt = 0}, "ridge_rel") end
  ridge_rel = ridge_rel or steps.READOUT_RIDGE
  api.engine(core.readout, theta, X, U, Y, ridge_rel)
  return theta, ridge_rel
end)

-- opts.ridge of a strategy: nil, a positive number or "loo".
local function ridge_option(opts)
  if opts.ridge ~= nil and opts.ridge ~= "loo" then
    api.check(opts.ridge, {"number", gt = 0}, "opts.ridge")
  end
  return opts.ridge
end

local PICARD_LS_OPTIONS = {kappa = true, scale_d = true, scale_e = true, scale_f = true, ridge = true,
  standardize = true}

--- picard_ls(problem, rng [, {kappa = 0.5, scale_d = 1, scale_e = 1, scale_f = 1,
-- ridge = 1e-8 | "loo", standardize = false}]): D ~ N(0, scale_d^2 / h), E ~ N(0,
-- scale_e^2), f ~ N(0, scale_f^2) (with standardize, E and f are drawn for
-- standardized features and rewritten for the raw ones), D projected (radius
-- kappa), X the equilibrium, then (A, B, c) by least squares
-- (initializers.least_squares_abc with ridge).
-- @function picard_ls
init.register("picard_ls", function(problem, rng, opts)
  local P = check_problem(problem, rng, true)
  opts = api.options(opts, PICARD_LS_OPTIONS, "options")
  local kappa = radius(opts)
  local function scale(key)
    return opts[key] == nil and 1 or api.check(opts[key], {"number", min = 0}, "opts." .. key)
  end
  local scale_d, scale_e, scale_f = scale("scale_d"), scale("scale_e"), scale("scale_f")
  local ridge = ridge_option(opts)
  if opts.standardize ~= nil then api.check(opts.standardize, "boolean", "opts.standardize") end
  local n, h, p = P.n, P.h, P.p
  local theta = {
    D = core.randn(h, h, rng, 0, scale_d / math.sqrt(h)),
    E = core.randn(h, n, rng, 0, scale_e),
    f = core.randn(h, 1, rng, 0, scale_f),
    A = core.zeros(p, h), B = core.zeros(p, n), c = core.zeros(p, 1),
  }
  if opts.standardize then standardize.input_layer(theta, P.U) end
  project_init(theta.D, P, kappa)
  local X = equilibrium(theta, P.U)
  init.least_squares_abc(theta, X, P.U, P.Y, ridge)
  return theta, X
end, PICARD_LS_OPTIONS)

local RANDOM_OPTIONS = {density = true, kappa = true}

-- A rows x cols matrix whose entries are nonzero with probability density,
-- uniform on [0, 1) (the law of the report's scipy.sparse.random draws).
local function sparse_uniform(rows, cols, density, rng)
  local M = core.zeros(rows, cols)
  for j = 1, cols do
    for i = 1, rows do
      if rng:uniform() < density then M:set(i, j, rng:uniform()) end
    end
  end
  return M
end

--- random(problem, rng [, {density = 0.1, kappa = 0.5}]): every entry of theta
-- nonzero with probability density, uniform on [0, 1); D projected (radius
-- kappa); X the equilibrium.
-- @function random
init.register("random", function(problem, rng, opts)
  local P = check_problem(problem, rng, true)
  opts = api.options(opts, RANDOM_OPTIONS, "options")
  local kappa = radius(opts)
  local n, h, p = P.n, P.h, P.p
  local d = opts.density or 0.1
  api.check(d, {"number", min = 0, max = 1}, "density")
  local theta = {A = sparse_uniform(p, h, d, rng), B = sparse_uniform(p, n, d, rng),
    c = sparse_uniform(p, 1, d, rng), D = sparse_uniform(h, h, d, rng),
    E = sparse_uniform(h, n, d, rng), f = sparse_uniform(h, 1, d, rng)}
  project_init(theta.D, P, kappa)
  return theta, equilibrium(theta, P.U)
end, RANDOM_OPTIONS)

local USER_OPTIONS = {theta = true}

--- user(problem, rng, {theta = {...}}): a copy of the given theta (checked
-- against n, h, p of the problem), D projected onto the training set, X the
-- equilibrium. The caller's matrices are never written.
-- @function user
init.register("user", function(problem, _rng, opts)
  local P = check_problem(problem, nil, false)
  opts = api.options(opts, USER_OPTIONS, "options")
  local n, h, p = P.n, P.h, P.p
  local given = api.check(opts.theta, "table", "opts.theta")
  local gn, gh, gp = model_mod.check_theta(given)
  if gn ~= n or gh ~= h or gp ~= p then
    api.fail(string.format(
      "theta has n = %d, h = %d, p = %d; the data and hidden_variables need n = %d, h = %d, p = %d",
      gn, gh, gp, n, h, p))
  end
  local theta = util.copy_matrices(given)
  model_mod.project_(theta.D, P.constraint, P.lambda)
  return theta, equilibrium(theta, P.U)
end, USER_OPTIONS)

local LINEAR_OPTIONS = {ridge = true, standardize = true, scale_e = true}

-- The linear start's theta before its readout: A = 0, D = 0, E ~ N(0,
-- scale_e^2 / n) (for standardized inputs with std), f = 0; opts checked.
local function linear_theta(n, h, p, rng, opts)
  opts = api.options(opts, LINEAR_OPTIONS, "options")
  local ridge = ridge_option(opts)
  local std = opts.standardize == nil or api.check(opts.standardize, "boolean", "opts.standardize")
  local scale_e = opts.scale_e == nil and 1 or api.check(opts.scale_e, {"number", min = 0}, "opts.scale_e")
  local theta = {A = core.zeros(p, h), B = core.zeros(p, n), c = core.zeros(p, 1), D = core.zeros(h, h),
    E = core.randn(h, n, rng, 0, scale_e / math.sqrt(n)), f = core.zeros(h, 1)}
  return theta, std, ridge
end

--- linear(problem, rng [, {ridge = 1e-8 | "loo", standardize = true, scale_e = 1}]):
-- the linear model as an IDL model: A = 0, D = 0, (B, c) by least squares
-- (initializers.least_squares_abc with ridge, on no hidden unit) or, for the
-- loss "softmax_xent" (problem.loss), by multinomial logistic regression
-- (idl.logistic, its ridge 1 / m; the option ridge is least squares'), E ~ N(0,
-- scale_e^2 / n) for standardized inputs (raw ones without standardize), f
-- centring the units on the data (f = -E mean(u)), X = (E U + f 1^T)_+ (the
-- equilibrium, D being 0). Its predictions are linear regression's (logistic
-- regression's); training then grows the hidden units from there.
-- @function linear
init.register("linear", function(problem, rng, opts)
  local P = check_problem(problem, rng, true)
  local theta, std, ridge = linear_theta(P.n, P.h, P.p, rng, opts)
  if std then
    standardize.input_layer(theta, P.U)
  else
    core.gemm(theta.f, theta.E, P.U:sum(2) / P.m, -1, 0)
  end
  -- the readout of U alone: A stays 0, (B, c) is the least-squares fit
  if P.loss == "softmax_xent" then
    logistic.readout(theta.B, theta.c, P.U, P.Y)
  else
    local readout = {A = core.zeros(P.p, 0), B = theta.B, c = theta.c}
    init.least_squares_abc(readout, core.zeros(0, P.m), P.U, P.Y, ridge)
  end
  return theta, equilibrium(theta, P.U)
end, LINEAR_OPTIONS)

--- initializers.linear_from_moments(moments, h, rng [, opts]) -> theta: the
-- "linear" start (same options, the same draws from rng) from the moments of
-- data that are not in memory (idl.data.CSVSource:stats{comoments = true}):
-- moments = {rows, x_mean (1 x n), x_scale (1 x n), y_mean (1 x p),
-- comoments ((n + p) x (n + p), the centred sums of cross products of the
-- rows [x, y])}. The readout solves the same normal equations
-- (idl.readout_normal), so it agrees with "linear" on the same rows to
-- rounding. The equilibrium is not computed (D = 0: X = (E u + f)_+).
init.linear_from_moments = api.public("idl.initializers.linear_from_moments", function(mom, h, rng, opts)
  api.check(mom, "table", "moments")
  local xm = api.check(mom.x_mean, {"matrix", rows = 1}, "moments.x_mean")
  local n = xm:cols()
  api.check(mom.x_scale, {"matrix", rows = 1, cols = n}, "moments.x_scale")
  local p = api.check(mom.y_mean, {"matrix", rows = 1}, "moments.y_mean"):cols()
  api.check(mom.comoments, {"matrix", rows = n + p, cols = n + p}, "moments.comoments")
  api.check(h, {"dim", min = 1}, "h")
  api.check(rng, "rng", "rng")
  local theta, std, ridge = linear_theta(n, h, p, rng, opts)
  if std then
    standardize.input_layer_from(theta, xm:t(), mom.x_scale:t())
  else
    core.gemm(theta.f, theta.E, xm:t(), -1, 0)
  end
  if ridge == "loo" then
    api.fail("opts.ridge = \"loo\" needs the samples in memory (leave-one-out); give a number")
  end
  -- the readout of U alone, as "linear": A stays 0
  local readout = {A = core.zeros(p, 0), B = theta.B, c = theta.c}
  local C = mom.comoments
  api.engine(core.readout_normal, readout, C:sub(1, n, 1, n), C:sub(1, n, n + 1, n + p), xm:t(),
    mom.y_mean:t(), ridge or steps.READOUT_RIDGE)
  return theta
end)

local SUB_OPTIONS = {kappa = true, abc_iterations = true, def_iterations = true, tol = true}

-- min 1^T F(X, D X + E U + f 1^T) over (D, E, f) at fixed X: G with lambda = 1
-- is L + 1^T F, so its (D, E, f) gradient and step constant (theta2 of
-- idl.lipschitz_theta) are those of the relaxed problem, from the core.
local function def_descent(ws, theta, X, U, Y, P, iterations, tol)
  local h = X:rows()
  local ones_h, F = core.ones(h, 1), core.zeros(h, 1)
  local grad = {}
  for _, k in ipairs(model_mod.THETA_NAMES) do grad[k] = core.zeros(theta[k]:rows(), theta[k]:cols()) end
  local _, lip = core.lipschitz_theta(ws, X, U, ones_h)
  local last
  for _ = 1, iterations do
    core.relaxed_forward(ws, theta, X, U, Y)
    local G, L = core.relaxed_value(ws, X, ones_h, F)
    local total = G - L
    if last and math.abs(last - total) <= tol * math.max(last, 1e-300) then break end
    last = total
    core.relaxed_grads(ws, X, ones_h, grad, nil)
    for _, k in ipairs{"D", "E", "f"} do core.axpy(theta[k], -1 / lip, grad[k]) end
    model_mod.project_(theta.D, P.constraint, P.lambda)
  end
end

-- min L over X >= 0 and (A, B, c): the readout, then a projected gradient
-- step on X (lambda = 0: grad X = A^T R / m, step 1 / idl.lipschitz_x =
-- m / ||A^T A||_2, valid for L alone), `iterations` times.
local function abc_descent(ws, theta, X, U, Y, iterations)
  local h, m = X:rows(), X:cols()
  local zeros_h, gX = core.zeros(h, 1), core.zeros(h, m)
  for _ = 1, iterations do
    init.least_squares_abc(theta, X, U, Y)
    local lx = core.lipschitz_x(ws, theta, zeros_h)
    if lx <= 0 then break end
    core.relaxed_forward(ws, theta, X, U, Y)
    core.relaxed_grads(ws, X, zeros_h, nil, gX)
    core.axpy(X, -1 / lx, gX)
    core.project_nonneg_(X)
  end
end

--- subproblems(problem, rng [, {kappa = 0.5, abc_iterations = 50,
-- def_iterations = 200, tol = 1e-6}]) (report 4.1, lambda = 0):
-- 1. min L over X >= 0 and (A, B, c): X starts at (N(0, 1))_+ and alternates
--    (A, B, c) by least squares with a projected gradient step on X
--    (step m / ||A^T A||_2, valid for L alone), abc_iterations times;
-- 2. min 1^T F(X, D X + E U + f 1^T) over (D, E, f), from the picard_ls draw,
--    by projected gradient (step 1/L with L = ||[X; U; 1^T]||_2^2 / m) until
--    the relative change is below tol or def_iterations steps.
-- @function subproblems
init.register("subproblems", function(problem, rng, opts)
  local P = check_problem(problem, rng, true)
  opts = api.options(opts, SUB_OPTIONS, "options")
  local kappa = radius(opts)
  local abc_iterations = opts.abc_iterations == nil and 50 or
    api.check(opts.abc_iterations, "count", "opts.abc_iterations")
  local def_iterations = opts.def_iterations == nil and 200 or
    api.check(opts.def_iterations, "count", "opts.def_iterations")
  local tol = opts.tol == nil and 1e-6 or api.check(opts.tol, {"number", min = 0}, "opts.tol")
  local n, h, p, m = P.n, P.h, P.p, P.m
  local U, Y = P.U, P.Y
  local theta = {
    D = core.randn(h, h, rng, 0, 1 / math.sqrt(h)), E = core.randn(h, n, rng), f = core.randn(h, 1, rng),
    A = core.zeros(p, h), B = core.zeros(p, n), c = core.zeros(p, 1),
  }
  project_init(theta.D, P, kappa)
  local X = core.randn(h, m, rng):relu()
  local ws = core.relaxed_workspace(h, n, p, m)
  abc_descent(ws, theta, X, U, Y, abc_iterations)
  init.least_squares_abc(theta, X, U, Y)
  def_descent(ws, theta, X, U, Y, P, def_iterations, tol)
  return theta, X
end, SUB_OPTIONS)

return init
