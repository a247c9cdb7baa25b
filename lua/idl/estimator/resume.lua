--- Fit's long runs, seen from the estimator: the meta fields its checkpoints
-- carry (the fit record: trainer, planned rounds, trainer_options, scalar
-- parameters), reading a checkpoint back for fit's resume option, and the
-- checks that a resumed run is the run that wrote it. The trainer state
-- itself is idl.train.checkpoint's.
-- @module idl.estimator.resume

local api = require "idl._api"
local schema = require "idl.estimator.schema"
local model_mod = require "idl.model"
local trainers = require "idl.trainers"
local json = require "idl.json"

local resume = {}

local SCHEMA = schema.parameters

-- The parameters a resumed run must share with the run that wrote the
-- checkpoint (the others do not change the numbers), as declared (resume = true).
local RESUME_PARAMS = SCHEMA:flagged("resume")

-- The per-trainer parameters (declared per_trainer = true).
local PER_TRAINER_PARAMS = SCHEMA:flagged("per_trainer")

--- resume.param_meta(params) -> the meta fields of a model file written by the
-- estimator: estimator = "IDLModel" and "param.<name>" for every scalar
-- parameter (est:save, checkpoints; idl.IDLModel.load reads them back); and
-- the table of those scalar parameters.
function resume.param_meta(params)
  local meta, scalars = {estimator = "IDLModel"}, {}
  for k, v in pairs(params) do
    local t = type(v)
    if t == "number" or t == "string" or t == "boolean" then
      meta["param." .. k] = v
      scalars[k] = v
    end
  end
  return meta, scalars
end

--- resume.checkpoint_meta(p, o) -> the meta fields of fit's checkpoints: the
-- parameters' (param_meta) and the fit record that resume reads back.
function resume.checkpoint_meta(p, o)
  local meta, record_params = resume.param_meta(p)
  local record = {type_of_training = o.type_of_training, rounds_number = o.rounds_number,
    params = record_params}
  if o.trainer_options ~= nil and json.try_encode(o.trainer_options) then
    record.trainer_options = o.trainer_options
  end
  meta["checkpoint.fit"] = json.encode(record)
  return meta
end

--- resume.read(path) -> the checkpoint named by fit's resume option (a
-- model), and the fit record the estimator wrote into it.
function resume.read(path)
  local ck, problem = model_mod.read(path)
  if not ck then api.fail("resume: " .. problem) end
  local record = ck.meta["checkpoint.fit"]
  local saved = type(record) == "string" and json.decode(record)
  if type(saved) ~= "table" or type(saved.type_of_training) ~= "string" then
    api.fail("resume: '" .. path .. "' is not a checkpoint of fit (written with checkpoint_path)")
  end
  return ck, saved
end

--- resume.defaults(fit_defaults, saved_params) -> a copy of fit_defaults
-- with the per-trainer values the checkpoint was written with (recorded in
-- its params): a resumed run keeps them even if the trainer's declared
-- defaults changed since.
function resume.defaults(fit_defaults, saved_params)
  local out = {}
  for k, v in pairs(fit_defaults or {}) do out[k] = v end
  for _, k in ipairs(PER_TRAINER_PARAMS) do
    if saved_params[k] ~= nil then out[k] = saved_params[k] end
  end
  return out
end

--- resume.state(p, o, data) -> the trainer state of fit's resume option
-- (o.checkpoint, o.saved from resume.read), checked against this
-- estimator's parameters p and the data {U =, Y =, eval =}.
function resume.state(p, o, data)
  local ck, saved = o.checkpoint, o.saved
  for _, k in ipairs(RESUME_PARAMS) do
    local was = type(saved.params) == "table" and saved.params[k]
    if was ~= nil and was ~= p[k] then
      api.fail(string.format("resume: the checkpoint was written with %s = %s, this estimator has %s",
        k, tostring(was), tostring(p[k])))
    end
  end
  if ck.h ~= p.hidden_variables or ck.constraint.kind ~= p.constraint.kind
    or ck.constraint.kappa ~= p.constraint.kappa then
    api.fail(string.format("resume: the checkpoint holds a model with h = %d, constraint %s %g; "
      .. "this estimator has hidden_variables = %d, constraint %s %g", ck.h, ck.constraint.kind,
      ck.constraint.kappa, p.hidden_variables, p.constraint.kind, p.constraint.kappa))
  end
  -- a check that fails in there raises under fit's name, like those above
  return trainers.resume(ck, data)
end

return resume
