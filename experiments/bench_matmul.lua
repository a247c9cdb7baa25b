--- Benchmark: the matrix product operator `A * B` in a loop against plain dgemm.
--
--     idl experiments/bench_matmul.lua [--reps N] [--loop N] [--threads N] [--gc MODE]
--
-- A is 300x300 and B 300x10000 (the shapes of one equilibrium step at h = 300,
-- m = 10000). Each repetition times `loop` products written operator-style,
-- `C = A * B`, each allocating a fresh 24 MB result that becomes garbage at the
-- next iteration, against the same number of `idl.gemm(C, A, B)` into one
-- preallocated C (a plain dgemm, nothing allocated). The two alternate, so that
-- machine noise hits both alike; the best repetition of each is kept. The
-- operator pays for its argument checks, for allocating its result and for the
-- collector reclaiming the dead ones: at most 10% over the dgemm is the target.
-- `--gc` runs the loop under the collector mode given ("incremental",
-- "generational"), or leaves the mode idl sets (`default`). The single-product
-- figure against `idl._time_dgemm` (no Lua at all) is printed too, and the loop's ratio in
-- processor time (os.clock), which other jobs on a shared machine do not inflate.
local idl = require "idl"

local opts = require("idl.cli").parse(arg, {name = "bench_matmul",
  description = "prints the figures described at the top of experiments/bench_matmul.lua",
  options = {{"reps", "integer", 5, "timed repetitions (the best is kept)"},
             {"loop", "integer", 20, "products per repetition"},
             {"threads", "integer", 0, "OpenBLAS threads (0: leave the default)"},
             {"gc", "string", "default", "collector mode: default, incremental or generational"}}})
if opts.threads > 0 then idl.set_threads(opts.threads) end
if opts.gc ~= "default" then
  assert(opts.gc == "incremental" or opts.gc == "generational",
    "bench_matmul: --gc must be default, incremental or generational")
  collectgarbage(opts.gc)
end

local rng = idl.rng(0)
local A, B = idl.randn(300, 300, rng), idl.randn(300, 10000, rng)
-- Returns the wall and CPU seconds (os.clock: this process's processor time, which other jobs on
-- a shared machine do not inflate) and the last product (kept, so its value is checked).
local peak_kb = 0 -- the largest Lua heap seen after a product: how many dead results pile up

local function time_operator(n)
  local C
  local t0, c0 = idl.clock(), os.clock()
  for _ = 1, n do
    C = A * B
    peak_kb = math.max(peak_kb, collectgarbage("count"))
  end
  return idl.clock() - t0, os.clock() - c0, C
end

local function time_gemm(n)
  local D = idl.zeros(300, 10000)
  local t0, c0 = idl.clock(), os.clock()
  for _ = 1, n do
    idl.gemm(D, A, B)
  end
  return idl.clock() - t0, os.clock() - c0
end

local best_op, best_gemm, best_one = math.huge, math.huge, math.huge
local cpu_op, cpu_gemm = math.huge, math.huge
for _ = 1, opts.reps do
  local seconds, cpu, C = time_operator(opts.loop)
  best_op, cpu_op = math.min(best_op, seconds), math.min(cpu_op, cpu)
  assert(idl.equal(C, idl.gemm(idl.zeros(300, 10000), A, B), 1e-9), "bench_matmul: results differ")
  seconds, cpu = time_gemm(opts.loop)
  best_gemm, cpu_gemm = math.min(best_gemm, seconds), math.min(cpu_gemm, cpu)
  local t0 = idl.clock()
  local _ = A * B
  best_one = math.min(best_one, idl.clock() - t0)
end
local plain = idl._time_dgemm(idl.zeros(300, 10000), A, B, 5)

print(string.format("threads            %d", idl.get_threads()))
print(string.format("collector          %s", opts.gc))
print(string.format("C = A * B, loop    %.2f ms per product", best_op / opts.loop * 1e3))
print(string.format("gemm(C, A, B) loop %.2f ms per product (%.1f GFLOP/s)", best_gemm / opts.loop * 1e3,
  2 * 300 * 300 * 10000 / (best_gemm / opts.loop) / 1e9))
print(string.format("ratio (loop)       %.3f", best_op / best_gemm))
print(string.format("ratio (loop, CPU)  %.3f  (processor time; with one thread the figure to trust)",
  cpu_op / cpu_gemm))
print(string.format("one A * B / plain dgemm  %.3f", best_one / plain))
print(string.format("peak Lua heap      %.0f MB in the operator loop (A, B and one result: %.0f MB)",
  peak_kb / 1024, 8 * (300 * 300 + 2 * 300 * 10000) / 2 ^ 20))
