--- The trainers by name. A trainer is a spec, a small table (usually a module
-- of its own under lua/idl/train/, which `get` loads on first use: a new
-- trainer is one file):
--
--     {name = "my_trainer",
--      round = function(s, config, opts) -> result,  -- one round, see below
--      options = idl.params.schema{...} or nil,       -- its config.trainer_options
--      fit_defaults = {rounds_number =, patience =, holdout =, refit_below =,
--                      ensemble =, initialization_options =},
--      relaxed = true,                                -- it trains s.X (false: the history's
--                                                     -- relaxed fields stay nil)
--      save_state = function(s) -> table or nil,      -- its state for a checkpoint
--      restore_state = function(s, saved),            -- and back
--      state_key = "name",                            -- where a checkpoint keeps that state
--      shard_state = {"key", ...}}                    -- the entries of that state that are a
--                                                     -- rank's own in a data-parallel run
--                                                     -- (idl.train.checkpoint saves them per rank)
--
-- round(s, config, opts) runs one round (opts: config.trainer_options checked
-- against `options`, defaults filled in) and returns a result record:
-- {stop = true when training is done (e.g. no unit left with F >= eps),
-- iterations = inner steps, loss = its training loss, fault = a message when
-- its own state became non-finite, eq_failures = equilibria of the round that
-- did not converge}. Every field is optional; the loop (idl.train.loop) reads
-- nothing else. A round given as a plain function may return true to stop.
-- The trainer's own state lives in s.trainer_state (the loop drops it after a
-- fault; a checkpoint keeps what save_state returns).
-- @module idl.train.registry

local api = require "idl._api"

local registry = {}

--- registry.specs: name -> spec of every trainer registered or loaded so far.
registry.specs = {}

--- The trainers that ship with idl (modules idl.train.<name>).
registry.BUILTIN = {"two_loops", "one_loop", "bcd", "hybrid", "implicit"}

local SPEC_FIELDS = {name = true, round = true, options = true, fit_defaults = true, relaxed = true,
  save_state = true, restore_state = true, state_key = true, shard_state = true}

-- A trainer's function as the public function it is (trainers.bcd,
-- trainers.registry.bcd.restore_state: idl._api names its errors and blames
-- the caller's line). One wrapper per function, so that a function several
-- trainers share (the relaxed steps' save_state) stays one function.
local WRAPPED = setmetatable({}, {__mode = "k"})
local function public(f, name)
  if api.name_of(f) then return f end
  WRAPPED[f] = WRAPPED[f] or api.public(name, f)
  return WRAPPED[f]
end

-- The spec checked, as a new table of its fields with the defaults
-- (relaxed = true, fit_defaults = {}, state_key = name) filled in.
local function checked(spec)
  api.check(spec, "table", "spec")
  local name = spec.name
  if type(name) ~= "string" or not name:match("^[%w_]+$") then
    api.fail("name must be a word (letters, digits, _), got " .. api.describe(name))
  end
  if type(spec.round) ~= "function" then
    api.fail("round must be a function, got " .. api.describe(spec.round))
  end
  local o = spec.options
  if o ~= nil and (type(o) ~= "table" or type(o.check_table) ~= "function") then
    api.fail("options must be a schema (idl.params.schema), got " .. api.describe(spec.options))
  end
  if spec.relaxed ~= nil then api.check(spec.relaxed, "boolean", "relaxed") end
  if spec.fit_defaults ~= nil then api.check(spec.fit_defaults, "table", "fit_defaults") end
  if spec.shard_state ~= nil then api.check(spec.shard_state, "table", "shard_state") end
  for _, k in ipairs{"save_state", "restore_state"} do
    if spec[k] ~= nil and type(spec[k]) ~= "function" then
      api.fail(k .. " must be a function, got " .. api.describe(spec[k]))
    end
  end
  local out = {} -- the spec's fields (a trainer module may hold more: its helpers)
  for k in pairs(SPEC_FIELDS) do out[k] = spec[k] end
  out.round = public(spec.round, "idl.trainers." .. name)
  for _, k in ipairs{"save_state", "restore_state"} do
    if spec[k] then out[k] = public(spec[k], "idl.trainers.registry." .. name .. "." .. k) end
  end
  out.relaxed = spec.relaxed ~= false
  out.fit_defaults = spec.fit_defaults or {}
  out.state_key = spec.state_key or name
  return out
end

--- registry.register(spec) -> spec: makes the trainer known by its name (a
-- later registration of the same name replaces it).
function registry.register(spec)
  local s = checked(spec)
  registry.specs[s.name] = s
  return s
end

--- registry.get(name) -> the spec of that trainer, loading idl.train.<name>
-- on first use; nil when there is none.
function registry.get(name)
  if type(name) ~= "string" or not name:match("^[%w_]+$") then return nil end
  local s = registry.specs[name]
  if s then return s end
  local ok, mod = pcall(require, "idl.train." .. name)
  if ok and type(mod) == "table" and type(mod.round) == "function" and mod.name == name then
    return registry.register(mod)
  end
  if not ok and not tostring(mod):find("module 'idl.train." .. name .. "' not found", 1, true) then
    error(mod, 0) -- the trainer's file exists and raised: say so
  end
  return nil
end

--- registry.load_builtin(): the trainers that ship with idl, loaded.
function registry.load_builtin()
  for _, name in ipairs(registry.BUILTIN) do registry.get(name) end
end

--- registry.names() -> the sorted names of the known trainers.
function registry.names()
  registry.load_builtin()
  local t = {}
  for k in pairs(registry.specs) do t[#t + 1] = k end
  table.sort(t)
  return t
end

--- registry.options_of(spec, given) -> given (config.trainer_options)
-- checked against the spec's options schema, with its defaults filled in (a
-- new table). A bad option raises under the name of the public function
-- called (idl.trainers.run, idl.IDLModel:fit; idl._api).
function registry.options_of(spec, given)
  if spec.options == nil then return given or {} end
  local what = "trainer_options (trainer '" .. spec.name .. "')"
  local t, problem = spec.options:test_table(given, what)
  if problem then api.fail(problem) end
  return spec.options:resolve(t)
end

return registry
