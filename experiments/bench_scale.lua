--- Benchmark: data-parallel training (est:fit(X, y, {distributed = true})) on
-- 1 and 2 ranks of this machine, measured, and projected to 8, 64 and 256
-- ranks on 10 and 100 Gbit/s networks by the model of experiments/_scaling.lua.
--
--     flock /work/bench.lock mpirun --oversubscribe -np 2 build/bin/idl experiments/bench_scale.lua
--     flock /work/bench.lock build/bin/idl experiments/bench_scale.lua --driver
--         [--rows 200000] [--hidden 300] [--epochs 3] [--batch 256] [--networks 10:20,100:2]
--
-- (as root OpenMPI also wants OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 in the
-- environment). Under mpirun (or alone: one rank) every rank generates the same
-- problem (y = sin(2 x1) + x2 x3 / 2 + noise, features uniform on [-1.5, 1.5],
-- rows samples) and fits its contiguous share of the rows with one BLAS thread,
-- the global mini-batch split evenly over the ranks. Rank 0 prints, from the
-- epochs after the first (which also solves every sample's warm-start
-- equilibrium):
--   * time per epoch, wall and processor seconds (of the slowest rank), and
--     samples per second;
--   * the bytes allreduced per step (the fused gradient buffer) and the time
--     spent in that allreduce during the fit (every call timed, waiting for the
--     slower rank included) per step and as a share of the epoch;
--   * the same allreduce alone (after a barrier, best and median of --reps) at
--     several sizes, and the latency and bandwidth of the ring model fitted to
--     the best times (shared memory here);
--   * the step's compute in processor seconds, split into c per sample and s
--     fixed (the projected Adam step, timed alone), next to one h x h by h x b
--     dgemm;
--   * the projected efficiency table (see _scaling.lua for the model): c, s and
--     the bytes are measured, the network's bandwidth and latency assumed.
-- Processor time is the figure to trust on a shared machine: other jobs do not
-- inflate it (they stretch the wall clock instead; the allreduce's processor
-- time still includes polling while the other rank is late).
-- --driver (run without mpirun) runs the job with 1 and with 2 ranks (--np)
-- and prints the speed-ups beside the model's prediction.
-- The allreduce of the fit is timed by wrapping idl.mpi.allreduce for the
-- duration of the fit (the trainer calls it through the module table), so the
-- library carries no timing code.
local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local idl = require "idl"
local mpi = require "idl.mpi"
local json = require "idl.json"
local optim = require "idl.optim"
local implicit = require "idl.train.implicit"
local scaling = require "_scaling"

local opts = require("idl.cli").parse(arg, {name = "bench_scale",
  description = "prints the figures described at the top of experiments/bench_scale.lua",
  options = {{"rows", "integer", 200000, "samples in all (split over the ranks)"},
             {"features", "integer", 10, "features n"},
             {"hidden", "integer", 300, "hidden variables h"},
             {"epochs", "integer", 3, "epochs (>= 2: the first is not counted)"},
             {"batch", "integer", 256, "global mini-batch (batch_size)"},
             {"reps", "integer", 50, "repetitions of each allreduce timed alone"},
             {"seed", "integer", 7, "the problem's generator seed"},
             {"networks", "string", "10:20,100:2", "assumed networks, Gbit/s:latency in microseconds"},
             {"batches", "string", "32,128,512,2048", "batches per rank of the projection table"},
             {"out", "string", "", "also write rank 0's figures to this JSON file"},
             {"driver", "flag", false, "run the job with each rank count of --np and compare"},
             {"np", "string", "1,2", "the rank counts of --driver"}}})

if opts.epochs < 2 then error("bench_scale: --epochs must be >= 2 (the first is not counted)", 0) end

