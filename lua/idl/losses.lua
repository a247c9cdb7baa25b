--- The output losses a model can be trained and evaluated with, by name.
--
-- A loss is a table {name =, value = function(Yhat, Y) -> number,
-- gradient = function(Yhat, Y [, G]) -> dL/dYhat (p x m), relaxed = bool,
-- describe = string}. Columns are samples (Yhat, Y p x m). `relaxed` says
-- whether the report's relaxed trainers (two_loops, one_loop, bcd) apply: their
-- objective G = L + lambda^T F is built on the squared error inside the engine
-- (idl.objective, idl.gradients), so only "squared" has it.
--
-- Another module adds a loss with losses.register(name, spec); the model keeps
-- only the name, so saved files stay readable.
-- @module idl.losses

local core = require "idl.core"
local api = require "idl._api"

local losses = {}
local registry = {}

--- losses.register(name, spec): makes spec available as losses.get(name).
losses.register = api.public("idl.losses.register", function(name, spec)
  if type(name) ~= "string" or not name:match("^[%w_]+$") then
    api.fail("name must be a word (letters, digits, _), got " .. api.describe(name))
  end
  if type(spec) ~= "table" or type(spec.value) ~= "function" or type(spec.gradient) ~= "function" then
    api.fail("spec must be a table with value and gradient functions")
  end
  spec.name = name
  registry[name] = spec
  return spec
end)

--- losses.get(name) -> the loss spec, or an error listing the known names.
losses.get = api.public("idl.losses.get", function(name)
  local spec = type(name) == "string" and registry[name]
  if spec then return spec end
  local known = table.concat(losses.names(), ", ")
  if type(name) ~= "string" then
    api.failf("name must be a string (one of %s), got %s", known, type(name))
  end
  api.failf("unknown loss '%s' (known: %s)", name, known)
end)

--- losses.names() -> a sorted array of the registered names.
function losses.names()
  local names = {}
  for k in pairs(registry) do names[#names + 1] = k end
  table.sort(names)
  return names
end

losses.register("squared", {
  describe = "||Yhat - Y||_F^2 / (2m), the report's L",
  relaxed = true,
  value = function(yhat, y) return (core.squared_loss(yhat, y)) end,
  gradient = function(yhat, y, g) return select(2, core.squared_loss(yhat, y, g)) end,
})

losses.register("softmax_xent", {
  describe = "mean softmax cross-entropy of the logits Yhat against one-hot Y",
  relaxed = false,
  value = function(yhat, y) return (core.softmax_xent(yhat, y)) end,
  gradient = function(yhat, y, g) return select(2, core.softmax_xent(yhat, y, g)) end,
})

return losses
