--- An implicit model: parameters, dual variables, constraint set, loss, and
-- its file format.
--
--     yhat = A x + B u + c,    x = (D x + E u + f)_+
--
-- A model holds theta = {A p x h, B p x n, c p x 1, D h x h, E h x n, f h x 1},
-- lambda (h x 1, the dual variables of the relaxed training problem), the
-- constraint set D was trained under ({kind = "inf" | "spectral" | "lmi",
-- kappa = number}), the name of its loss (idl.losses) and the sizes n, h, p.
-- model.meta is a free table of extra fields (numbers, strings, booleans,
-- matrices, arrays of numbers or strings) that save/load carry along: class
-- labels of a classifier, a trainer's state for a checkpoint, ...
-- Columns are samples here (U n x m); the estimator (idl.IDLModel) works with
-- rows-are-samples data and transposes at its boundary.
--
-- The pieces: idl.model.constraints (the constraint sets of D), idl.model.class
-- (the Model class), idl.model.file (the file format, save and load) and
-- idl.model.ensemble (model.average: the mean of models as one model); this
-- module gathers them under the names scripts use (idl.model.new, .load, ...).
-- @module idl.model

local constraints = require "idl.model.constraints"
local class = require "idl.model.class"
local file = require "idl.model.file"
local ensemble = require "idl.model.ensemble"

local model = {}

model.Model = class.Model
model.THETA_NAMES = class.THETA_NAMES
model.CONSTRAINT_KINDS = constraints.KINDS
model.FORMAT, model.VERSION = file.FORMAT, file.VERSION

for _, k in ipairs{"check_constraint", "constraint_value", "project_", "in_set"} do
  model[k] = constraints[k]
end
for _, k in ipairs{"theta_problem", "check_theta", "new", "DEFAULT_LOSS"} do model[k] = class[k] end
for _, k in ipairs{"_checksum", "serialize", "parse", "read", "load"} do model[k] = file[k] end
model.average = ensemble.average

return model
