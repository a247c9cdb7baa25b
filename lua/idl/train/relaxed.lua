--- The steps of the relaxed problem (report chapters 3-4) over a trainer
-- state, each a few lines of Lua over the core's kernels (engine/core/relaxed.c:
-- the objective, the gradient blocks, the Lipschitz constants and the readout
-- exist there once).
--
--     min over theta, X >= 0 of  G = L + lambda^T F(X, D X + E U + f 1^T),   D in S
--
-- with L = ||A X + B U + c 1^T - Y||_F^2 / (2m), F the Fenchel divergence per
-- hidden unit and S the model's constraint set. Columns are samples.
--
-- A state `s` (idl.trainers.new_state) carries the model, the data (s.U, s.Y),
-- the relaxed hidden variable s.X and s.ws, the workspace: one
-- idl.relaxed_workspace (made on first use, then reused: the steps allocate
-- nothing), the gradient buffers, and `fresh`, true while the workspace
-- holds the forward pass [R; Z] of the current (theta, X). A step that
-- changes theta or X clears it; so does relaxed.invalidate(s), which a
-- schedule that edits theta or X by hand calls. An inner iteration of
-- two_loops then costs four h x h x m GEMMs: the forward pass and grad D of
-- the theta step, the forward pass and grad X of the X step (the objective
-- after them reads the next forward pass, which the next theta step reuses).
--
-- Step sizes are 1/L with valid Lipschitz constants (README: what the 2019
-- report gets wrong), each computed exactly now and then and carried as a
-- valid bound in between. The X block's: exact (two eigenvalue problems of
-- order h) at a reference theta, then bounded by Weyl's inequality from how
-- far A, D and lambda moved since (idl.lipschitz_x_carried: h x h passes);
-- recomputed when the bound's range exceeds s.lipschitz_slack. The theta
-- blocks' theta1 = sigma^2 / m, theta2 = lambda_max
-- theta1 with sigma >= ||[X; U; 1^T]||_2 computed exactly, then carried along:
-- an X step moves X by at most ||grad X||_F / L_x in Frobenius norm (the
-- projection onto X >= 0 is nonexpansive and fixes the old X), so sigma plus
-- that amount still bounds the norm. sigma is recomputed once the bound exceeds
-- the exact value by the factor s.lipschitz_slack (default 1.1): every step is
-- valid and at most 10% shorter than with the exact constant.
-- @module idl.train.relaxed

local core = require "idl.core"
local util = require "idl._util"
local api = require "idl._api"
local model_mod = require "idl.model"
local standardize = require "idl.standardize"

local relaxed = {}

--- relaxed.READOUT_RIDGE: the relative ridge of every least-squares readout
-- (idl.readout: each feature's ridge is READOUT_RIDGE times its centred sum of
-- squares; the intercept is not penalized).
relaxed.READOUT_RIDGE = 1e-8

--- relaxed.is_state(s) -> true when s is a trainer state of idl.trainers.new_state.
function relaxed.is_state(s)
  return type(s) == "table" and getmetatable(s.model) == model_mod.Model and core.is_matrix(s.U)
    and core.is_matrix(s.Y) and core.is_matrix(s.X) and type(s.ws) == "table"
end

local function check_state(s)
  if not relaxed.is_state(s) then
    api.fail("s must be a trainer state (idl.trainers.new_state), got " .. api.describe(s))
  end
end

-- The workspace of s, made on first use (and again if the shapes changed).
local function ws_of(s)
  local w, th = s.ws, s.model.theta
  local h, m = s.X:rows(), s.X:cols()
  if w.rws == nil or w.m ~= m or w.h ~= h then
    w.rws = core.relaxed_workspace(h, s.U:rows(), s.Y:rows(), m)
    w.h, w.m, w.fresh = h, m, false
    w.grad = {}
    for _, k in ipairs(model_mod.THETA_NAMES) do w.grad[k] = core.zeros(th[k]:rows(), th[k]:cols()) end
    w.gX, w.F = core.zeros(h, m), core.zeros(h, 1)
  end
  return w
end