local function numbers(list, what)
  local out = {}
  for item in list:gmatch("[^,]+") do
    out[#out + 1] = tonumber(item) or error("bench_scale: " .. what .. ": not a number: " .. item, 0)
  end
  return out
end

-- {name, link} of each assumed network ("10:20" = 10 Gbit/s, 20 us latency).
local function networks(spec)
  local out = {}
  for item in spec:gmatch("[^,]+") do
    local gbit, us = item:match("^([%d.]+):([%d.]+)$")
    if not gbit then error("bench_scale: --networks: expected Gbit/s:microseconds, got " .. item, 0) end
    out[#out + 1] = {name = string.format("%s Gbit/s, %s us", gbit, us),
      link = {bandwidth = tonumber(gbit) * 1e9 / 8, latency = tonumber(us) * 1e-6}}
  end
  return out
end

-- ---------------------------------------------------------------------------
-- The projection: efficiency at P ranks and b samples per rank, for the step
-- measured (figures: per_sample, fixed, bytes), fused (one allreduce per step)
-- and as one call per block (7: A, B, c, D, E, f and the loss/count/fault triple).

local UNFUSED_CALLS = 7

local function projection(figures)
  local step = {per_sample = figures.per_sample, fixed = figures.fixed}
  local batches = numbers(opts.batches, "--batches")
  local lines = {string.format("projected efficiency (speed-up / P) at b samples per rank "
    .. "(global batch P b), %.0f KB per step: c = %.1f us per sample and s = %.2f ms per step measured, "
    .. "the networks assumed",
    figures.bytes / 1024, step.per_sample * 1e6, step.fixed * 1e3)}
  local head = string.format("  %-22s %4s", "network", "P")
  for _, b in ipairs(batches) do head = head .. string.format(" %7s", "b=" .. b) end
  lines[#lines + 1] = head .. "   b for 90%: fused / 7 calls"
  for _, net in ipairs(networks(opts.networks)) do
    for _, p in ipairs{8, 64, 256} do
      local fused = scaling.ring_seconds(figures.bytes, p, net.link)
      local apart = scaling.ring_seconds(figures.bytes, p, net.link, UNFUSED_CALLS)
      local row = string.format("  %-22s %4d", net.name, p)
      for _, b in ipairs(batches) do
        row = row .. string.format(" %7.3f", scaling.efficiency(step, p, b, fused))
      end
      local b90, b90_apart = scaling.min_batch(step, p, fused, 0.9), scaling.min_batch(step, p, apart, 0.9)
      lines[#lines + 1] = row .. string.format("   %d / %d (allreduce %.2f / %.2f ms)", b90, b90_apart,
        fused * 1e3, apart * 1e3)
    end
  end
  return table.concat(lines, "\n")
end

-- ---------------------------------------------------------------------------
-- The driver: one mpirun job per rank count, then the comparison.

local function run_job(np)
  local out = os.tmpname()
  local args = {}
  for _, k in ipairs{"rows", "features", "hidden", "epochs", "batch", "reps", "seed"} do
    args[#args + 1] = string.format("--%s %d", k, opts[k])
  end
  local cmd = string.format("%s --oversubscribe -np %d %s %s %s --networks '%s' --batches '%s' --out %s",
    os.getenv("IDL_MPIEXEC") or "mpirun", np, idl.executable(), arg[0], table.concat(args, " "),
    opts.networks, opts.batches, out)
  print("$ " .. cmd)
  io.stdout:flush()
  local ok = os.execute(cmd)
  local figures = ok and json.read(out)
  os.remove(out)
  if not figures then error("bench_scale: the job with " .. np .. " ranks failed", 0) end
  return figures
end

local function driver()
  local counts = numbers(opts.np, "--np")
  local runs = {}
  for i, np in ipairs(counts) do runs[i] = run_job(math.tointeger(np)) end
  local base = runs[1]
  print(string.format("\nagainst %d rank%s: epoch seconds (the slowest rank), speed-up and efficiency, "
    .. "in wall and in processor time; 'parts': each run's own compute (processor time) plus its allreduce "
    .. "alone (best) at every step, as on an otherwise idle machine; 'model': the first run's c and s with "
    .. "each run's allreduce alone", base.ranks, base.ranks == 1 and "" or "s"))
  for _, r in ipairs(runs) do
    -- each rank does steps x (c b + s + t_ar)
    local model = r.steps * (base.per_sample * r.batch_per_rank + base.fixed + r.allreduce_alone)
    local parts = r.per_sample * r.samples + r.steps * (r.fixed + r.allreduce_alone)
    local scale = r.ranks / base.ranks
    print(string.format("  %d rank%s: wall %.2f s, speed-up %.2f (efficiency %.2f); processor %.2f s, "
      .. "speed-up %.2f (efficiency %.2f); parts %.2f s, speed-up %.2f; model %.2f s, speed-up %.2f", r.ranks,
      r.ranks == 1 and "" or "s", r.epoch_wall, base.epoch_wall / r.epoch_wall,
      base.epoch_wall / r.epoch_wall / scale, r.epoch_cpu, base.epoch_cpu / r.epoch_cpu,
      base.epoch_cpu / r.epoch_cpu / scale, parts, base.epoch_cpu / parts, model, base.epoch_cpu / model))
  end
  print("\n(from the " .. base.ranks .. "-rank run) " .. projection(base))
end

-- ---------------------------------------------------------------------------
-- A worker: one rank of the job.

-- y = sin(2 x1) + x2 x3 / 2 + N(0, 0.05^2); rows x features.
local function problem(m, n, g)
  local X = idl.rand(m, n, g, -1.5, 1.5)
  local y = idl.zeros(m, 1)
  for i = 1, m do
    y:set(i, 1, math.sin(2 * X:get(i, 1)) + 0.5 * X:get(i, 2) * X:get(i, 3) + g:normal(0, 0.05))
  end
  return X, y
end

local timed = scaling.timed

-- The allreduce alone at several sizes (bytes, a multiple of 8) and the ring
-- model fitted to the best times (the least disturbed by other jobs); nil
-- alone (a job of one rank reduces nothing).
local function allreduce_alone(fused_bytes)
  if mpi.size() == 1 then return nil end
  local sizes = {8, 65536, fused_bytes, 8 * fused_bytes}
  local best, median = {}, {}
  for i, bytes in ipairs(sizes) do
    local M = idl.ones(bytes // 8, 1)
    best[i], median[i] = timed(function() mpi.allreduce(M) end, opts.reps)
  end
  return {bytes = sizes, best = best, median = median, link = scaling.fit_link(sizes, best, mpi.size())}
end

-- The processor seconds of the step's work that does not depend on the batch:
-- the projected Adam step the trainer takes (idl.optim, idl.train.implicit's
-- projection of D) on parameters shaped like theta, the mean of 30 steps.
local function fixed_step_seconds(theta, constraint)
  local params, grads = {}, {}
  local g = idl.rng(3)
  for k, v in pairs(theta) do params[k], grads[k] = v:copy(), idl.randn(v:rows(), v:cols(), g, 0, 1e-3) end
  local project = implicit.projector{constraint = constraint.kind, kappa = constraint.kappa}
  local step = optim.projected(optim.adam, project)
  local scale = 1 / math.sqrt(opts.hidden) -- the trainer's "auto" scales
  local config, state = {learning_rate = 1e-3, scales = {D = scale, A = scale}}, {}
  local feval = function() return 0, grads end
  step(feval, params, config, state) -- the optimizer's buffers are made on the first step
  local c0 = os.clock()
  for _ = 1, 30 do step(feval, params, config, state) end
  return (os.clock() - c0) / 30
end

-- The fit with every allreduce of the fused gradient buffer timed (wall and
-- processor seconds), and the clocks at the end of each epoch (a callback).
local function timed_fit(X, y, fused_bytes)
  local comm = {wall = 0, cpu = 0, calls = 0}
  local marks = {}
  local raw = mpi.allreduce
  mpi.allreduce = function(M, op)
    local t0, c0 = idl.clock(), os.clock()
    local r = raw(M, op)
    if idl.is_matrix(M) and M:rows() * M:cols() * 8 == fused_bytes then
      comm.wall, comm.cpu = comm.wall + (idl.clock() - t0), comm.cpu + (os.clock() - c0)
      comm.calls = comm.calls + 1
    end
    return r
  end
  local est = idl.IDLModel{hidden_variables = opts.hidden, random_state = 0, early_stopping = false,
    monitor_train_every = 0, verbosity = false}
  local ok, err = pcall(est.fit, est, X, y, {distributed = true, rounds_number = opts.epochs,
    trainer_options = {batch_size = opts.batch},
    callbacks = function()
      marks[#marks + 1] = {wall = idl.clock(), cpu = os.clock(), comm_wall = comm.wall, comm_cpu = comm.cpu,
        calls = comm.calls}
    end})
  mpi.allreduce = raw
  if not ok then error(err, 0) end
  return est, marks
end

-- v reduced over the ranks ("sum" or "max").
local function over_ranks(v, op) return mpi.allreduce(idl.full(1, 1, v), op):get(1, 1) end

-- Per epoch (the mean over the counted epochs) of each clock of the marks.
local function per_epoch(marks)
  local first, last, counted = marks[1], marks[#marks], #marks - 1
  local e = {}
  for _, k in ipairs{"wall", "cpu", "comm_wall", "comm_cpu", "calls"} do
    e[k] = (last[k] - first[k]) / counted
  end
  return e
end

local function print_figures(f, m)
  local plural = f.ranks == 1 and "" or "s"
  print(string.format("bench_scale: %d rank%s x 1 BLAS thread; m = %d (%d on rank 0), n = %d, h = %d; global "
    .. "batch %d (%d per rank), %d steps per epoch; %d epochs, the first not counted", f.ranks, plural,
    f.rows, m, f.features, f.hidden, f.batch, f.batch_per_rank, f.steps, f.epochs_counted + 1))
  print(string.format("epoch: %.2f s wall, %.2f s processor (the slowest rank); %.4g samples/s (wall), %.4g "
    .. "(processor)", f.epoch_wall, f.epoch_cpu, f.rows / f.epoch_wall, f.rows / f.epoch_cpu))
  print(string.format("allreduce in the fit: %.0f KB per step; %.1f us wall, %.1f us processor per step "
    .. "(waiting for the other ranks included); %.1f%% of the epoch's wall, %.1f%% of its processor time",
    f.bytes / 1024, f.comm_wall * 1e6, f.comm_cpu * 1e6, 100 * f.comm_wall * f.steps / f.epoch_wall,
    100 * f.comm_cpu * f.steps / f.epoch_cpu))
  if f.alone then
    local parts = {}
    for i, b in ipairs(f.alone.bytes) do
      parts[i] = string.format("%d B %.1f / %.1f us", b, f.alone.best[i] * 1e6, f.alone.median[i] * 1e6)
    end
    local link = f.alone.link
    print(string.format("allreduce alone (best / median of %d): %s; ring fit to the best: latency %s, "
      .. "bandwidth %s", opts.reps, table.concat(parts, ", "),
      link.latency and string.format("%.2f us", link.latency * 1e6) or "n/a",
      link.bandwidth and string.format("%.2f GB/s", link.bandwidth / 1e9) or "n/a"))
  end
  print(string.format("step (processor time): c = %.2f us per sample (c b = %.2f ms), s = %.3f ms fixed "
    .. "(projected Adam); one %dx%d by %dx%d dgemm %.3f ms: c b = %.1f dgemms", f.per_sample * 1e6,
    f.per_sample * f.batch_per_rank * 1e3, f.fixed * 1e3, f.hidden, f.hidden, f.hidden, f.batch_per_rank,
    f.gemm * 1e3, f.per_sample * f.batch_per_rank / f.gemm))
end

local function worker()
  idl.set_threads(1)
  local rank, size = mpi.rank(), mpi.size()
  local n, h = opts.features, opts.hidden
  local X, y = problem(opts.rows, n, idl.rng(opts.seed)) -- the same on every rank
  local lo, hi = rank * opts.rows // size + 1, (rank + 1) * opts.rows // size
  local Xs, ys = X:sub(lo, hi, 1, n):copy(), y:sub(lo, hi, 1, 1):copy()
  X, y = nil, nil -- luacheck: ignore 311
  collectgarbage()
  local m = Xs:rows()
  -- the fused buffer of a step: A, B, c, D, E, f (p = 1) and 3 numbers
  local fused_bytes = 8 * (h + n + 1 + h * h + h * n + h + 3)
  local alone = allreduce_alone(fused_bytes)
  local est, marks = timed_fit(Xs, ys, fused_bytes)
  -- the trainer's split (idl.train.implicit): every rank takes the same number
  -- of full steps of ceil(batch / size) samples; alone, the last step is short
  local bs = size == 1 and math.min(opts.batch, m) or -(-opts.batch // size)
  local steps = -(-(-(-opts.rows // size)) // bs) -- the largest shard's
  local e = per_epoch(marks)
  if size > 1 and e.calls ~= steps then
    error(string.format("bench_scale: %g fused allreduces per epoch, expected %d steps", e.calls, steps), 0)
  end
  local samples = size == 1 and m or steps * bs
  local fixed = fixed_step_seconds(est.model.theta, est.model.constraint)
  -- processor time, which other jobs on a shared machine do not inflate
  local per_sample = (e.cpu - e.comm_cpu - steps * fixed) / samples
  local Z, D, U = idl.zeros(h, bs), idl.randn(h, h, idl.rng(1)), idl.randn(h, bs, idl.rng(2))
  local gemm = idl._time_dgemm(Z, D, U, 20)
  -- epoch times: the slowest rank's; the rest: means over the ranks
  local f = {ranks = size, rows = opts.rows, hidden = h, features = n, batch = opts.batch,
    batch_per_rank = bs, steps = steps, samples = samples, epochs_counted = #marks - 1, bytes = fused_bytes,
    epoch_wall = over_ranks(e.wall, "max"), epoch_cpu = over_ranks(e.cpu, "max"),
    comm_wall = over_ranks(e.comm_wall, "sum") / size / steps,
    comm_cpu = over_ranks(e.comm_cpu, "sum") / size / steps,
    per_sample = over_ranks(per_sample, "sum") / size, fixed = over_ranks(fixed, "sum") / size,
    gemm = over_ranks(gemm, "sum") / size, allreduce_alone = alone and alone.best[3] or 0, alone = alone}
  if rank ~= 0 then return end
  print_figures(f, m)
  print(projection(f))
  if opts.out ~= "" then json.write(opts.out, f) end
end

if opts.driver then driver() else worker() end
