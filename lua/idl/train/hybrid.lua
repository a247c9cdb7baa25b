--- hybrid: the report's Fenchel trainer, then implicit fine-tuning. The first
-- trainer_options.fenchel_rounds rounds (default 10) are two_loops rounds;
-- every later round is an epoch of the "implicit" trainer (its options apply),
-- starting from the model the Fenchel rounds left. (After the switch, the
-- relaxed fields of the history describe the frozen relaxed X, not the model.)
-- @module idl.train.hybrid

local params = require "idl.params"
local state = require "idl.train.state"
local two_loops = require "idl.train.two_loops"
local implicit = require "idl.train.implicit"
local registry = require "idl.train.registry"

local steps = require "idl.train.relaxed"

local hybrid = {name = "hybrid", state_key = implicit.state_key,
  fit_defaults = {rounds_number = 60, holdout = 0.2, patience = 40}}

-- The state of the phase that ran last: the relaxed rounds' centred model
-- (idl.train.relaxed) or the implicit epochs' standardized one.
function hybrid.save_state(s)
  local ctx = type(s) == "table" and s.trainer_state
  if type(ctx) == "table" and ctx.centred then return steps.save_state(s) end
  return implicit.save_state(s)
end

function hybrid.restore_state(s, saved)
  if type(saved) == "table" and saved.centred then return steps.restore_state(s, saved) end
  return implicit.restore_state(s, saved)
end

local OPTIONS = {{"fenchel_rounds", 10, "count", "two_loops rounds before the implicit epochs"}}
for _, e in ipairs(implicit.OPTIONS) do OPTIONS[#OPTIONS + 1] = e end
hybrid.options = params.schema(OPTIONS)

--- hybrid.round(s, config, opts) -> a round record: a two_loops round for the first
-- fenchel_rounds rounds, an implicit epoch after (idl.trainers.hybrid).
function hybrid.round(s, config, opts)
  state.check(s)
  state.check_config(config, state.INNER_KEYS)
  opts = opts or registry.options_of(hybrid, config.trainer_options)
  if s.round <= opts.fenchel_rounds then
    local r = two_loops.round(s, config)
    r.stop = nil -- the implicit rounds follow whatever the dual step found
    return r
  end
  local sub = {}
  for k, v in pairs(opts) do
    if k ~= "fenchel_rounds" then sub[k] = v end
  end
  return implicit.round(s, config, sub)
end

return hybrid
