--- The Model class (idl.model re-exports it): construction (model.new, the
-- checks of theta), prediction through the equilibrium, the loss, the
-- well-posedness report and the projection onto the model's constraint set.
-- Columns are samples (U n x m).
-- @module idl.model.class

local core = require "idl.core"
local util = require "idl._util"
local api = require "idl._api"
local losses = require "idl.losses"
local constraints = require "idl.model.constraints"

local class = {}

local Model = {}
Model.__index = Model
class.Model = Model

local THETA = {"A", "B", "c", "D", "E", "f"}
class.THETA_NAMES = THETA

--- The loss a model has when none is given (idl.losses; the estimator's and
-- idl.implicit.train's default too).
class.DEFAULT_LOSS = "squared"

-- ---------------------------------------------------------------------------
-- Construction

local function shape(m) return m:rows() .. "x" .. m:cols() end

--- model.theta_problem(theta) -> n, h, p: checks theta against the sizes implied by D (h),
-- B (n) and A (p); or nil and what is wrong.
local function theta_problem(theta)
  if type(theta) ~= "table" then
    return nil, "theta must be a table of matrices, got " .. type(theta)
  end
  for _, k in ipairs(THETA) do
    local m = theta[k]
    if m == nil then return nil, "theta." .. k .. " is missing" end
    if not core.is_matrix(m) then
      return nil, "theta." .. k .. " must be a matrix, got " .. api.describe(m)
    end
    local i, j = api.first_nonfinite(m)
    if i then
      return nil, string.format("theta.%s has a NaN or infinite entry at (%d, %d)", k, i, j)
    end
  end
  for k in pairs(theta) do
    local known = false
    for _, name in ipairs(THETA) do known = known or k == name end
    if not known then return nil, "theta has an unknown field " .. api.describe(k) end
  end
  local h, n, p = theta.D:rows(), theta.B:cols(), theta.A:rows()
  local want = {A = {p, h}, B = {p, n}, c = {p, 1}, D = {h, h}, E = {h, n}, f = {h, 1}}
  for _, k in ipairs(THETA) do
    local m = theta[k]
    if m:rows() ~= want[k][1] or m:cols() ~= want[k][2] then
      return nil, string.format("theta.%s is %s, expected %dx%d (n = %d, h = %d, p = %d from B, D, A)",
        k, shape(m), want[k][1], want[k][2], n, h, p)
    end
  end
  if h == 0 or p == 0 then
    return nil, string.format("theta has no hidden units or no outputs (h = %d, p = %d)", h, p)
  end
  return n, h, p
end
class.theta_problem = theta_problem

--- model.check_theta(theta) -> n, h, p, or raises what is wrong through
-- idl._api (the public function's name, the caller's line).
class.check_theta = api.public("idl.model.check_theta", function(theta)
  local n, h, p = theta_problem(theta)
  if n == nil then api.fail(h) end
  return n, h, p
end)

local NEW_OPTIONS = {theta = true, lambda = true, constraint = true, loss = true, meta = true}

-- The Model of model.new's arguments, or nil and what is wrong (model.new
-- raises it; the file reader reports it with the file's name).
local function build(args)
  local _, problem = api.test_options(args, NEW_OPTIONS, "arguments")
  if problem then return nil, problem end
  if args == nil then return nil, "needs a table {theta = ..., ...}" end
  local n, h, p = theta_problem(args.theta)
  if n == nil then return nil, h end
  local lambda = core.zeros(h, 1)
  if args.lambda ~= nil then
    _, problem = api.test(args.lambda, {"matrix", rows = h, cols = 1}, "lambda")
    if problem then return nil, problem end
    lambda = args.lambda:copy()
  end
  local loss = args.loss or class.DEFAULT_LOSS
  _, problem = api.test(loss, {"choice", choices = losses.names}, "loss")
  if problem then return nil, problem end
  local meta = args.meta or {}
  if type(meta) ~= "table" then return nil, "meta must be a table, got " .. api.describe(meta) end
  local constraint
  constraint, problem = constraints.constraint_value(args.constraint)
  if problem then return nil, problem end
  return setmetatable({
    theta = util.copy_matrices(args.theta),
    lambda = lambda,
    constraint = constraint,
    loss = loss,
    n = n, h = h, p = p,
    meta = util.copy_matrices(meta),
  }, Model)
end

class.build = build

--- model.new{theta =, lambda = zeros, constraint = {kind = "inf", kappa = 0.9},
-- loss = "squared", meta = {}} -> a Model. theta and lambda are copied (the
-- caller's matrices are never written).
class.new = api.public("idl.model.new", function(args)
  local m, problem = build(args)
  if not m then api.fail(problem) end
  return m
end)

--- m:copy() -> a deep copy (matrices copied, never shared).
Model.copy = api.method(Model, "idl.Model:copy", function(self)
  return class.new{theta = self.theta, lambda = self.lambda, constraint = self.constraint,
    loss = self.loss, meta = self.meta}
end)

-- ---------------------------------------------------------------------------
-- Prediction

-- The options of the equilibrium solver (idl.equilibrium), declared: they are
-- checked here so that the solver's own checks never fire on a user's value.
local SOLVE_OPTIONS = {
  tol = {"number", min = 0, optional = true},
  max_iter = {"number", integer = true, min = 0, max = 2147483647, optional = true}, -- a C int
  method = {"choice", choices = {"picard", "anderson"}, optional = true},
  memory = {"number", integer = true, min = 1, max = 50, optional = true},
  force = {"boolean", optional = true},
  x0 = {"matrix", optional = true},
  precision = {"choice", choices = {"double", "single"}, optional = true},
}
local SOLVE_NAMES = {}
for k in pairs(SOLVE_OPTIONS) do SOLVE_NAMES[k] = true end

-- U (n x m, m > 0, finite) and the solver options (x0 h x m); returns the options.
local function check_solve(self, U, opts)
  if not core.is_matrix(U) then api.fail("U must be a matrix (n x m), got " .. api.describe(U)) end
  if U:rows() ~= self.n then
    api.failf("U is %s, expected %d rows (features; columns are samples)", shape(U), self.n)
  end
  if U:cols() == 0 then api.fail("U has no columns (samples)") end
  api.check(U, "matrix", "U")
  opts = api.options(opts, SOLVE_NAMES, "options")
  for k, spec in pairs(SOLVE_OPTIONS) do api.check(opts[k], spec, "options." .. k) end
  if opts.x0 then api.check(opts.x0, {"matrix", rows = self.h, cols = U:cols()}, "options.x0") end
  return opts
end

-- Consecutive diagonal blocks of fewer units are solved together: a solve per
-- unit of a sparse D would cost more calls than the products it saves.
local MIN_BLOCK = 16

-- The row ranges {first, last} to solve theta's equilibrium on: D's diagonal
-- blocks (idl.diagonal_blocks), consecutive ones merged up to MIN_BLOCK units.
local function block_ranges(D)
  local ranges, first, h = {}, 1, D:rows()
  for _, last in ipairs(core.diagonal_blocks(D)) do
    if last - first + 1 >= MIN_BLOCK or last == h then
      ranges[#ranges + 1] = {first, last}
      first = last + 1
    end
  end
  return ranges
end

-- One record for the blocks' solves: the most iterations, the residual of
-- the whole X relative to the largest scale (each block's is relative to
-- its own), converged when every block did (else the first failure's stop).
local function merge_info(all, info)
  if all == nil then return info end
  local scale = math.max(all.scale, info.scale)
  all.residual = math.max(all.residual * all.scale, info.residual * info.scale) / scale
  all.scale = scale
  all.iterations = math.max(all.iterations, info.iterations)
  if all.converged and not info.converged then all.converged, all.stop = false, info.stop end
  return all
end

-- The equilibrium X (h x m) of theta on U and the solver's record: when D
-- is block-diagonal (the mean of models, idl.model.average), block by block
-- (the same X: each block's rows depend on themselves only), which costs
-- the sum of the blocks' h^2 a step instead of h^2.
local function equilibrium(theta, U, opts)
  local ranges = block_ranges(theta.D)
  if #ranges == 1 then return core.equilibrium(theta, U, opts) end
  local m, n = U:cols(), U:rows()
  local X, info = core.zeros(theta.D:rows(), m), nil
  for _, r in ipairs(ranges) do
    local a, b = r[1], r[2]
    local block = {D = theta.D:sub(a, b, a, b), E = theta.E:sub(a, b, 1, n), f = theta.f:sub(a, b, 1, 1)}
    local o = {out = X:sub(a, b, 1, m)}
    for k, v in pairs(opts) do o[k] = v end
    if opts.x0 then o.x0 = opts.x0:sub(a, b, 1, m) end
    info = merge_info(info, select(2, core.equilibrium(block, U, o)))
  end
  return X, info
end

--- m:hidden(U [, opts]) -> X (h x m), info: the equilibrium X = (D X + E U + f 1^T)_+
-- (idl.equilibrium; opts: tol, max_iter, method, memory, force, precision as there, and
-- x0 an h x m warm start, e.g. info.x of an earlier call).
Model.hidden = api.method(Model, "idl.Model:hidden", function(self, U, opts)
  opts = check_solve(self, U, opts)
  local X, info = equilibrium(self.theta, U, opts)
  return X, info
end)

--- m:output(X, U) -> A X + B U + c 1^T (p x m), the readout for a given hidden state.
Model.output = api.method(Model, "idl.Model:output", function(self, X, U)
  api.check(X, {"matrix", rows = self.h, finite = false}, "X")
  api.check(U, {"matrix", rows = self.n, cols = X:cols(), finite = false}, "U")
  local th = self.theta
  local Y = th.A * X
  core.gemm(Y, th.B, U, 1, 1)
  return core.add_col(Y, 1, th.c)
end)

--- m:predict_u(U [, opts]) -> Yhat (p x m), info: the equilibrium solved with
-- opts (see m:hidden), then the readout. info is the solver's record
-- {iterations, residual, converged, method} plus info.x, the equilibrium X,
-- to pass back as opts.x0 for a warm start.
Model.predict_u = api.method(Model, "idl.Model:predict_u", function(self, U, opts)
  opts = check_solve(self, U, opts)
  local X, info = equilibrium(self.theta, U, opts)
  info.x = X
  return self:output(X, U), info
end)

--- m:wellposed() -> idl.wellposed(D): {norm_inf, norm_2, pf, wellposed}, plus
-- in_constraint: whether D lies in the model's constraint set.
Model.wellposed = api.method(Model, "idl.Model:wellposed", function(self)
  local w = core.wellposed(self.theta.D)
  w.in_constraint = constraints.in_set(self.theta.D, self.constraint, self.lambda)
  return w
end)

--- m:project() -> m, with D projected in place onto its constraint set.
Model.project = api.method(Model, "idl.Model:project", function(self)
  constraints.project_(self.theta.D, self.constraint, self.lambda)
  return self
end)

--- m:loss_value(Yhat, Y) -> the model's loss (idl.losses) of Yhat against Y (p x m).
Model.loss_value = api.method(Model, "idl.Model:loss_value", function(self, Yhat, Y)
  api.check(Yhat, {"matrix", rows = self.p, finite = false}, "Yhat")
  api.check(Y, {"matrix", rows = self.p, cols = Yhat:cols(), finite = false}, "Y")
  local v = losses.get(self.loss).value(Yhat, Y)
  return v
end)

function Model:__tostring()
  return string.format("idl.model (n = %d, h = %d, p = %d, constraint %s %g, loss %s)", self.n, self.h,
    self.p, self.constraint.kind, self.constraint.kappa, self.loss)
end

return class