-- The workspace holding the forward pass of the current (theta, X).
local function forward(s)
  local w = ws_of(s)
  if not w.fresh then
    core.relaxed_forward(w.rws, s.model.theta, s.X, s.U, s.Y)
    w.fresh, w.L = true, nil
  end
  return w
end

--- relaxed.invalidate(s): theta or X changed outside the steps (a schedule
-- that edits them calls this; so does everything that restores a model).
function relaxed.invalidate(s)
  if type(s) ~= "table" or type(s.ws) ~= "table" then
    api.fail("s must be a trainer state (idl.trainers.new_state), got " ..
      api.describe(s))
  end
  s.ws.fresh = false
  s.sigma = nil
  -- a centred twin of the old model (relaxed.centred) is stale too
  if type(s.trainer_state) == "table" and s.trainer_state.centred then s.trainer_state = nil end
end

--- relaxed.objective(s) -> G, L, F, residual: the relaxed objective at
-- (theta, X), L the loss with the relaxed X, F (h x 1) the Fenchel divergences
-- (a workspace buffer: the next call overwrites it), residual =
-- ||(D X + E U + f 1^T)_+ - X||_F.
function relaxed.objective(s)
  check_state(s)
  local w = forward(s)
  local lam = s.model.lambda
  if w.L == nil then -- one pass over X and Z per point; a new lambda (a dual step) needs none
    local _, L, residual = core.relaxed_value(w.rws, s.X, lam, w.F)
    w.L, w.residual = L, residual
  end
  -- G = L + lambda^T F, summed here in one order whether F is new or cached
  -- (a resumed run recomputes what the uninterrupted one had cached)
  local G = w.L
  for i = 1, w.F:rows() do G = G + lam:get(i, 1) * w.F:get(i, 1) end
  return G, w.L, w.F, w.residual
end

local function max_abs(v)
  local t = 0
  for i = 1, v:rows() do t = math.max(t, math.abs(v:get(i, 1))) end
  return t
end

local function slack_of(s) return s.lipschitz_slack or 1.1 end

-- theta1, theta2 for the current X (a valid upper bound, see above).
local function theta_constants(s)
  local m, lam = s.X:cols(), s.model.lambda
  local r = s.sigma
  if r == nil or r.bound > slack_of(s) * r.exact then
    local theta1 = core.lipschitz_theta(ws_of(s).rws, s.X, s.U, lam)
    local sigma = math.sqrt(theta1 * m)
    r = {exact = sigma, bound = sigma}
    s.sigma = r
  end
  local t1 = r.bound ^ 2 / m
  return t1, max_abs(lam) * t1
end

--- relaxed.theta_step(s) -> s: theta <- P_S(theta - grad_theta G / L) with
-- L = theta1 for (A, B, c) and theta2 for (D, E, f) (the objective is
-- separable in the two blocks at fixed X, so each takes its own step, both
-- from the gradient at the same point), then D onto the constraint set. The
-- (D, E, f) step is skipped while lambda = 0 (G does not depend on them).
function relaxed.theta_step(s)
  check_state(s)
  local th, lam = s.model.theta, s.model.lambda
  local w = forward(s)
  local theta1, theta2 = theta_constants(s)
  s.last_constants = {theta1 = theta1, theta2 = theta2}
  core.relaxed_grads(w.rws, s.X, lam, w.grad, nil)
  w.fresh = false
  local g = w.grad
  for _, k in ipairs{"A", "B", "c"} do core.axpy(th[k], -1 / theta1, g[k]) end
  if theta2 > 0 then
    for _, k in ipairs{"D", "E", "f"} do core.axpy(th[k], -1 / theta2, g[k]) end
    model_mod.project_(th.D, s.model.constraint, lam)
  end
  return s
end

--- relaxed.x_step_of(s, config) -> s: relaxed.x_step, then config.on_step(s)
-- when set (the per-step hook: idl.experiment.trace_steps records the trace
-- from it). The rounds call this one.
function relaxed.x_step_of(s, config)
  relaxed.x_step(s)
  if config.on_step then config.on_step(s) end
  return s
