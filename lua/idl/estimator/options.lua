--- The options of est:fit, checked and resolved before any data is looked
-- at: fit's schema (idl.estimator.schema), then what a checkpoint being
-- resumed recorded, the preset's and the trainer's declared fit_defaults, in
-- that order; and the conditions of a data-parallel fit.
-- @module idl.estimator.options

local api = require "idl._api"
local schema = require "idl.estimator.schema"
local resume = require "idl.estimator.resume"
local trainers = require "idl.trainers"
local mpi = require "idl.mpi"

local options = {}

local SCHEMA, FIT_SCHEMA = schema.parameters, schema.fit_options

-- distributed = true: MPI must be built in; in a job of several ranks only
-- the implicit trainer is data-parallel.
local function check_distributed(o)
  if not mpi.available() then
    api.fail("distributed = true needs idl.mpi, and this idl was built without MPI")
  end
  o.ranks = mpi.size()
  if o.ranks == 1 then return end
  if o.type_of_training ~= "implicit" then
    api.fail("distributed = true trains with type_of_training 'implicit' only, not '"
      .. o.type_of_training .. "'")
  end
  -- one progress line for the job
  if mpi.rank() ~= 0 then o.verbose = false end
end

--- options.check(params, opts) -> o: fit's options opts (a table or nil)
-- checked against fit's schema and completed for the estimator's parameters
-- `params`: verbose, type_of_training, rounds_number, trainer_options,
-- checkpoint_every, and o.fit_defaults (the trainer's, or the checkpoint's);
-- with resume, o.checkpoint and o.saved (idl.estimator.resume.read); with
-- distributed, o.ranks.
function options.check(params, opts)
  local o = FIT_SCHEMA:check_table(opts, "options")
  if o.verbose == nil then o.verbose = params.verbosity end
  if o.resume ~= nil then o.checkpoint, o.saved = resume.read(o.resume) end
  local saved = o.saved or {}
  if o.saved and o.type_of_training ~= nil and o.type_of_training ~= saved.type_of_training then
    api.fail(string.format("resume: the checkpoint was written by type_of_training '%s', not '%s'",
      saved.type_of_training, o.type_of_training))
  end
  local preset = params.preset and FIT_SCHEMA:preset(params.preset) or {}
  o.type_of_training = o.type_of_training or saved.type_of_training or preset.type_of_training or "implicit"
  o.type_of_training = FIT_SCHEMA:check("type_of_training", o.type_of_training)
  o.fit_defaults = trainers.registry[o.type_of_training].fit_defaults
  SCHEMA:check_overrides(o.fit_defaults, "the fit_defaults of trainer '" .. o.type_of_training .. "'")
  if type(saved.params) == "table" then o.fit_defaults = resume.defaults(o.fit_defaults, saved.params) end
  o.rounds_number = o.rounds_number or saved.rounds_number or o.fit_defaults.rounds_number
    or FIT_SCHEMA:info("rounds_number").default
  if o.trainer_options == nil then o.trainer_options = saved.trainer_options end
  o.checkpoint_every = o.checkpoint_every or 0
  if o.checkpoint_every > 0 and o.checkpoint_path == nil then
    api.fail("checkpoint_every needs checkpoint_path (the file to write)")
  end
  if o.distributed then check_distributed(o) end
  return o
end

return options
