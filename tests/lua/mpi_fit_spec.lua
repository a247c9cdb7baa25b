-- mpi_fit_spec.lua: data-parallel fitting, est:fit(X, y, {distributed = true}).
-- tests/lua/fixtures/mpi_fit_child.lua fits a fixed regression problem: alone
-- (one process holding the union of the shards) and under
-- `mpirun --oversubscribe -np 2` and `-np 3`, each rank its own uneven shard.
-- Checked: every rank ends with bit-identical parameters (each block compared
-- with rank 0's broadcast copy: the largest difference is exactly 0), runs the
-- same rounds and restores the same best round, and the test RMSE is within
-- 25% of the single-process fit's (the runs differ in their mini-batches and
-- hold-outs, not in the model: the noise floor is 0.05, a constant prediction
-- has RMSE ~0.86). In this process: size 1 changes nothing, and the option is checked.
-- tests/lua/fixtures/mpi_classifier_child.lua fits idl.IDLClassifier on three
-- labelled blobs, alone and on 2 ranks whose rank 0 never sees class "c":
-- every rank must end with the classes of the union, the same parameters, and
-- the accuracy of the single-process fit within noise; a callback asking to
-- stop on rank 1 alone stops both ranks after the same round; an eval_set on
-- one rank only, or a shard too small for a hold-out, fails on both; an error
-- raised on rank 1 during the fit must end the job with its message instead
-- of hanging.

local idl = require "idl"
local mpi = require "idl.mpi"
local support = dofile((os.getenv("IDL_SOURCE_DIR") or ".") .. "/tests/lua/support.lua")

local SOURCE = os.getenv("IDL_SOURCE_DIR") or "."
local EXE = os.getenv("IDL_EXE") or "build/bin/idl"
local CHILD = SOURCE .. "/tests/lua/fixtures/mpi_fit_child.lua"
local CLASSIFIER_CHILD = SOURCE .. "/tests/lua/fixtures/mpi_classifier_child.lua"
-- accuracy on 300 test points of blobs whose best accuracy is ~0.95 (sd of
-- an accuracy there ~0.013)
local ACCURACY_TOLERANCE = 0.04
local TIMEOUT = 120 -- seconds: a hang fails the test instead of stalling the suite
local RMSE_TOLERANCE = 0.25 -- relative to the single-process fit

-- Runs the child on np ranks (nil: alone) with its arguments; returns exit
-- status, stdout, stderr.
local function run(np, args)
  return support.mpirun(np, EXE, CHILD, args, TIMEOUT)
end

-- "<rank> <key> <value>" lines -> results[rank][key] = value (a number when it reads as one)
local function parse(stdout) return support.parse_ranks(stdout, true) end

local function problem(m)
  local g = idl.rng(5)
  local X = idl.rand(m, 2, g)
  local y = X * idl.from_table{{1}, {-2}} + idl.randn(m, 1, g, 0, 0.05)
  return X, y
end

