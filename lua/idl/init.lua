--- idl: implicit deep learning models.
--
--     yhat = A x + B u + c,    x = (D x + E u + f)_+
--
-- `require "idl"` returns this table and creates no globals. The matrix
-- functions, kernels and generators come from the C module `idl.core`; the
-- Lua submodules (model, trainers, estimator, ...) are loaded on first use.
-- @module idl

local core = require "idl.core"

local idl = {}
for name, value in pairs(core) do
  idl[name] = value
end

-- Lua submodules and entry points, required on first access (idl.data,
-- idl.IDLModel, ...): `require "idl"` stays cheap and loads nothing else.
local lazy = {
  data = function() return require "idl.data" end,
  metrics = function() return require "idl.metrics" end,
  model = function() return require "idl.model" end,
  losses = function() return require "idl.losses" end,
  linear = function() return require "idl.linear" end,
  initializers = function() return require "idl.initializers" end,
  trainers = function() return require "idl.trainers" end,
  estimator = function() return require "idl.estimator" end,
  progress = function() return require "idl.progress" end,
  optim = function() return require "idl.optim" end,
  implicit = function() return require "idl.implicit" end,
  plot = function() return require "idl.plot" end,
  json = function() return require "idl.json" end,
  cli = function() return require "idl.cli" end,
  parallel = function() return require "idl.parallel" end,
  model_selection = function() return require "idl.model_selection" end,
  IDLModel = function() return require("idl.estimator").IDLModel end,
  IDLClassifier = function() return require("idl.classifier").IDLClassifier end,
  classifier = function() return require "idl.classifier" end,
  LinearRegression = function() return require("idl.linear").LinearRegression end,
  logistic = function() return require "idl.logistic" end,
  LogisticRegression = function() return require("idl.logistic").LogisticRegression end,
  load = function() return require("idl.model").load end,
  help = function() return require("idl.help").help end,
  repl = function() return require "idl.repl" end,
  timing = function() return require("idl.repl").timing end,
}
-- __fields lists what __index answers, for the REPL's completion (which never calls it).
setmetatable(idl, {__fields = lazy, __index = function(t, key)
  local loader = lazy[key]
  if loader == nil then return nil end
  local value = loader()
  rawset(t, key, value)
  return value
end})

return idl
