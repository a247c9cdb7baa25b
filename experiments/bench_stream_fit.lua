--- Benchmark: fitting a CSV file larger than memory would like (est:fit on
-- idl.data.stream_csv), against the in-memory fit on a subset of the same
-- rows, in the same run.
--
--     flock /work/bench.lock idl experiments/bench_stream_fit.lua [--rows 8000000]
--         [--features 6] [--h 100] [--batch 256] [--memory-rows 500000]
--         [--warmup 0] [--dir /tmp] [--keep]
--
-- A child process writes DIR/idl_bench_stream_fit_<n>.csv: rows x (features
-- + 1) columns, %.17g (about 1.1 GB at the defaults), y = sin(2 x1) + x2^2 / 2
-- + x3 x4 / 2 + 0.1 noise, x ~ N(0, 1), so that the file's matrices never
-- count in this process's peak. Then this process fits IDLModel{h} for ONE
-- epoch on the streamed file (batch rows a step; trainer_options warmup_epochs
-- = --warmup: 0 measures the implicit epoch itself, with its equilibrium
-- solves, rather than the MLP phase the defaults start with), and prints the
-- setup pass (statistics, normal equations, hold-out sample), the epoch's
-- samples per second and the peak resident memory (getrusage ru_maxrss,
-- idl.peak_rss). Then it reads the first --memory-rows rows of the same file
-- into memory and fits them the same way (same h, batch, one epoch), and
-- prints the same figures, and both models' RMSE on 100,000 fresh rows of the
-- same distribution. The file is deleted at the end unless --keep.
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local idl = require "idl"
local csvgen = require "_csvgen"

local opts = require("idl.cli").parse(arg, {name = "bench_stream_fit",
  description = "prints the figures described at the top of experiments/bench_stream_fit.lua",
  options = {{"rows", "integer", 8000000, "rows of the streamed file"},
             {"features", "integer", 6, "feature columns (plus one target column), at least 4"},
             {"h", "integer", 100, "hidden_variables"},
             {"batch", "integer", 256, "rows per step (the source's and the in-memory batch_size)"},
             {"memory_rows", "integer", 500000, "rows of the in-memory fit (the file's first)"},
             {"warmup", "integer", 0, "trainer_options.warmup_epochs (0: implicit from the start)"},
             {"dir", "string", "/tmp", "where the file is written"},
             {"keep", "flag", false, "keep the file"},
             {"generate", "string", "", "(internal) write a file of --rows rows to this path"}}})
assert(opts.features >= 4, "--features must be at least 4")

-- m rows of the problem: X (m x features) and y (m x 1), from generator g.
local function draw(m, g)
  local X = idl.randn(m, opts.features, g)
  local y = idl.zeros(m, 1)
  for i = 1, m do
    local x1, x2, x3, x4 = X:get(i, 1), X:get(i, 2), X:get(i, 3), X:get(i, 4)
    y:set(i, 1, math.sin(2 * x1) + 0.5 * x2 * x2 + 0.5 * x3 * x4 + 0.1 * g:normal())
  end
  return X, y
end

-- The generator mode (run in a child process).
if opts.generate ~= "" then
  csvgen.write(opts.generate, opts.rows, opts.features, function(m, g)
    local X, y = draw(m, g)
    return X:hcat(y)
  end)
  os.exit(0)
end

local file_size = csvgen.file_size

local MB = 1024 * 1024
local stamp = math.floor(idl.clock() * 1000) % 1000000
local path = string.format("%s/idl_bench_stream_fit_%d.csv", opts.dir, stamp)
local t0 = idl.clock()
csvgen.spawn(arg[0], path, opts.rows, opts.features)
print(string.format("generated %s: %d rows x %d columns, %.2f GB (%.0f s)", path, opts.rows,
  opts.features + 1, file_size(path) / 1e9, idl.clock() - t0))

local Xt, yt = draw(100000, idl.rng(7))
local function rmse(est)
  local r = est:predict(Xt) - yt
  return math.sqrt(r:hadamard(r):sum() / r:rows())
end

local FIT = {rounds_number = 1, trainer_options = {warmup_epochs = opts.warmup}}
local function estimator() return idl.IDLModel{hidden_variables = opts.h, verbosity = false} end

-- The fit's figures: setup (everything but the epoch), the epoch, samples/s.
local function report(label, est, seconds, trained, rss)
  local epoch = est.timing.rounds
  print(string.format("%-10s h = %d, one epoch of %d rows in batches of %d: fit %.1f s (epoch %.1f s, "
    .. "setup and monitoring %.1f s); %.4g samples/s in the epoch; peak RSS %.1f MB; test RMSE %.4f",
    label, opts.h, trained, opts.batch, seconds, epoch, seconds - epoch, trained / epoch, rss / MB,
    rmse(est)))
  return trained / epoch
end

-- streamed: the whole file (in a function, so that its model is released before the in-memory fit)
local function fit_streamed()
  local rss0 = idl.peak_rss()
  local src = idl.data.stream_csv(path, {target = "y", batch_size = opts.batch})
  local est = estimator()
  local start = idl.clock()
  est:fit(src, nil, FIT)
  local seconds = idl.clock() - start
  local rss = idl.peak_rss()
  local plan = est.state.trainer_state.plan
  local sps = report("streamed", est, seconds, plan.rows - #plan.held, rss)
  print(string.format("           (hold-out %d rows in memory, warm starts kept for %d rows; peak RSS "
    .. "before the fit %.1f MB)", #plan.held, plan.warm_rows, rss0 / MB))
  src:close()
  return sps, rss
end
local sps_stream, rss_stream = fit_streamed()
collectgarbage()

-- in memory: the file's first memory_rows rows, read through the same source
local k = math.min(opts.memory_rows, opts.rows)
local X, y = idl.zeros(k, opts.features), idl.zeros(k, 1)
local at = 0
for Xb, yb in idl.data.stream_csv(path, {target = "y", batch_size = 65536}):batches() do
  local b = math.min(Xb:rows(), k - at)
  if b <= 0 then break end
  idl.copy(X:sub(at + 1, at + b, 1, opts.features), Xb:sub(1, b, 1, opts.features))
  idl.copy(y:sub(at + 1, at + b, 1, 1), yb:sub(1, b, 1, 1))
  at = at + b
end
local mem = estimator()
local fit_mem = {rounds_number = 1,
  trainer_options = {warmup_epochs = opts.warmup, batch_size = opts.batch}}
t0 = idl.clock()
mem:fit(X, y, fit_mem)
local t_mem = idl.clock() - t0
local trained_mem = mem.state.U:cols()
local sps_mem = report("in memory", mem, t_mem, trained_mem, idl.peak_rss())
print(string.format("streamed samples/s / in-memory samples/s = %.2f; streamed peak RSS %.1f MB for a "
  .. "%.2f GB file (target: under 300 MB)", sps_stream / sps_mem, rss_stream / MB, file_size(path) / 1e9))

if not opts.keep then os.remove(path) end
