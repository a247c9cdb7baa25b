--- Numerical faults of a run: the last good parameters, the checks for NaN
-- and Inf, and the rollback (idl.train.loop).
-- @module idl.train.faults

local core = require "idl.core"
local api = require "idl._api"
local model_mod = require "idl.model"
local steps = require "idl.train.relaxed"

local faults = {}

function faults.finite_number(v) return v == v and v ~= math.huge and v ~= -math.huge end

function faults.nonfinite_word(v)
  if v ~= v then return "NaN" end
  return v > 0 and "Inf" or "-Inf"
end

-- "theta.A has a NaN entry at (1, 2)" for the first non-finite parameter
-- (theta, lambda, and X for the relaxed trainers), or nil.
function faults.nonfinite_parameter(s, config)
  local function check(name, m)
    local i, j = api.first_nonfinite(m)
    if i then
      return string.format("%s has a%s %s entry at (%d, %d)", name, m:get(i, j) ~= m:get(i, j) and "" or "n",
        faults.nonfinite_word(m:get(i, j)), i, j)
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

function faults.nonfinite_entry(e)
  for _, f in ipairs(ENTRY_LOSSES) do
    local v = e[f[1]]
    if v ~= nil and not faults.finite_number(v) then
      return string.format("%s is %s", f[2], faults.nonfinite_word(v))
    end
  end
end

-- The parameters of the last good round, copied into buffers allocated once.
function faults.save_good(s, config)
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
-- (s.trainer_state) holds the fault too and is dropped.
function faults.rollback(s, config, what)
  local g = s.ws.good
  local bad_round = s.round
  for _, k in ipairs(model_mod.THETA_NAMES) do core.copy(s.model.theta[k], g.theta[k]) end
  core.copy(s.model.lambda, g.lambda)
  if config.relaxed and g.X then core.copy(s.X, g.X) end
  s.trainer_state = nil
  steps.invalidate(s)
  s.round = g.round
  s.fault = {round = bad_round, what = what, good_round = g.round}
  s.stop_reason = "non-finite"
end

return faults
