--- idl.parallel: independent jobs in worker processes, results in job order.
--
-- A script is both the driver and the worker:
--
--     local parallel = require "idl.parallel"
--     local function fit(params) ... return {rmse = ...} end
--     if parallel.is_worker(arg) then parallel.serve(arg, fit) return end
--     local jobs = {}
--     for i = 1, 10 do jobs[i] = {seed = i, hidden = 50} end
--     local results = parallel.map(arg[0], jobs, {jobs = opts.jobs})
--
-- Each job runs as its own process `<idl.executable()> <script> --worker IN OUT INDEX`
-- with OPENBLAS_NUM_THREADS=1 and the driver's package.path and package.cpath;
-- up to `jobs` run at once (xargs -P). Parameters and results travel as JSON
-- files (NaN and infinities included, floats exact), so `results[i]` depends only
-- on `jobs[i]`, never on the number of workers. idl matrices travel as arrays
-- of rows. When a job fails, no new job starts, and `map` raises an error naming
-- the job, its parameters and the end of its output.
--
-- In an MPI job of several ranks (`mpirun -np N idl script.lua`, idl.mpi),
-- `map` spreads the jobs over the ranks: rank r runs jobs r + 1, r + 1 + N,
-- r + 1 + 2N, ... (in its own workers, one at a time unless `jobs` says
-- otherwise: the ranks already occupy the cores), rank 0 gathers the results
-- and every rank returns all of them, in job order, so that the script goes
-- on alike everywhere (and writes its files on rank 0 only). It is then a
-- collective: every rank calls it with the same jobs (their number is
-- checked). A failed job fails `map` on every rank, with the same message.
-- The workers run without the launcher's variables: each is a job of size 1.
-- `mpi = false` keeps every rank to itself (each runs all its jobs).
-- @module idl.parallel

local core = require "idl.core"
local distributed = require "idl.distributed"
local json = require "idl.json"
local mpi = require "idl.mpi"
local util = require "idl._util"
local api = require "idl._api"

local parallel = {}

local sh_quote, read_file = util.sh_quote, util.read_file

-- Atomic and checked: the driver never reads half a file, a full disk is an error.
local function write_file(path, text)
  local ok, err = core.write_file_atomic(path, text)
  if not ok then api.fail(err) end
end