describe("est:fit(X, y, {distributed = true})", function()
  it("alone (a job of size 1) trains exactly as without the option", function()
    if not mpi.available() then return end
    local X, y = problem(120)
    -- one model: ensemble_size "auto" fits three below 2,000 samples, but one
    -- with distributed = true (the same model on any number of ranks)
    local a = idl.IDLModel{hidden_variables = 5, random_state = 1, verbosity = false, ensemble_size = 1}
    a:fit(X, y, {rounds_number = 8})
    local b = idl.IDLModel{hidden_variables = 5, random_state = 1, verbosity = false}
    b:fit(X, y, {rounds_number = 8, distributed = true})
    assert.are.equal(1, #b.members)
    for _, k in ipairs{"A", "B", "c", "D", "E", "f"} do
      assert.is_true(a.model.theta[k] == b.model.theta[k], "theta." .. k)
    end
  end)

  it("checks the option", function()
    local X, y = problem(20)
    local est = idl.IDLModel{hidden_variables = 3, verbosity = false}
    local ok, msg = pcall(est.fit, est, X, y, {distributed = "yes"})
    assert.is_false(ok)
    assert.matches("distributed", tostring(msg))
    if not mpi.available() then
      ok, msg = pcall(est.fit, est, X, y, {distributed = true})
      assert.is_false(ok)
      assert.matches("built without MPI", tostring(msg))
    end
  end)

  if not mpi.available() then return end

  local code, stdout, stderr = run(nil)
  local single = parse(stdout)[0]

  it("the single-process fit on the union learns the problem", function()
    assert.are.equal(0, code, stderr)
    assert.are.equal(1, single.size)
    assert.are.equal(600, single.rows)
    assert.is_true(single.test_rmse < 0.2 * single.baseline_rmse, "test RMSE " .. single.test_rmse)
  end)

  it("ensemble_size = 2 under mpirun -np 2: two data-parallel fits, their mean identical on the ranks",
    function()
      local c, out, err = run(2, "ensemble")
      assert.are.equal(0, c, err)
      local results = parse(out)
      for r = 0, 1 do
        assert.are.equal(2, results[r].models)
        assert.are.equal(20, results[r].h)
        assert.are.equal(0, results[r].theta_diff, "rank " .. r .. ": parameters differ from rank 0's")
      end
      assert.is_true(results[0].test_rmse < 0.2 * results[0].baseline_rmse,
        "test RMSE " .. results[0].test_rmse)
    end)

  for _, np in ipairs{2, 3} do
    it("under mpirun -np " .. np .. ": identical parameters, the same rounds, the accuracy of one process",
      function()
        local c, out, err = run(np)
        assert.are.equal(0, c, err)
        local results = parse(out)
        local rows = 0
        for r = 0, np - 1 do
          local got = results[r]
          assert.is_table(got, "no output from rank " .. r)
          assert.are.equal(np, got.size)
          rows = rows + got.rows
          assert.are.equal(0, got.theta_diff, "rank " .. r .. ": parameters differ from rank 0's")
          assert.are.equal(results[0].rounds, got.rounds)
          assert.are.equal(results[0].best, got.best)
          assert.are.equal(results[0].test_rmse, got.test_rmse)
        end
        assert.are.equal(600, rows)
        assert.are.equal(2 * results[0].rows, results[np - 1].rows) -- uneven shards
        local rel = math.abs(results[0].test_rmse - single.test_rmse) / single.test_rmse
        assert.is_true(rel <= RMSE_TOLERANCE, string.format("test RMSE %.4f on %d ranks, %.4f alone",
          results[0].test_rmse, np, single.test_rmse))
      end)
  end
end)

describe("idl.IDLClassifier:fit(X, labels, {distributed = true})", function()
  if not mpi.available() then return end

  it("under mpirun -np 2: the classes of the union, identical parameters, the accuracy of one process",
    function()
      local code, stdout, stderr = support.mpirun(nil, EXE, CLASSIFIER_CHILD, nil, TIMEOUT)
      assert.are.equal(0, code, stderr)
      local single = parse(stdout)[0]
      assert.are.equal(300, single.rows)
      assert.are.equal("a,b,c", single.classes)
      assert.is_true(single.accuracy > 0.9, "accuracy alone " .. single.accuracy)
      code, stdout, stderr = support.mpirun(2, EXE, CLASSIFIER_CHILD, nil, TIMEOUT)
      assert.are.equal(0, code, stderr)
      local results = parse(stdout)
      assert.are.equal(100, results[0].rows) -- classes a and b only
      assert.are.equal(200, results[1].rows)
      for r = 0, 1 do
        assert.are.equal("a,b,c", results[r].classes, "rank " .. r)
        assert.are.equal(results[0].theta, results[r].theta, "rank " .. r .. ": not rank 0's parameters")
        assert.are.equal(results[0].accuracy, results[r].accuracy)
      end
      assert.is_true(math.abs(results[0].accuracy - single.accuracy) <= ACCURACY_TOLERANCE,
        string.format("accuracy %.4f on 2 ranks, %.4f alone", results[0].accuracy, single.accuracy))
      -- the linear start (a logistic regression) is the union's, as alone
      local want = {}
      for v in single.start:gmatch("[^,]+") do want[#want + 1] = tonumber(v) end
      for r = 0, 1 do
        local k = 0
        for v in results[r].start:gmatch("[^,]+") do
          k = k + 1
          assert.is_true(math.abs(tonumber(v) - want[k]) <= 1e-9 * (1 + math.abs(want[k])),
            string.format("rank %d: start entry %d is %s, alone %.17g", r, k, v, want[k]))
        end
        assert.are.equal(#want, k)
      end
    end)

  -- one job for both: the failed fits, then the fit that rank 1 stops
  local stop_code, stop_out, stop_err = support.mpirun(2, EXE, CLASSIFIER_CHILD, "stop", TIMEOUT)

  it("a callback asking to stop on rank 1 alone stops every rank after that round", function()
    assert.are_not.equal(124, stop_code, "the job hung until the timeout")
    assert.are.equal(0, stop_code, stop_err)
    local results = parse(stop_out)
    for r = 0, 1 do
      assert.are.equal("callback:3", results[r].stop, "rank " .. r)
      assert.are.equal(results[0].theta, results[r].theta, "rank " .. r .. ": not rank 0's parameters")
    end
  end)

  it("an eval_set on some ranks only, or a shard too small for a hold-out, fails on every rank", function()
    assert.are.equal(0, stop_code, stop_err)
    local results = parse(stop_out)
    for r = 0, 1 do
      assert.are.equal("idl.IDLClassifier:fit:_distributed_=_true:_1_of_the_2_ranks_have_an_eval_set;_every_"
        .. "rank_needs_one,_or_none", results[r].eval_set:match("idl%.IDLClassifier.*"), "rank " .. r)
      assert.truthy(results[r].holdout:find("1_of_the_2_ranks_have_a_hold-out", 1, true), results[r].holdout)
    end
  end)

  it("an error raised on rank 1 during the fit ends the job with its message (no hang)", function()
    local code, stdout, stderr = support.mpirun(2, EXE, CLASSIFIER_CHILD, "error", TIMEOUT)
    assert.are_not.equal(0, code)
    assert.are_not.equal(124, code, "the job hung until the timeout")
    assert.truthy(stderr:find("mpi_classifier_child%.lua:%d+: deliberate failure on rank 1"), stderr)
    assert.is_nil(stdout:find("not aborted", 1, true))
  end)
end)
