--- Benchmark: predicting with an ensemble (the mean of k models, one implicit
-- model with a block-diagonal D: idl.model.average) solved block by block,
-- against the same model solved densely and against one member.
--
--     flock /work/bench.lock idl experiments/bench_predict.lua [--rows 1900] [--features 20]
--         [--test 10000] [--models 3] [--reps 3] [--threads 1]
--
-- Fits idl.IDLModel{ensemble_size = models} (h from the data's rule) on a
-- generated nonlinear table, then times, best of `reps`: est:predict on
-- `test` new rows (the block-by-block solve of idl.model), the dense solve of
-- the same theta (idl.equilibrium on all of D, then the readout) and
-- member 1's predict; in the same run a plain dgemm of the ensemble's D with
-- the test rows' hidden state, the product each dense step costs. Prints the
-- seconds, the iterations, the largest difference between the block and the
-- dense predictions (the same equilibrium, to the solver's tolerance) and the
-- ratios.
local idl = require "idl"

local opts = require("idl.cli").parse(arg, {name = "bench_predict",
  description = "prints the figures described at the top of experiments/bench_predict.lua",
  options = {{"rows", "integer", 1900, "training rows"}, {"features", "integer", 20, "features"},
             {"test", "integer", 10000, "rows predicted"}, {"models", "integer", 3, "ensemble_size"},
             {"reps", "integer", 3, "timed repetitions (the best is kept)"},
             {"threads", "integer", 1, "OpenBLAS threads"}}})
idl.set_threads(opts.threads)

-- y = sin(x1) + x2 x3 + noise: a table the hidden units have something to learn from
local function table_of(m, g)
  local X, y = idl.randn(m, opts.features, g), idl.zeros(m, 1)
  for i = 1, m do
    y:set(i, 1, math.sin(X:get(i, 1)) + X:get(i, 2) * X:get(i, 3) + 0.1 * g:normal())
  end
  return X, y
end

local g = idl.rng(0)
local X, y = table_of(opts.rows, g)
local Xt = table_of(opts.test, g)
local t0 = idl.clock()
local est = idl.IDLModel{ensemble_size = opts.models, verbosity = false}:fit(X, y)
print(string.format("fit: %d models, h = %d in all, %.2f s", #est.members, est.model.h, idl.clock() - t0))

-- best wall seconds of f() over reps, and its last result
local function best(f)
  local secs, out = math.huge, nil
  for _ = 1, opts.reps do
    collectgarbage()
    local s0 = idl.clock()
    out = {f()}
    secs = math.min(secs, idl.clock() - s0)
  end
  return secs, table.unpack(out)
end

local U = Xt:t()
local model = est.model
local tol = est.params.tol
local block_s, Yb = best(function() return est:predict(Xt) end)
local block_iterations = est.predict_info.iterations
local dense_s, Yd, dense_info = best(function()
  local Xh, info = idl.equilibrium(model.theta, U, {tol = tol, max_iter = 10000})
  return model:output(Xh, U):t(), info
end)
local member = est.members[1].model
local member_s = best(function() return member:predict_u(U, {tol = tol, max_iter = 10000}) end)
local H = idl.zeros(model.h, opts.test)
local C = idl.zeros(model.h, opts.test)
local gemm_s = best(function() return idl.gemm(C, model.theta.D, H) end)

print(string.format("predict %d rows: blocks %.3f s (%d iterations), dense %.3f s (%d iterations), "
  .. "one member (h = %d) %.3f s; one dense step's dgemm %.4f s", opts.test, block_s, block_iterations,
  dense_s, dense_info.iterations, member.h, member_s, gemm_s))
print(string.format("largest |blocks - dense| %.2e; dense / blocks %.2fx, blocks / one member %.2fx",
  (Yb - Yd):norm("max"), dense_s / block_s, block_s / member_s))
