-- mpi_resume_spec.lua: checkpoint and resume of a data-parallel fit. Under
-- `mpirun --oversubscribe -np 2`, tests/lua/fixtures/mpi_resume_child.lua fits
-- the same shards straight for 12 rounds, then crashes a run after round 7
-- (checkpoints every 3 rounds) and resumes it from its checkpoint. Checked:
-- the resumed parameters equal the uninterrupted ones bit for bit (idl.hash
-- of every block) on every rank, and every rank holds the same; one file was
-- written (by rank 0), holding the shared state once and each rank's own; a
-- job of another size (here: this process alone) is refused with a message;
-- and the "linear" start is the one of all the rows in one process (its
-- training loss to 1e-12; rank 0's shard alone would give one 5% higher).

local idl = require "idl"
local json = require "idl.json"
local mpi = require "idl.mpi"
local support = dofile((os.getenv("IDL_SOURCE_DIR") or ".") .. "/tests/lua/support.lua")

local SOURCE = os.getenv("IDL_SOURCE_DIR") or "."
local EXE = os.getenv("IDL_EXE") or "build/bin/idl"
local CHILD = SOURCE .. "/tests/lua/fixtures/mpi_resume_child.lua"
local TIMEOUT = 150 -- seconds: a hang fails the test instead of stalling the suite

-- "<rank> <key> <value>" lines -> results[rank][key] = value
local function parse(stdout) return support.parse_ranks(stdout, true) end

local function files_in(dir)
  local p = io.popen("ls -A " .. support.sh_quote(dir))
  local names = {}
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  table.sort(names)
  return names
end

describe("checkpoint and resume with the distributed option, in one process", function()
  local path = os.tmpname()
  teardown(function() os.remove(path) end)
  local trainers = require "idl.trainers"
  local X, y = support.sine_problem(40, 3)
  local est = idl.IDLModel{hidden_variables = 3, random_state = 1, verbosity = false}
  est:fit(X, y, {rounds_number = 2})
  local s = est.state
  local data = {U = s.U, Y = s.Y, eval = s.eval}

  it("checks the option", function()
    local ok, msg = pcall(trainers.checkpoint, s, path, nil, {distributed = "yes"})
    assert.is_false(ok)
    assert.truthy(tostring(msg):find('idl.trainers.checkpoint: opts.distributed must be a boolean, got "yes"',
      1, true), tostring(msg))
    ok, msg = pcall(trainers.checkpoint, s, path, nil, {bogus = 1})
    assert.is_false(ok)
    assert.truthy(tostring(msg):find("idl.trainers.checkpoint: unknown option 'bogus' in opts", 1, true))
    trainers.checkpoint(s, path)
    ok, msg = pcall(trainers.resume, path, {U = s.U, Y = s.Y, eval = s.eval, distributed = 1})
    assert.is_false(ok)
    assert.truthy(tostring(msg):find("idl.trainers.resume: data.distributed must be a boolean, got 1", 1,
      true), tostring(msg))
  end)

  it("alone (a job of one rank), distributed = true writes and reads the file of one process", function()
    assert.are.equal(path, trainers.checkpoint(s, path, nil, {distributed = true}))
    local m = assert(idl.model.read(path))
    assert.is_nil(m.meta["checkpoint.shard0"])
    local plain = {U = data.U, Y = data.Y, eval = data.eval, distributed = true}
    local back = trainers.resume(path, plain)
    assert.are.equal(s.round, back.round)
    assert.are.equal(support.theta_hash(s.model.theta), support.theta_hash(back.model.theta))
  end)
end)

if not mpi.available() then return end

describe("a data-parallel fit under mpirun -np 2, interrupted and resumed", function()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. support.sh_quote(dir)))
  local code, stdout, stderr = support.mpirun(2, EXE, CHILD, support.sh_quote(dir), TIMEOUT)
  local path = dir .. "/run.ckpt"
  teardown(function() os.execute("rm -rf " .. support.sh_quote(dir)) end)

  it("continues bit for bit as the run that was never stopped, on every rank", function()
    assert.are.equal(0, code, stderr)
    local results = parse(stdout)
    for r = 0, 1 do
      local got = results[r]
      assert.is_table(got, "no output from rank " .. r)
      assert.are.equal("simulated_crash_after_round_7", got.crash)
      assert.are.equal(got.whole, got.resumed, "rank " .. r .. ": resumed parameters differ")
      assert.are.equal(results[0].whole, got.whole, "rank " .. r .. ": parameters differ from rank 0's")
      assert.are.equal(12, got.whole_rounds)
      assert.are.equal(12, got.resumed_rounds)
      assert.are.equal(got.whole_best, got.resumed_best)
    end
  end)

  it("starts from the \"linear\" start of the union of the shards, not from rank 0's", function()
    assert.are.equal(0, code, stderr)
    -- one process holding all the rows, the same parameters and generator
    local X, y = support.sine_problem(300, 21)
    local alone = idl.IDLModel{hidden_variables = 8, random_state = 4, verbosity = false,
      early_stopping = false}
    alone:fit(X, y, {rounds_number = 1})
    local want = alone.history[1].train_l2
    local results = parse(stdout)
    for r = 0, 1 do
      local got = results[r].start_l2
      assert.is_true(math.abs(got - want) <= 1e-12 * want,
        string.format("rank %d: %.17g, alone %.17g", r, got, want))
    end
  end)

  it("wrote one checkpoint file: the shared state once, each rank's own state beside it", function()
    assert.are.same({"run.ckpt"}, files_in(dir))
    local m = assert(idl.model.read(path))
    local tree = json.decode(m.meta["checkpoint.state"])
    assert.are.equal(6, tree.round) -- the last checkpoint before the crash
    assert.are.equal(2, tree.ranks)
    assert.is_nil(tree.data) -- the fingerprints are each rank's
    for r = 0, 1 do
      local shard = json.decode(m.meta["checkpoint.shard" .. r])
      assert.is_table(shard.data, "rank " .. r)
      -- the shards of 300 rows (rank 0: 100, rank 1: 200), less their 20% hold-out
      assert.are.equal((r + 1) * 80, shard.data.cols)
      assert.is_table(shard.trainer.rng, "rank " .. r .. "'s generator")
      assert.is_true(idl.is_matrix(m.meta["checkpoint.shard" .. r .. ".trainer.xcache"]))
    end
  end)

  it("refuses to resume in a job of another size", function()
    local X, y = support.sine_problem(300, 21)
    local mine = support.shard_rows(300, 0, 2)
    local Xs, ys = support.rows_of(X, mine), support.rows_of(y, mine)
    for _, distributed in ipairs{false, true} do
      local est = idl.IDLModel{hidden_variables = 8, random_state = 4, verbosity = false}
      local ok, msg = pcall(est.fit, est, Xs, ys, {resume = path, distributed = distributed})
      assert.is_false(ok)
      assert.truthy(tostring(msg):find("idl.IDLModel:fit: the checkpoint was written by a "
        .. "data-parallel job of 2 ranks: resume it with distributed = true under mpirun -np 2", 1, true),
        tostring(msg))
    end
  end)
end)
