-- train_small.lua: a short run through the engine for valgrind
-- (tests/memory/valgrind.sh): data, the relaxed and implicit trainers, the
-- solvers, projections, least squares, files. It checks its results, so a
-- run that valgrind passes is also a run that worked.
local idl = require "idl"

local tmp = os.getenv("TMPDIR") or "/tmp"
local rng = idl.rng(1)

-- the report's section 6 problem, small
local X, y = idl.data.linear(60, rng)
local X_train, X_test, y_train, y_test = idl.data.train_test_split(X, y, {test_size = 0.25,
  shuffle = false})
for _, training in ipairs{"two_loops", "one_loop", "bcd"} do
  local est = idl.IDLModel{hidden_variables = 3, random_state = 2, verbosity = false}
  est:fit(X_train, y_train, {rounds_number = 3, type_of_training = training,
    eval_set = {X_test, y_test}})
  local r2 = est:score(X_test, y_test)
  assert(r2 == r2, training .. ": score is NaN")
end

-- training through the equilibrium
local est = idl.IDLModel{hidden_variables = 4, random_state = 3, verbosity = false}
est:fit(X_train, y_train, {rounds_number = 2, type_of_training = "implicit"})
local path = tmp .. "/idl_valgrind_model.idl"
est:save(path)
local again = idl.IDLModel.load(path)
assert(idl.equal(again:predict(X_test), est:predict(X_test), 1e-12), "save/load changed predictions")
os.remove(path)

-- solvers and projections on their own
local D = idl.project_inf(idl.randn(20, 20, rng), 0.9)
local B0 = idl.randn(20, 30, rng)
local Xeq, info = idl.equilibrium(D, B0, {method = "anderson", tol = 1e-10})
assert(info.converged, "equilibrium did not converge")
local V = idl.implicit_backward(D, D * Xeq + B0, idl.randn(20, 30, rng))
assert(V:all_finite())
idl.project_spectral(D, 0.5)
idl.project_lmi(D, idl.ones(20, 1))
local W, rank = idl.lstsq(idl.randn(40, 5, rng), idl.randn(40, 2, rng))
assert(rank == 5 and W:rows() == 5)

-- CSV round trip
local csv = tmp .. "/idl_valgrind.csv"
idl.write_csv(csv, X_test, {"x"})
local back = idl.read_csv(csv)
assert(idl.equal(back, X_test))
os.remove(csv)
print("train_small: ok")