end

-- The reference of the X-block constant (idl.lipschitz_x_carried): M and D
-- at its last exact computation and their norms (mu = nil: none yet). A
-- plain table in the state, so that checkpoints keep it.
local function x_reference(s)
  local r = s.lipschitz_x
  if r == nil then
    local h = s.X:rows()
    r = {M = core.zeros(h, h), D = core.zeros(h, h)}
    s.lipschitz_x = r
  end
  return r
end

-- L_x at the current theta: valid, within s.lipschitz_slack of the exact one.
local function x_constant(s, w)
  local r = x_reference(s)
  local lx, _, mu, delta = core.lipschitz_x_carried(w.rws, s.model.theta, s.model.lambda, r.M, r.D,
    r.mu, r.delta, slack_of(s))
  r.mu, r.delta = mu, delta
  return lx
end

--- relaxed.x_step(s) -> s: X <- (X - grad_X G / L_x)_+ with L_x a valid
-- X-block constant at the current theta, at most s.lipschitz_slack (1.1)
-- times the exact one (idl.lipschitz_x_carried: exact when the bound carried
-- from the last exact computation would exceed that).
function relaxed.x_step(s)
  check_state(s)
  local lam, X = s.model.lambda, s.X
  local w = forward(s)
  local lx = x_constant(s, w)
  s.last_constants = s.last_constants or {}
  s.last_constants.x = lx
  core.relaxed_grads(w.rws, X, lam, nil, w.gX)
  w.fresh = false
  if lx <= 0 then return s end -- G is constant in X (A = 0, lambda = 0)
  local moved = core.relaxed_x_update(X, w.gX, 1 / lx) / lx -- ||grad X||_F / L_x
  if s.sigma then s.sigma.bound = s.sigma.bound + moved end
  return s
end

--- relaxed.def_step(s) -> true if taken: the (D, E, f) half of the theta step
-- alone ((A, B, c) frozen, e.g. at their exact minimizer); false while
-- lambda = 0.
function relaxed.def_step(s)
  check_state(s)
  local th, lam = s.model.theta, s.model.lambda
  local _, theta2 = theta_constants(s)
  if theta2 <= 0 then return false end
  local w = forward(s)
  core.relaxed_grads(w.rws, s.X, lam, w.grad, nil)
  w.fresh = false
  for _, k in ipairs{"D", "E", "f"} do core.axpy(th[k], -1 / theta2, w.grad[k]) end
  model_mod.project_(th.D, s.model.constraint, lam)
  return true
end

--- relaxed.dual_step(s, alpha, eps) -> the number of units updated:
-- lambda += alpha F .* 1{F >= eps} (report 4.1), F at the current (theta, X).
function relaxed.dual_step(s, alpha, eps)
  local _, _, F = relaxed.objective(s)
  local count = 0
  for i = 1, F:rows() do
    if F:get(i, 1) >= eps then count = count + 1 end
  end
  if count > 0 then core.copy(s.model.lambda, core.dual_update(s.model.lambda, F, alpha, eps)) end
  return count
end

--- relaxed.abc_exact(s [, ridge_rel]) -> s: (A, B, c) = the readout at fixed X
-- (idl.readout; ridge_rel defaults to relaxed.READOUT_RIDGE).
function relaxed.abc_exact(s, ridge_rel)
  check_state(s)
  if ridge_rel ~= nil then api.check(ridge_rel, {"number", gt = 0}, "ridge_rel") end
  core.readout(s.model.theta, s.X, s.U, s.Y, ridge_rel or relaxed.READOUT_RIDGE)
  s.ws.fresh = false
  return s
end

