--- Benchmark: the relaxed-problem kernels against a plain dgemm.
--
--     idl experiments/bench_gradients.lua [--reps N] [--threads N]
--
-- h = 300, n = 10, p = 1, m = 10000 (the report's section 7.1 model). Prints,
-- best of --reps (default 5), the time of idl.gradients, idl.objective and
-- idl.lipschitz divided by one 300x300x10000 dgemm (idl.gemm into a
-- preallocated matrix). idl.gradients does three GEMMs of that size (D X,
-- W X^T, D^T W) plus seven thin ones (k = n or p) and a few passes over the
-- h x m arrays, so about 3 is the floor. Then the time of each projection of
-- a 300x300 D (and of project_nonneg on a 300x10000 X).
local idl = require "idl"

local opts = require("idl.cli").parse(arg, {name = "bench_gradients",
  description = "prints the figures described at the top of experiments/bench_gradients.lua",
  options = {{"reps", "integer", 5, "timed repetitions (the best is kept)"},
             {"threads", "integer", 0, "OpenBLAS threads (0: leave the default)"}}})
local reps = opts.reps
if opts.threads > 0 then idl.set_threads(opts.threads) end

local h, n, p, m = 300, 10, 1, 10000
local rng = idl.rng(0)
local theta = {
  A = idl.randn(p, h, rng), B = idl.randn(p, n, rng), c = idl.randn(p, 1, rng),
  D = idl.randn(h, h, rng, 0, 0.5 / math.sqrt(h)), E = idl.randn(h, n, rng),
  f = idl.randn(h, 1, rng),
}
local X, U, Y = idl.rand(h, m, rng), idl.randn(n, m, rng), idl.randn(p, m, rng)
local lambda = idl.rand(h, 1, rng, 0.5, 1.5)

-- Best wall time of f() over reps runs; collect garbage outside the timing.
local function best(f)
  local t = math.huge
  for _ = 1, reps do
    collectgarbage()
    local t0 = idl.clock()
    f()
    t = math.min(t, idl.clock() - t0)
  end
  return t
end

local C = idl.zeros(h, m)
local t_gemm = best(function() idl.gemm(C, theta.D, X) end)

print(string.format("threads %d, h = %d, n = %d, p = %d, m = %d, best of %d",
  idl.get_threads(), h, n, p, m, reps))
print(string.format("%-28s %9.2f ms", "dgemm 300x300x10000", t_gemm * 1e3))
local kernels = {
  {"gradients", function() idl.gradients(theta, X, U, Y, lambda) end},
  {"objective", function() idl.objective(theta, X, U, Y, lambda) end},
  {"lipschitz", function() idl.lipschitz(theta, X, U, lambda) end},
}
for _, k in ipairs(kernels) do
  local t = best(k[2])
  print(string.format("%-28s %9.2f ms   %5.2f x dgemm", k[1], t * 1e3, t / t_gemm))
end

local D = idl.randn(h, h, rng)
local A1 = idl.randn(1, h, rng)
local projections = {
  {"project_inf (kappa 0.5)", function() idl.project_inf(D, 0.5) end},
  {"project_spectral (0.9)", function() idl.project_spectral(D, 0.9) end},
  {"project_lmi (2.4)", function() idl.project_lmi(D, lambda) end},
  {"project_lmi (2.5, p = 1)", function() idl.project_lmi(D, lambda, A1) end},
  {"project_nonneg (300x10000)", function() idl.project_nonneg(C) end},
}
for _, k in ipairs(projections) do
  local t = best(k[2])
  print(string.format("%-28s %9.2f ms   %5.2f x dgemm", k[1], t * 1e3, t / t_gemm))
end
