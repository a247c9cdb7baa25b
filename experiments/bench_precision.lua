--- Benchmark: the equilibrium and backward solves in single precision against double.
--
--     flock /work/bench.lock idl experiments/bench_precision.lua [--reps N] [--h N] [--m N]
--
-- The shapes of implicit training on the report's 7.1 problem: D is h x h (300) with
-- ||D||_inf = 0.95 (Gaussian rows rescaled, signed, as a trained D), a batch of m = 253
-- columns, B0 and the backward's G standard normal, Z = D X* + B0 at the forward solution X*.
-- Baseline: one plain dgemm and one plain sgemm of the solves' shape (h x h times h x m), timed
-- in the same run (idl._time_dgemm / idl._time_sgemm, no Lua in the loop). Then, for the forward
-- solve idl.equilibrium and the backward solve idl.implicit_backward, double vs
-- precision = "single":
--   fixed   tol = 0, 10 iterations: the cost per iteration, the same work in both;
--   1e-3    to the relative tol of a training solve, from zero;
--   1e-6    to the tightest tol single precision accepts;
--   steps 3 (backward) the 3-step phantom gradient;
-- with seconds per call (the binding's conversions and allocations included; best of --reps,
-- double and single alternated so that machine noise hits both alike; the speed-up also in
-- processor time, os.clock, which other jobs on a shared machine do not inflate), the
-- iterations, and
-- "rel diff": max|single - double| / max|double| of the two results of that row, and "err":
-- the single result's distance to the double solution at tol 1e-13 over its max.
-- One BLAS thread. Run under flock /work/bench.lock on the shared machine.
local idl = require "idl"

local opts = require("idl.cli").parse(arg, {name = "bench_precision",
  description = "prints the figures described at the top of experiments/bench_precision.lua",
  options = {{"reps", "integer", 7, "timed repetitions (the best is kept)"},
             {"h", "integer", 300, "hidden units (D is h x h)"}, {"m", "integer", 253, "batch columns"}}})
idl.set_threads(1)
local h, m, kappa, reps = opts.h, opts.m, 0.95, opts.reps

local rng = idl.rng(7)
local d = idl.randn(h, h, rng)
for i = 1, h do -- each row rescaled to l1 norm kappa
  local s = kappa / d:sub(i, i, 1, h):norm("inf")
  for j = 1, h do d:set(i, j, d:get(i, j) * s) end
end
local b0, g = idl.randn(h, m, rng), idl.randn(h, m, rng)
assert(math.abs(d:norm("inf") - kappa) < 1e-12, "bench_precision: D was not scaled to kappa")

-- the double solutions the errors are measured against
local x_star = idl.equilibrium(d, b0, {tol = 1e-13, max_iter = 100000})
local z = d * x_star + b0
local v_star = idl.implicit_backward(d, z, g, {tol = 1e-13, max_iter = 100000})

local gemm_d = idl._time_dgemm(idl.zeros(h, m), d, x_star, 20)
local gemm_s = idl._time_sgemm(idl.zeros(h, m), d, x_star, 20)

local function rel(a, b) return (a - b):norm("max") / b:norm("max") end

-- Best wall and processor seconds of solve(opts) in double and in single (alternated), their
-- results and infos.
local function compare(solve, base)
  local single = {precision = "single"}
  for k, v in pairs(base) do single[k] = v end
  local wall, cpu, out = {math.huge, math.huge}, {math.huge, math.huge}, {}
  for _ = 1, reps do
    for p, o in ipairs({base, single}) do
      collectgarbage()
      local t0, c0 = idl.clock(), os.clock()
      local x, info = solve(o)
      wall[p], cpu[p] = math.min(wall[p], idl.clock() - t0), math.min(cpu[p], os.clock() - c0)
      out[p] = {x = x, info = info}
    end
  end
  return wall, cpu, out
end

print(string.format("h = %d, m = %d, ||D||_inf = %.2f, %d BLAS thread(s), best of %d", h, m, kappa,
  idl.get_threads(), reps))
print(string.format("dgemm %.3f ms, sgemm %.3f ms: sgemm speed-up %.2fx", gemm_d * 1e3, gemm_s * 1e3,
  gemm_d / gemm_s))
print("")
print(string.format("%-8s %-7s | %4s %4s | %7s %7s | %7s %7s | %7s %6s | %8s %8s", "solve", "stop",
  "it d", "it s", "ms d", "ms s", "cpu d", "cpu s", "speedup", "cpu", "rel diff", "err s"))
local rows = {
  {"forward", "fixed", {tol = 0, max_iter = 10}},
  {"forward", "1e-3", {tol = 1e-3, max_iter = 10000}},
  {"forward", "1e-6", {tol = 1e-6, max_iter = 10000}},
  {"backward", "fixed", {tol = 0, max_iter = 10}},
  {"backward", "1e-3", {tol = 1e-3, max_iter = 10000}},
  {"backward", "1e-6", {tol = 1e-6, max_iter = 10000}},
  {"backward", "steps 3", {tol = 0, steps = 3}},
}
local solvers = {
  forward = {function(o) return idl.equilibrium(d, b0, o) end, x_star},
  backward = {function(o) return idl.implicit_backward(d, z, g, o) end, v_star},
}
for _, r in ipairs(rows) do
  local solve, exact = solvers[r[1]][1], solvers[r[1]][2]
  local wall, cpu, out = compare(solve, r[3])
  local dd, ss = out[1], out[2]
  print(string.format("%-8s %-7s | %4d %4d | %7.3f %7.3f | %7.3f %7.3f | %6.2fx %5.2fx | %8.1e %8.1e",
    r[1], r[2], dd.info.iterations, ss.info.iterations, wall[1] * 1e3, wall[2] * 1e3, cpu[1] * 1e3,
    cpu[2] * 1e3, wall[1] / wall[2], cpu[1] / cpu[2], rel(ss.x, dd.x), rel(ss.x, exact)))
end
print("")
print("ms, cpu: best wall and processor milliseconds of one call (d: double, s: single).")
print("speedup, cpu: double over single in wall and in processor seconds; a GEMM-bound solve gains")
print("at most the sgemm speed-up above. rel diff: single vs double at the same options; err s: single")
print("vs the double solution at tol 1e-13 (both over max|double|).")
