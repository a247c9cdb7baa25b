--- bcd (report 3.1): block coordinate descent. (A, B, c) exactly (the
-- readout), (D, E, f) then X by projected gradient until G changes by less
-- than inner_tol in a step (at most inner_max_iter steps each), then a dual
-- step. Training is done when no unit has F >= tol_fenchel.
-- @module idl.train.bcd

local steps = require "idl.train.relaxed"
local state = require "idl.train.state"
local two_loops = require "idl.train.two_loops"

local bcd = {name = "bcd", save_state = steps.save_state, restore_state = steps.restore_state}

-- Repeats step(s) (which returns false when it has nothing to do) until G
-- settles; returns the steps taken and the last G.
local function descend(s, config, step, g0)
  local k = 0
  repeat
    if step(s) == false then break end
    local g1 = steps.objective(s)
    k = k + 1
    local done = two_loops.settled(g0, g1, config.inner_tol)
    g0 = g1
  until done or k >= config.inner_max_iter
  return k, g0
end

--- bcd.round(s, config) -> a round record: one round of the block coordinate descent
-- described above (idl.trainers.bcd).
function bcd.round(s, config)
  state.check(s)
  state.check_config(config, state.INNER_KEYS)
  local v = steps.centred(s, config)
  steps.abc_exact(v)
  local k, g = descend(v, config, steps.def_step, (steps.objective(v)))
  local kx = descend(v, config, function(st) return steps.x_step_of(st, config) end, g)
  local units = steps.dual_step(v, config.dual_learning_rate, config.tol_fenchel)
  steps.uncentre(s, v)
  return {iterations = k + kx, stop = units == 0}
end

return bcd
