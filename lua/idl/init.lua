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

return idl
