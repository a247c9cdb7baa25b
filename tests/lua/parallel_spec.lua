-- idl.parallel: worker processes, results in job order whatever the number of workers,
-- and failures reported with the job, its parameters and its output.
local idl = require "idl"
local parallel = require "idl.parallel"

local source_dir = os.getenv("IDL_SOURCE_DIR") or "."
local worker = source_dir .. "/tests/lua/fixtures/parallel_worker.lua"

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok)
  return msg
end

local function own_pid()
  local stat = io.open("/proc/self/stat")
  local pid = stat:read("n")
  stat:close()
  return pid
end

-- The fields of a result that must not depend on the process or the schedule.
local function numbers_of(r)
  return {r.index, r.seed, r.sum, r.first, r.matrix}
end

local jobs = {}
for i = 1, 5 do jobs[i] = {seed = 100 + i, n = 4 + i} end

describe("parallel.map", function()
  local serial, concurrent
  setup(function()
    serial = parallel.map(worker, jobs, {jobs = 1})
    concurrent = parallel.map(worker, jobs, {jobs = 3})
  end)

  it("returns each job's result in job order, as computed in this process", function()
    assert.equal(#jobs, #serial)
    for i, job in ipairs(jobs) do
      local m = idl.randn(job.n, job.n, idl.rng(job.seed))
      assert.equal(i, serial[i].index)
      assert.equal(job.seed, serial[i].seed)
      assert.equal(m:sum(), serial[i].sum)
      assert.equal(m:get(1, 1), serial[i].first)
      assert.same(m:totable(), serial[i].matrix)
    end
  end)

  it("gives identical results with 1 and with 3 workers", function()
    for i = 1, #jobs do
      assert.same(numbers_of(serial[i]), numbers_of(concurrent[i]))
    end
  end)

  it("keeps NaN and infinities", function()
    assert.is_true(serial[1].not_a_number ~= serial[1].not_a_number)
    assert.equal(-math.huge, serial[1].infinite)
  end)

  it("runs every job in its own process with one BLAS thread", function()
    local pids = {}
    for _, r in ipairs(concurrent) do
      assert.is_nil(pids[r.pid])
      assert.are_not.equal(own_pid(), r.pid)
      pids[r.pid] = true
      assert.equal("1", r.env)
      assert.equal(1, r.blas_threads)
    end
  end)

  it("runs jobs at the same time with several workers, one after another with one", function()
    local sleepy = {}
    for i = 1, 3 do sleepy[i] = {seed = i, n = 2, sleep = 0.3} end
    local function overlaps(results)
      local count = 0
      for i = 1, #results do
        for j = i + 1, #results do
          local a, b = results[i], results[j]
          if a.started < b.finished and b.started < a.finished then count = count + 1 end
        end
      end
      return count
    end
    assert.equal(3, overlaps(parallel.map(worker, sleepy, {jobs = 3})))
    assert.equal(0, overlaps(parallel.map(worker, sleepy, {jobs = 1})))
  end)

  it("reports progress as jobs end", function()
    local seen = {}
    local function on_done(i, done, total, ok)
      seen[i] = true
      assert.equal(2, total)
      assert.is_true(done >= 1 and done <= 2)
      assert.is_true(ok)
    end
    parallel.map(worker, {{seed = 1, n = 2}, {seed = 2, n = 2}}, {jobs = 2, on_done = on_done})
    assert.same({true, true}, seen)
  end)

  it("counts the jobs by the array itself, not by a __len that lies (xargs -P got -1)", function()
    local liar = setmetatable({{seed = 1, n = 2}}, {__len = function() return -1 end})
    local r = parallel.map(worker, liar, {jobs = 1})
    assert.are.equal(1, #r)
  end)

  it("returns an empty array for no jobs", function()
    assert.same({}, parallel.map(worker, {}))
  end)
end)

describe("parallel.map failures", function()
  it("names the failed job, its parameters and its error output", function()
    local bad = {{seed = 1, n = 2}, {seed = 2, n = 2, fail = "on purpose"}, {seed = 3, n = 2}}
    local msg = err_of(parallel.map, worker, bad, {jobs = 2})
    assert.matches("parallel.map: job 2 of 3 failed %(exit status 1%)", msg)
    assert.is_truthy(msg:find('parameters: {"fail":"on purpose","n":2,"seed":2}', 1, true))
    assert.matches("job asked to fail: on purpose", msg)
  end)

  it("starts no new job after a failure", function()
    local bad = {{seed = 1, n = 2, fail = "first"}, {seed = 2, n = 2}, {seed = 3, n = 2}}
    local ended = 0
    local msg = err_of(parallel.map, worker, bad, {jobs = 1, on_done = function() ended = ended + 1 end})
    assert.matches("job 1 of 3 failed", msg)
    assert.equal(1, ended)
  end)

  it("reports a job that returns nil or exits without a result", function()
    local msg = err_of(parallel.map, worker, {{return_nil = true}}, {jobs = 1})
    assert.matches("job 1 of 1 failed", msg)
    assert.matches("the job function returned nil", msg)
    msg = err_of(parallel.map, worker, {{seed = 1, n = 2}, {exit_early = true}}, {jobs = 1})
    assert.matches("job 2 of 2 ended without a result %(did the script call parallel.serve%?%)", msg)
  end)

  it("checks its arguments", function()
    assert.matches("parallel.map: cannot read the script 'nowhere.lua'",
                   err_of(parallel.map, "nowhere.lua", {}))
    assert.matches("parallel.map: opts.jobs must be an integer >= 1, got 0",
                   err_of(parallel.map, worker, {}, {jobs = 0}))
    assert.matches("parallel.map: job 2: %$.f is a function",
                   err_of(parallel.map, worker, {{}, {f = print}}, {jobs = 1}))
  end)
end)

describe("parallel.is_worker and serve", function()
  it("recognises the worker command line", function()
    assert.is_true(parallel.is_worker{"--worker", "in", "out", "1"})
    assert.is_false(parallel.is_worker{"--seed", "3"})
    assert.is_false(parallel.is_worker{})
  end)

  it("rejects a command line that map did not build", function()
    assert.matches("parallel.serve: expected arg", err_of(parallel.serve, {"--seed"}, print))
  end)
end)