-- The last n lines of text.
local function tail(text, n)
  local lines = {}
  for line in (text or ""):gmatch("[^\n]*") do lines[#lines + 1] = line end
  while #lines > 0 and lines[#lines] == "" do lines[#lines] = nil end
  local first = math.max(1, #lines - n + 1)
  return (first > 1 and "...\n" or "") .. table.concat(lines, "\n", first)
end

--- True when the script was started as a worker by `map` (its first argument is --worker).
-- @tparam table args the script's `arg`
-- @treturn boolean
parallel.is_worker = api.public("idl.parallel.is_worker", function(args)
  return type(args) == "table" and args[1] == "--worker"
end)

--- Runs one job inside a worker: reads the parameters, calls `fn(params, index)`, and
-- writes its result (a JSON-encodable value, not nil) for the driver. An error in `fn`
-- propagates: the process fails and `map` reports its message.
-- @tparam table args the script's `arg` ({"--worker", input, output, index})
-- @tparam function fn the job: `fn(params, index) -> result`
parallel.serve = api.public("idl.parallel.serve", function(args, fn)
  if not parallel.is_worker(args) or not args[3] then
    api.fail("expected arg = {'--worker', input, output, index}, as given by parallel.map")
  end
  if type(fn) ~= "function" then api.fail("fn must be a function") end
  local params, err = json.read(args[2])
  if err then api.fail(err) end
  local result = fn(params, math.tointeger(tonumber(args[4])))
  if result == nil then api.fail("the job function returned nil; return a value") end
  write_file(args[3], json.encode(result, {allow_nan = true}))
end)

-- mktemp prints the directory and one newline; the whole output is read, as a
-- TMPDIR may hold newlines (its first line alone could name another directory,
-- which the cleanup would then remove).
local function make_temp_dir()
  local p = io.popen('mktemp -d "${TMPDIR:-/tmp}/idl-parallel.XXXXXX"')
  local out = p and p:read("a")
  local ok = p and p:close()
  local dir = ok and out and out:match("^(.*/idl%-parallel%.[%w]+)\n$")
  if not dir then api.fail("cannot create a temporary directory") end
  return dir
end

-- The shell script that runs job $1 and prints "<index> <exit status>" (or "<index> skipped"
-- once a job has failed).
local function runner_script(dir, exe, script, env)
  local lines = {"#!/bin/sh", "dir=" .. sh_quote(dir), 'i="$1"',
                 'if [ -e "$dir/stop" ]; then echo "$i skipped"; exit 0; fi',
                 -- a worker of an MPI rank is a job of its own (idl.mpi reads these)
                 "unset OMPI_COMM_WORLD_SIZE PMIX_RANK PMI_RANK PMI_SIZE"}
  local names = {}
  for name in pairs(env) do names[#names + 1] = name end -- checked identifiers (check_map_args)
  table.sort(names)
  for _, name in ipairs(names) do
    lines[#lines + 1] = "export " .. name .. "=" .. sh_quote(tostring(env[name]))
  end
  lines[#lines + 1] = sh_quote(exe) .. " " .. sh_quote(script)
                      .. ' --worker "$dir/$i.in.json" "$dir/$i.out.json" "$i" >"$dir/$i.log" 2>&1 </dev/null'
  -- the failed job itself leaves the stop mark, before xargs can start another one
  lines[#lines + 1] = 'status=$?'
  lines[#lines + 1] = 'if [ "$status" -ne 0 ]; then : >"$dir/stop"; fi'
  lines[#lines + 1] = 'echo "$i $status"'
  return table.concat(lines, "\n") .. "\n"
end

local function worker_env(extra)
  local env = {OPENBLAS_NUM_THREADS = 1, OMP_NUM_THREADS = 1,
               LUA_PATH = package.path, LUA_CPATH = package.cpath,
               LUA_PATH_5_4 = package.path, LUA_CPATH_5_4 = package.cpath}
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

local function check_map_args(script, jobs, opts)
  if type(script) ~= "string" then api.fail("script must be a path, got " .. type(script)) end
  local f = io.open(script, "r")
  if not f then api.fail("cannot read the script '" .. script .. "'") end
  f:close()
  if type(jobs) ~= "table" then api.fail("jobs must be an array of parameter tables") end
  if opts.jobs ~= nil and (math.type(opts.jobs) ~= "integer" or opts.jobs < 1) then
    api.fail("opts.jobs must be an integer >= 1, got " .. tostring(opts.jobs))
  end
  if opts.env ~= nil and type(opts.env) ~= "table" then
    api.fail("opts.env must be a table of variables, got " .. type(opts.env))
  end
  if opts.mpi ~= nil and type(opts.mpi) ~= "boolean" then
    api.fail("opts.mpi must be a boolean, got " .. type(opts.mpi))
  end
  -- the names go into the runner script unquoted (export NAME=value)
  for name in pairs(opts.env or {}) do
    if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
      api.failf("opts.env: %q is not a variable name", tostring(name))
    end
  end
end

-- Starts the workers and waits for them; returns the exit status of each job (nil: skipped).
local function run_all(dir, n, workers, on_done)
  local p = io.popen(string.format("xargs -n 1 -P %d sh %s < %s", workers, sh_quote(dir .. "/run.sh"),
                                   sh_quote(dir .. "/jobs.txt")))
  local status, done = {}, 0
  for line in p:lines() do
    local i, code = line:match("^(%d+) (%S+)$")
    i = tonumber(i)
    if i and code ~= "skipped" then
      status[i], done = tonumber(code), done + 1
      if on_done then on_done(i, done, n, status[i] == 0) end
    end
  end
  p:close()
  return status
end

-- The error message for job i (nil when it succeeded or was skipped).
local function job_failure(dir, i, n, job, code)
  local what
  if code == nil then
    return nil
  elseif code ~= 0 then
    what = "failed (exit status " .. code .. ")"
  elseif not read_file(dir .. "/" .. i .. ".out.json") then
    what = "ended without a result (did the script call parallel.serve?)"
  else
    return nil
  end
  return string.format("job %d of %d %s\n  parameters: %s\n  its output:\n%s", i, n, what,
                       json.encode(job, {allow_nan = true}), tail(read_file(dir .. "/" .. i .. ".log"), 30))
end

-- Runs the jobs numbered in `indices` (of the array `jobs`) in at most
-- `workers` worker processes at once; returns results[i] for each of them,
-- or raises the failure of the first job that failed.
local function run_jobs(script, jobs, indices, opts, workers)
  local n = rawlen(jobs)
  if #indices == 0 then return {} end
  local exe = opts.executable or core.executable()
  local dir = make_temp_dir()
  -- the temporary directory goes whatever happens: a failure is raised after
  local ok, result = pcall(function()
    for _, i in ipairs(indices) do
      local text, problem = json.try_encode(jobs[i], {allow_nan = true})
      if not text then error(string.format("job %d: %s", i, problem), 0) end
      write_file(dir .. "/" .. i .. ".in.json", text)
    end
    write_file(dir .. "/jobs.txt", table.concat(indices, "\n") .. "\n")
    write_file(dir .. "/run.sh", runner_script(dir, exe, script, worker_env(opts.env)))
    local status = run_all(dir, #indices, math.min(#indices, workers), opts.on_done)
    local results = {}
    for _, i in ipairs(indices) do
      local failure = job_failure(dir, i, n, jobs[i], status[i])
      if failure then error(failure, 0) end
      if status[i] == nil then error("job " .. i .. " never ran", 0) end
      local value, err = json.read(dir .. "/" .. i .. ".out.json")
      if err then error("job " .. i .. ": " .. err, 0) end
      results[i] = value
    end
    return results
  end)
  if opts.keep then
    if not ok then result = result .. "\n  (files kept in " .. dir .. ")" end
  else
    os.execute("rm -rf " .. sh_quote(dir))
  end
  if not ok then error(api.strip(result), 0) end
  return result
end

-- The size of the MPI job map spreads its jobs over (1: none).
local function ranks(opts)
  if opts.mpi == false or not mpi.available() then return 1 end
  return mpi.size()
end

-- On rank 0: every rank's message (the results of its jobs, or its failure)
-- put together: results in job order, or the first failure (by rank).
local function collect(texts, n)
  local results = {}
  for r, text in ipairs(texts) do
    local got = json.decode(text)
    if got.error then return nil, got.error end
    if got.n ~= n then
      return nil, string.format("the ranks passed different jobs (rank 0: %d jobs, rank %d: %d): every "
        .. "rank must call map with the same jobs", n, r - 1, got.n)
    end
    for _, pair in ipairs(got.results) do results[pair[1]] = pair[2] end
  end
  return results
end

-- map in an MPI job of `size` ranks (see the module's doc).
local function map_over_ranks(script, jobs, opts, size)
  local n, rank = rawlen(jobs), mpi.rank()
  local mine = {}
  for i = rank + 1, n, size do mine[#mine + 1] = i end
  local ok, got = pcall(run_jobs, script, jobs, mine, opts, opts.jobs or 1)
  local message
  if ok then
    local list = {}
    for k, i in ipairs(mine) do list[k] = {i, got[i]} end
    message = json.encode({n = n, results = list}, {allow_nan = true})
  else
    message = json.encode({n = n, error = string.format("on rank %d: %s", rank, api.strip(got))})
  end
  local texts = mpi.gather(message, 0)
  local reply
  if texts then
    local results, problem = collect(texts, n)
    reply = json.encode(problem and {error = problem} or {results = results}, {allow_nan = true})
  end
  local answer = json.decode(distributed.bcast_string(reply, 0))
  if answer.error then api.fail(answer.error) end
  local results = answer.results
  for i = 1, n do
    if results[i] == nil then api.failf("job %d of %d returned no result", i, n) end
  end
  return results
end

--- Runs `script` once per job in worker processes and returns the results in job order.
-- @tparam string script the worker script (usually the calling script, `arg[0]`)
-- @tparam table jobs an array of JSON-encodable parameters (each with its own seed)
-- @tparam[opt] table opts `jobs` = number of processes at once (default: the number of cores;
--   in an MPI job, per rank, default 1); `executable` (default `idl.executable()`); `env` = extra
--   environment variables; `on_done(index, done, total, ok)` called as each job ends (total: the
--   jobs of this process, of this rank in an MPI job); `keep` = keep the temporary directory
--   (its path is in the error message); `mpi` = false: do not spread the jobs over the ranks of
--   an MPI job (see above)
-- @treturn table `results[i]` = the value returned by the worker for `jobs[i]`
parallel.map = api.public("idl.parallel.map", function(script, jobs, opts)
  if opts ~= nil and type(opts) ~= "table" then api.fail("opts must be a table, got " .. type(opts)) end
  opts = opts or {}
  check_map_args(script, jobs, opts)
  local size = ranks(opts)
  if size > 1 then return map_over_ranks(script, jobs, opts, size) end
  local n = rawlen(jobs) -- the array's own length: a __len that lies must not reach xargs -P
  if n == 0 then return {} end
  local indices = {}
  for i = 1, n do indices[i] = i end
  local ok, results = pcall(run_jobs, script, jobs, indices, opts, opts.jobs or require("idl.cli").cores())
  if not ok then api.fail(results) end
  return results
end)

return parallel
