--- Benchmark: the gradient allreduce of one data-parallel step, three ways:
-- blocks in one flat buffer (mpi.fused_buffer: one in-place allreduce, no
-- copy), the array {A, B, c, D, E, f} (one allreduce through a packed copy),
-- and one call per block; next to the step's smallest compute (D X for a
-- batch: one dgemm).
--
--     flock /work/bench.lock mpirun -np 2 idl experiments/mpi_bench_allreduce.lua [--reps 200]
--         [--n 10] [--p 1] [--batch 256]
--
-- For h = 100 and 300 rank 0 prints the bytes reduced per step, the best and
-- median microseconds of each (over reps
-- steps, after a barrier each), and the time of one h x h by h x batch dgemm
-- (idl._time_dgemm), the smallest compute a step does. These are the
-- measured inputs of a scaling projection (communication per step against
-- compute per step); on one machine MPI moves the bytes through shared memory.
-- Alone (size 1) the collectives return at once: run it under mpirun.
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local idl = require "idl"
local mpi = require "idl.mpi"
local scaling = require "_scaling"

local opts = require("idl.cli").parse(arg, {name = "mpi_bench_allreduce",
  description = "prints the figures described at the top of experiments/mpi_bench_allreduce.lua",
  options = {{"reps", "integer", 200, "timed steps of each kind"},
             {"n", "integer", 10, "features"},
             {"p", "integer", 1, "outputs"},
             {"batch", "integer", 256, "batch size of the reference dgemm"}}})

local rank, size = mpi.rank(), mpi.size()

local function blocks(h, n, p, rng)
  return {idl.randn(p, h, rng), idl.randn(p, n, rng), idl.randn(p, 1, rng),
    idl.randn(h, h, rng), idl.randn(h, n, rng), idl.randn(h, 1, rng)}
end

local timed = scaling.timed

local function bytes_of(list)
  local total = 0
  for _, m in ipairs(list) do total = total + m:rows() * m:cols() * 8 end
  return total
end

if rank == 0 then
  print(string.format("%d ranks; n = %d, p = %d; %d steps of each kind (best / median microseconds)", size,
    opts.n, opts.p, opts.reps))
end
for _, h in ipairs{100, 300} do
  local grads = blocks(h, opts.n, opts.p, idl.rng(rank))
  local shapes = {}
  for k, g in ipairs(grads) do shapes[k] = {g:rows(), g:cols()} end
  local flat, views = mpi.fused_buffer(shapes)
  for k, g in ipairs(grads) do idl.copy(views[k], g) end
  local flat_best, flat_median = timed(function() mpi.allreduce(flat) end, opts.reps)
  local fused_best, fused_median = timed(function() mpi.allreduce(grads) end, opts.reps)
  local six_best, six_median = timed(function()
    for _, g in ipairs(grads) do mpi.allreduce(g) end
  end, opts.reps)
  local D, X, Z = idl.randn(h, h, idl.rng(1)), idl.randn(h, opts.batch, idl.rng(2)), idl.zeros(h, opts.batch)
  local gemm = idl._time_dgemm(Z, D, X, 20)
  if rank == 0 then
    print(string.format("h = %d: %.0f KB per step; flat buffer %.1f / %.1f us, packed array %.1f / %.1f us, "
      .. "six calls %.1f / %.1f us; one %dx%d by %dx%d dgemm %.1f us; medians / flat: packed %.2f, six %.2f, "
      .. "dgemm %.2f", h, bytes_of(grads) / 1024, flat_best * 1e6, flat_median * 1e6, fused_best * 1e6,
      fused_median * 1e6, six_best * 1e6, six_median * 1e6, h, h, h, opts.batch, gemm * 1e6,
      fused_median / flat_median, six_median / flat_median, gemm / flat_median))
  end
end
