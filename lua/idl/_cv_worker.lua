--- The worker script of idl.model_selection's parallel runs: idl.parallel
-- starts it as `<idl> _cv_worker.lua --worker IN OUT INDEX`, one process per
-- (parameter set, fold) job.
-- @script idl._cv_worker
local parallel = require "idl.parallel"
local cv = require "idl._cv"

parallel.serve(arg, cv.run_job)
