--- The mean of several implicit models is an implicit model (idl.model
-- re-exports model.average).
--
-- For models r = 1..k with parameters (A_r, B_r, c_r, D_r, E_r, f_r) and the
-- same inputs and outputs, stack their hidden states x = [x_1; ...; x_k]:
--
--     D = blockdiag(D_1, ..., D_k),  E = [E_1; ...; E_k],  f = [f_1; ...; f_k],
--     A = [A_1 ... A_k] / k,  B = (B_1 + ... + B_k) / k,  c = (c_1 + ... + c_k) / k.
--
-- The equilibrium of the stacked system splits into the members' own (each
-- block sees only its own state), so its prediction is exactly the mean of
-- theirs; a block-diagonal D keeps each block's norm bound (||D||_inf and
-- ||D||_2 are the largest of the blocks'; the LMI of kind "lmi" holds block
-- by block for lambda stacked alike), so the mean stays in the constraint set
-- and well-posed. The estimator's ensembles (idl.IDLModel's ensemble_size)
-- are such means: one model to predict with, save and load.
-- @module idl.model.ensemble

local core = require "idl.core"
local api = require "idl._api"
local class = require "idl.model.class"

local ensemble = {}

-- The members' common n, p, loss and constraint, or raises what differs.
local function check_members(models)
  api.check(models, "table", "models")
  local k = #models
  if math.type(k) ~= "integer" or k < 1 then api.fail("models is empty: nothing to average") end
  for i = 1, k do
    if getmetatable(models[i]) ~= class.Model then
      api.failf("models[%d] must be an idl.model, got %s", i, api.describe(models[i]))
    end
  end
  local first = models[1]
  for i = 2, k do
    local m = models[i]
    if m.n ~= first.n or m.p ~= first.p then
      api.failf("models[%d] maps %d inputs to %d outputs, models[1] %d to %d", i, m.n, m.p, first.n, first.p)
    end
    if m.loss ~= first.loss then
      api.failf("models[%d] has loss '%s', models[1] '%s'", i, m.loss, first.loss)
    end
    local c, c1 = m.constraint, first.constraint
    if c.kind ~= c1.kind or c.kappa ~= c1.kappa then
      api.failf("models[%d] has constraint %s %g, models[1] %s %g", i, c.kind, c.kappa, c1.kind, c1.kappa)
    end
  end
end

--- model.average(models) -> a new model whose prediction is the mean of the
-- models' (a Lua array of idl.models with the same inputs, outputs, loss and
-- constraint): their hidden states stacked, D block-diagonal (idl.model.ensemble). Its
-- hidden size is the sum of theirs; lambda is stacked too; meta is empty.
-- The models are not modified.
ensemble.average = api.public("idl.model.average", function(models)
  check_members(models)
  local k, h = #models, 0
  for i = 1, k do h = h + models[i].h end
  local first = models[1]
  local D = core.zeros(h, h)
  local A, E, f, lambda = {}, {}, {}, {}
  local B, c = core.zeros(first.p, first.n), core.zeros(first.p, 1)
  local at = 0
  for r = 1, k do
    local m = models[r]
    local th = m.theta
    core.copy(D:sub(at + 1, at + m.h, at + 1, at + m.h), th.D)
    A[r], E[r], f[r], lambda[r] = th.A / k, th.E, th.f, m.lambda
    B, c = B + th.B, c + th.c
    at = at + m.h
  end
  return class.new{theta = {A = core.hcat(table.unpack(A)), B = B / k, c = c / k, D = D,
    E = core.vcat(table.unpack(E)), f = core.vcat(table.unpack(f))},
    lambda = core.vcat(table.unpack(lambda)), constraint = first.constraint, loss = first.loss}
end)

return ensemble
