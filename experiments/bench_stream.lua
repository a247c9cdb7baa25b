--- Benchmark: streaming a CSV file larger than memory would like, against
-- reading a smaller one whole with idl.read_csv, in the same run.
--
--     flock /work/bench.lock idl experiments/bench_stream.lua [--rows 8000000]
--         [--features 6] [--batch 4096] [--memory-rows 500000] [--dir /tmp] [--keep]
--
-- A child process writes DIR/idl_bench_stream_<n>.csv (rows x (features + 1),
-- %.17g: about 1.1 GB at the defaults) and the in-memory file (memory_rows
-- rows), so that their matrices do not count in this process's peak. Then
-- this process streams one pass of batches (data.stream_csv, target "last"),
-- one pass of src:stats(), and reads the small file with idl.read_csv, and
-- prints rows per second and the peak resident memory (getrusage ru_maxrss,
-- idl.peak_rss) after each. Both files are deleted at the end unless --keep.
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local idl = require "idl"
local csvgen = require "_csvgen"

local opts = require("idl.cli").parse(arg, {name = "bench_stream",
  description = "prints the figures described at the top of experiments/bench_stream.lua",
  options = {{"rows", "integer", 8000000, "rows of the streamed file"},
             {"features", "integer", 6, "feature columns (plus one target column)"},
             {"batch", "integer", 4096, "rows per batch"},
             {"memory_rows", "integer", 500000, "rows of the file read whole by idl.read_csv"},
             {"dir", "string", "/tmp", "where the files are written"},
             {"keep", "flag", false, "keep the files"},
             {"generate", "string", "", "(internal) write a file of --rows rows to this path"}}})

-- The generator mode (run in a child process): normal draws, x1 .. xF and y.
if opts.generate ~= "" then
  csvgen.write(opts.generate, opts.rows, opts.features,
    function(m, g) return idl.randn(m, opts.features + 1, g) end)
  os.exit(0)
end

local file_size = csvgen.file_size
local function run_generator(path, rows) csvgen.spawn(arg[0], path, rows, opts.features) end

local MB = 1024 * 1024
local big = string.format("%s/idl_bench_stream_%d.csv", opts.dir, math.floor(idl.clock() * 1000) % 1000000)
local small = big:gsub("%.csv$", "_memory.csv")
local t0 = idl.clock()
run_generator(big, opts.rows)
run_generator(small, opts.memory_rows)
print(string.format("generated %s: %d rows x %d columns, %.2f GB (%.0f s); %s: %d rows, %.0f MB",
  big, opts.rows, opts.features + 1, file_size(big) / 1e9, idl.clock() - t0, small, opts.memory_rows,
  file_size(small) / 1e6))

local rss0 = idl.peak_rss()

-- one pass of batches
local src = idl.data.stream_csv(big, {target = "last", batch_size = opts.batch})
t0 = idl.clock()
local rows, checksum = 0, 0
for X, y in src:batches() do
  rows = rows + X:rows()
  checksum = checksum + y:get(1, 1)
end
local t_stream = idl.clock() - t0
local rss_stream = idl.peak_rss()
assert(rows == opts.rows, "streamed " .. rows .. " rows")

-- one pass of statistics
t0 = idl.clock()
local st = src:stats()
local t_stats = idl.clock() - t0
local rss_stats = idl.peak_rss()
src:close()

-- the in-memory reference: the small file read whole
collectgarbage()
t0 = idl.clock()
local M = idl.read_csv(small)
local t_read = idl.clock() - t0
local rss_read = idl.peak_rss()
assert(M:rows() == opts.memory_rows)

print(string.format("peak RSS before streaming: %.1f MB", rss0 / MB))
print(string.format("stream_csv, one pass of batches of %d: %d rows in %.2f s = %.3g rows/s, %.0f MB/s; "
  .. "peak RSS %.1f MB (checksum %.6g)", opts.batch, rows, t_stream, rows / t_stream,
  file_size(big) / MB / t_stream, rss_stream / MB, checksum))
print(string.format("stats, one pass: %.2f s = %.3g rows/s; peak RSS %.1f MB (y mean %.4f, y scale %.4f)",
  t_stats, rows / t_stats, rss_stats / MB, st.y_mean:get(1, 1), st.y_scale:get(1, 1)))
print(string.format("read_csv of %d rows (%.0f MB) whole: %.2f s = %.3g rows/s; peak RSS %.1f MB",
  M:rows(), file_size(small) / MB, t_read, M:rows() / t_read, rss_read / MB))
print(string.format("streaming rows/s / read_csv rows/s = %.2f; streaming peak RSS over the start: %.1f MB "
  .. "for a %.2f GB file", (rows / t_stream) / (M:rows() / t_read), (rss_stream - rss0) / MB,
  file_size(big) / 1e9))

if not opts.keep then
  os.remove(big)
  os.remove(small)
end
