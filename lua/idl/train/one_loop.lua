--- one_loop: one theta step, one X step and one dual step per round.
-- @module idl.train.one_loop

local steps = require "idl.train.relaxed"
local state = require "idl.train.state"

local one_loop = {name = "one_loop", save_state = steps.save_state,
  restore_state = steps.restore_state}

--- one_loop.round(s, config) -> a round record: one theta step, one X step, one dual step
-- (idl.trainers.one_loop).
function one_loop.round(s, config)
  state.check(s)
  state.check_config(config, state.DUAL_KEYS)
  local v = steps.centred(s, config)
  steps.theta_step(v)
  steps.x_step_of(v, config)
  steps.dual_step(v, config.dual_learning_rate, config.tol_fenchel)
  steps.uncentre(s, v)
  return {iterations = 1}
end

return one_loop