-- ---------------------------------------------------------------------------
-- Centred input coordinates: the relaxed rounds run on u - mu (mu the
-- training inputs' row means), so a feature offset (a Unix timestamp) leaves
-- the step sizes and the steps unchanged. The same model in both coordinates
-- (idl.standardize with unit scales): f' = f + E mu, c' = c + B mu. The
-- centred theta is the master while training (s.trainer_state, saved in
-- checkpoints, so resume is bit-identical); s.model is rewritten in raw
-- coordinates after every round, so the model, checkpoints and predictions
-- are always the user's.

local function centred_context(s, saved)
  local n, p = s.U:rows(), s.Y:rows()
  local sc = {u_mean = saved and saved.mu or (s.U:sum(2) / s.U:cols()), u_scale = core.ones(n, 1),
    y_mean = core.zeros(p, 1), y_scale = core.ones(p, 1)}
  local m = s.model
  local cmodel = model_mod.new{theta = saved and saved.theta or standardize.to_standardized(m.theta, sc),
    constraint = m.constraint, loss = m.loss}
  cmodel.lambda = m.lambda -- shared: the dual steps write the model's own
  local view = {model = cmodel, U = standardize.standardize(s.U, sc.u_mean, sc.u_scale), Y = s.Y,
    ws = {}}
  if s.eval then
    view.eval = {U = standardize.standardize(s.eval.U, sc.u_mean, sc.u_scale), Y = s.eval.Y}
  end
  return {centred = true, source = m, sc = sc, view = view}
end

--- relaxed.centred(s, config) -> v: the trainer state s in centred input
-- coordinates (see above) for one relaxed round, s itself when
-- config.centre_inputs is false (the report's raw coordinates);
-- relaxed.uncentre(s, v) after the round writes the model back.
function relaxed.centred(s, config)
  check_state(s)
  if config.centre_inputs == false then return s end
  local ctx = s.trainer_state
  if type(ctx) ~= "table" or not ctx.centred or ctx.source ~= s.model then
    ctx = centred_context(s)
    s.trainer_state = ctx
  end
  local v = ctx.view
  -- the forward pass of the last round's final point serves this round's
  -- first step (one GEMM-sized pass a round), unless X is another matrix now;
  -- edits in place go through relaxed.invalidate, which drops the twin
  if v.X ~= s.X then v.ws.fresh = false end
  v.X, v.round, v.sigma, v.lipschitz_slack = s.X, s.round, s.sigma, s.lipschitz_slack
  v.lipschitz_x = s.lipschitz_x
  return v
end

--- relaxed.uncentre(s, v) -> s: the round's centred model v written into
-- s.model in raw coordinates.
function relaxed.uncentre(s, v)
  if v == s then return s end
  local ctx = s.trainer_state
  standardize.from_standardized(v.model.theta, ctx.sc, s.model.theta)
  s.sigma, s.last_constants, s.lipschitz_x = v.sigma, v.last_constants, v.lipschitz_x
  s.ws.fresh = false
  return s
end

--- relaxed.measured(s) -> the state whose relaxed objective describes s:
-- the centred twin of the last relaxed round while it is current (its
-- forward pass is cached, and the trace of on_step read the same numbers),
-- s otherwise.
function relaxed.measured(s)
  local ctx = s.trainer_state
  if type(ctx) == "table" and ctx.centred and ctx.source == s.model and ctx.view.X == s.X then
    return ctx.view
  end
  return s
end

--- relaxed.save_state(s) -> the centred parameters and mu for a checkpoint,
-- nil before the first round.
function relaxed.save_state(s)
  local ctx = type(s) == "table" and s.trainer_state
  if type(ctx) ~= "table" or not ctx.centred then return nil end
  return {centred = true, theta = ctx.view.model.theta, mu = ctx.sc.u_mean}
end

--- relaxed.restore_state(s, saved) -> s: the state of save_state put back.
function relaxed.restore_state(s, saved)
  check_state(s)
  if type(saved) ~= "table" or not saved.centred then
    api.fail("saved must be a table from relaxed.save_state")
  end
  model_mod.check_theta(saved.theta)
  if not core.is_matrix(saved.mu) or saved.mu:rows() ~= s.U:rows() or saved.mu:cols() ~= 1 then
    api.fail("saved.mu must be a " .. s.U:rows() .. " x 1 matrix")
  end
  s.trainer_state = centred_context(s, {theta = util.copy_matrices(saved.theta), mu = saved.mu})
  return s
end

return relaxed
