-- mpi_parallel_spec.lua: idl.parallel.map spreads its jobs over the ranks of
-- an MPI job. Under `mpirun --oversubscribe -np 2`,
-- tests/lua/fixtures/mpi_parallel_child.lua maps 5 jobs of
-- tests/lua/fixtures/parallel_worker.lua. Checked: rank 0 ran jobs 1, 3, 5 and
-- rank 1 jobs 2, 4; every rank received every result, in job order, equal to
-- the numbers computed here from each job's seed (and with mpi = false each
-- rank ran and received every job itself); each worker was a job of
-- size 1 (not a member of the mpirun job); and a job that fails on rank 1
-- fails map on both ranks with the same message naming the job. The report's
-- ablations (experiments/sec73_ablations.lua --tiny) under mpirun -np 2 write
-- the same tables as in one process.

local idl = require "idl"
local mpi = require "idl.mpi"
local support = dofile((os.getenv("IDL_SOURCE_DIR") or ".") .. "/tests/lua/support.lua")

local SOURCE = os.getenv("IDL_SOURCE_DIR") or "."
local EXE = os.getenv("IDL_EXE") or "build/bin/idl"
local CHILD = SOURCE .. "/tests/lua/fixtures/mpi_parallel_child.lua"
local TIMEOUT = 120 -- seconds a launch: a hang fails the test instead of stalling the suite

-- "<rank> <key> <values...>" lines -> results[rank][key] = the values (numbers where they read as one)
local parse = support.parse_ranks

describe("parallel.map's mpi option", function()
  it("is checked", function()
    local parallel = require "idl.parallel"
    local ok, msg = pcall(parallel.map, CHILD, {}, {mpi = "yes"})
    assert.is_false(ok)
    assert.truthy(tostring(msg):find("idl.parallel.map: opts.mpi must be a boolean, got string", 1, true),
      tostring(msg))
  end)
end)

if not mpi.available() then return end

describe("parallel.map under mpirun -np 2", function()
  it("rank r runs jobs r + 1, r + 3, ...; every rank gets all the results in job order", function()
    local code, stdout, stderr = support.mpirun(2, EXE, CHILD, nil, TIMEOUT)
    assert.are.equal(0, code, stderr)
    local results = parse(stdout)
    assert.are.same({1, 3, 5}, results[0].ran)
    assert.are.same({2, 4}, results[1].ran)
    for r = 0, 1 do
      for i = 1, 5 do
        local seed, n = 100 + i, 4 + i
        local m = idl.randn(n, n, idl.rng(seed))
        assert.are.same({i, seed, m:sum(), m:get(1, 1), 1}, results[r]["result" .. i],
          "rank " .. r .. ", job " .. i)
      end
      assert.are.same({1, 2}, results[r].own, "rank " .. r .. " with mpi = false")
    end
  end)

  it("a job failing on rank 1 fails map on every rank, naming the job", function()
    local code, stdout, stderr = support.mpirun(2, EXE, CHILD, "fail", TIMEOUT)
    assert.are.equal(0, code, stderr)
    local results = parse(stdout)
    for r = 0, 1 do
      local msg = table.concat(results[r].error, " ")
      assert.truthy(msg:find("idl.parallel.map:_on_rank_1:_job_4_of_5_failed", 1, true), msg)
      assert.truthy(msg:find("job_asked_to_fail:_on_purpose", 1, true), msg)
    end
    assert.are.same(results[0].error, results[1].error)
  end)
end)

describe("experiments/sec73_ablations.lua under mpirun -np 2", function()
  it("spreads its fits over the ranks and writes the tables of a run in one process", function()
    local dir = os.tmpname()
    os.remove(dir)
    local script = SOURCE .. "/experiments/sec73_ablations.lua"
    local function args(out) return "--tiny --seed 3 --out " .. support.sh_quote(dir .. "/" .. out) end
    local code, _, stderr = support.mpirun(2, EXE, script, args("mpi"), 120)
    assert.are.equal(0, code, stderr)
    code, _, stderr = support.mpirun(nil, EXE, script, args("alone"), 120)
    assert.are.equal(0, code, stderr)
    for _, file in ipairs{"fits.csv", "values.csv", "summary.csv"} do
      local alone = support.slurp(dir .. "/alone/" .. file)
      assert.is_string(alone, file)
      assert.are.equal(alone, support.slurp(dir .. "/mpi/" .. file), file)
    end
    os.execute("rm -rf " .. support.sh_quote(dir))
  end)
end)
