--- idl._doc_topics: the generated topics of the HTML reference (private).
-- The estimators' parameters are declared once, in idl.estimator's schema;
-- this writes that declaration as a Markdown topic for LDoc, so the reference
-- and help() can never disagree. The docs target (CMakeLists.txt) and
-- tests/lua/docs_spec.lua call it before running LDoc.
local core = require "idl.core"
local api = require "idl._api"
local estimator = require "idl.estimator"

local topics = {}

--- topics.write(dir) -> the path written: dir/parameters.md, the parameter
-- table of IDLModel / IDLClassifier and the options of fit, from the schema.
topics.write = api.public("idl._doc_topics.write", function(dir)
  if type(dir) ~= "string" or dir == "" then api.fail("dir must be a non-empty string") end
  local path = dir .. "/parameters.md"
  local ok, err = core.write_file_atomic(path, "# Estimator parameters\n\n",
    "The parameters of `idl.IDLModel{...}` and `idl.IDLClassifier{...}` (each declared once, ",
    "in `idl.estimator`'s schema; `help(idl.IDLModel)` shows the same list):\n\n",
    estimator.docs(), "\n\n## Options of fit\n\n`est:fit(X, y, {...})` takes:\n\n",
    estimator.fit_docs(), "\n")
  if not ok then api.fail(err) end
  return path
end)

return topics
