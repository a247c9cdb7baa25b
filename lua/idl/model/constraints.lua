--- The constraint sets D is kept in (idl.model re-exports them): kind "inf"
-- (||D||_inf <= kappa), "spectral" (||D||_2 <= kappa) and "lmi" (the report's
-- S_theta intersected with ||D||_2 <= kappa), their check, the projection onto
-- them and the membership test.
-- @module idl.model.constraints

local core = require "idl.core"
local api = require "idl._api"

local constraints = {}

local KINDS = {"inf", "spectral", "lmi"}
constraints.KINDS = KINDS

--- model.check_constraint(c) -> a validated copy {kind =, kappa =}.
-- kind "inf": ||D||_inf <= kappa (rows on l1 balls, the report's code);
-- "spectral": ||D||_2 <= kappa; "lmi": the report's set S_theta with the
-- LMI (2.4), Lambda - (Lambda D + D^T Lambda) >= 0 for the current lambda,
-- intersected with ||D||_2 <= kappa. kappa must be < 1 (well-posedness:
-- Picard then contracts; the LMI alone guarantees a unique equilibrium but not
-- a convergent Picard iteration). Default {kind = "inf", kappa = 0.9}.
-- Raises through idl._api (the public function's name, the caller's line).
constraints.check_constraint = api.public("idl.model.check_constraint", function(c)
  local v, problem = constraints.constraint_value(c)
  if problem then api.fail(problem) end
  return v
end)

--- model.constraint_value(c) -> the validated copy of check_constraint, or nil
-- and what is wrong (for idl._api checks and parameter schemas).
function constraints.constraint_value(c)
  if c == nil then return {kind = "inf", kappa = 0.9} end
  if type(c) ~= "table" or core.is_matrix(c) then
    return nil, "constraint must be a table {kind =, kappa =}, got " .. api.describe(c)
  end
  local _, problem = api.test_options(c, {kind = true, kappa = true}, "constraint")
  if problem then return nil, problem end
  local kind, kappa = "inf", 0.9
  if c.kind ~= nil then
    kind, problem = api.test(c.kind, {"choice", choices = KINDS}, "constraint.kind")
    if problem then return nil, problem end
  end
  if c.kappa ~= nil then
    kappa, problem = api.test(c.kappa, {"number", min = 0}, "constraint.kappa")
    if problem then return nil, problem end
  end
  if kappa >= 1 then return nil, "constraint.kappa must be < 1 for a well-posed model, got " .. kappa end
  return {kind = kind, kappa = kappa}
end

-- lambda for the LMI projection: it needs lambda > 0, so entries at zero (a
-- unit whose constraint carries no weight yet) are raised to a small floor.
local function lmi_lambda(lambda)
  local h = lambda:rows()
  local top = 0
  for i = 1, h do top = math.max(top, lambda:get(i, 1)) end
  local floor = 1e-8 * math.max(1, top)
  local out = lambda:copy()
  for i = 1, h do
    if out:get(i, 1) < floor then out:set(i, 1, floor) end
  end
  return out
end

-- The LMI part of kind "lmi", onto (2.4) for lambda (floored above zero).
local function project_lmi_only(D, lambda)
  return core.project_lmi_(D, lmi_lambda(lambda))
end

-- D square (finite unless finite == false), the constraint and, for "lmi",
-- lambda (h x 1): the validated constraint.
local function check_set_args(D, constraint, lambda, finite)
  api.check(D, {"matrix", finite = finite}, "D")
  if D:rows() ~= D:cols() then api.failf("D is %dx%d, expected square", D:rows(), D:cols()) end
  local c, problem = constraints.constraint_value(constraint)
  if problem then api.fail(problem) end
  if c.kind == "lmi" then api.check(lambda, {"matrix", rows = D:rows(), cols = 1}, "lambda") end
  return c
end

--- model.project_(D, constraint, lambda) -> D, projected in place onto the
-- constraint set (lambda is read by kind "lmi" only). For "lmi" (an
-- intersection): the projection onto the LMI (idl.project_lmi_), then, if
-- ||D||_2 > kappa, D scaled by kappa / ||D||_2. Both sets are convex and hold
-- 0, and scaling by t in [0, 1] keeps the LMI (Lambda - t (Lambda D + D^T
-- Lambda) >= 0 still), so the result lies in both exactly; it is the
-- Euclidean projection whenever the ball is not active (and lambda is constant).
constraints.project_ = api.public("idl.model.project_", function(D, constraint, lambda)
  -- D of a diverging trainer may hold huge entries: it is not checked finite
  constraint = check_set_args(D, constraint, lambda, false)
  local kind, kappa = constraint.kind, constraint.kappa
  if kind == "inf" then
    core.project_inf_(D, kappa)
    -- entries so large (a diverging trainer) that kappa is lost in their
    -- rounding leave the l1 threshold at 0: scaling still lands in the set
    local norm = D:norm("inf")
    if norm > kappa * (1 + 1e-12) then core.scale(D, kappa / norm) end
    return D
  end
  if kind == "spectral" then return core.project_spectral_(D, kappa) end
  project_lmi_only(D, lambda)
  local norm = D:norm(2)
  if norm > kappa then core.scale(D, kappa / norm) end
  return D
end)

--- model.in_set(D, constraint, lambda [, tol = 1e-9]) -> true when D lies in
-- the constraint set (to tol): the norm itself for "inf" and "spectral"; for
-- "lmi" the spectral norm and an LMI projection that leaves D unchanged (to
-- tol relative to max |D|).
constraints.in_set = api.public("idl.model.in_set", function(D, constraint, lambda, tol)
  constraint = check_set_args(D, constraint, lambda)
  tol = tol == nil and 1e-9 or api.check(tol, {"number", min = 0}, "tol")
  local kappa = constraint.kappa
  if constraint.kind == "inf" then return D:norm("inf") <= kappa + tol end
  if constraint.kind == "spectral" or D:norm(2) > kappa + tol then
    return D:norm(2) <= kappa + tol
  end
  local P = project_lmi_only(D:copy(), lambda)
  return core.equal(P, D, tol * math.max(1, D:norm("max")))
end)

return constraints
