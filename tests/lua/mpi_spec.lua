-- mpi_spec.lua: idl.mpi. In this process (a job of size 1): the arguments'
-- checks and their messages. Under `mpirun --oversubscribe -np 2` and `-np 3`
-- (tests/lua/fixtures/mpi_child.lua): allreduce sum/max/min and bcast,
-- on plain matrices and on strided views, checked against values computed here
-- from each rank's known input; shapes that differ across ranks raise on every
-- rank; an uncaught error on one rank ends the job (MPI_Abort) with its
-- message and a non-zero exit instead of leaving the others waiting.
-- A build without MPI: every function raises the "built without MPI" message.

local idl = require "idl"
local mpi = require "idl.mpi"
local support = dofile((os.getenv("IDL_SOURCE_DIR") or ".") .. "/tests/lua/support.lua")

local SOURCE = os.getenv("IDL_SOURCE_DIR") or "."
local EXE = os.getenv("IDL_EXE") or "build/bin/idl"
local MPIEXEC = os.getenv("IDL_MPIEXEC") or "mpirun"
local CHILD = SOURCE .. "/tests/lua/fixtures/mpi_child.lua"
local TIMEOUT = 120 -- seconds a launch: a hang fails the test instead of stalling the suite

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(msg)
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- Runs `child MODE` on np ranks (np = nil: alone, without mpirun); returns the
-- exit status, stdout and stderr.
local function run(np, mode)
  return support.mpirun(np, EXE, CHILD, mode, TIMEOUT)
end

-- "<rank> <key> v1 v2 ..." lines -> results[rank][key] = {v1, v2, ...}
local parse = support.parse_ranks

-- rank r's input element (i, j), as mpi_child.lua builds it
local function input(r, i, j)
  return (r * 7 + i * 3 + j * 5) % 11 - 5 + 0.25 * r
end

-- The reduction over ranks 0..np-1 of element (i, j), column-major over rows x cols.
local function reduced(np, rows, cols, op)
  local out = {}
  for j = 1, cols do
    for i = 1, rows do
      local acc = input(0, i, j)
      for r = 1, np - 1 do
        local v = input(r, i, j)
        if op == "sum" then acc = acc + v
        elseif op == "max" then acc = math.max(acc, v)
        else acc = math.min(acc, v) end
      end
      out[#out + 1] = acc
    end
  end
  return out
end

local function check_collectives(np, results)
  for r = 0, np - 1 do
    local got = results[r]
    assert.is_table(got, "no output from rank " .. r)
    assert.are.same({np}, got.size)
    for _, op in ipairs{"sum", "max", "min"} do
      assert.are.same(reduced(np, 3, 4, op), got[op], op .. " on rank " .. r)
    end
    assert.are.same(reduced(np, 3, 4, "sum"), got.default)
    -- the 5 x 6 parent: -1 outside the view (rows 2..3, columns 2..4), the sums inside
    local sums, parent = reduced(np, 2, 3, "sum"), {}
    for j = 1, 6 do
      for i = 1, 5 do
        local inside = i >= 2 and i <= 3 and j >= 2 and j <= 4
        parent[#parent + 1] = inside and sums[(j - 2) * 2 + (i - 1)] or -1
      end
    end
    assert.are.same(parent, got.parent)
    -- row 2 of rank r's 4 x 3 input reduced with max, the other rows its own
    local rows, maxima = {}, reduced(np, 4, 3, "max")
    for j = 1, 3 do
      for i = 1, 4 do
        rows[#rows + 1] = i == 2 and maxima[(j - 1) * 4 + i] or input(r, i, j)
      end
    end
    assert.are.same(rows, got.row)
    -- bcast from the last rank: its input everywhere
    local root = {}
    for j = 1, 2 do
      for i = 1, 2 do root[#root + 1] = input(np - 1, i, j) end
    end
    assert.are.same(root, got.bcast)
    -- the fused arrays
    assert.are.same(reduced(np, 2, 3, "max"), got.fused1)
    assert.are.same(reduced(np, 1, 1, "max"), got.fused2)
    local sums2, parent2 = reduced(np, 2, 2, "sum"), {}
    for j = 1, 3 do
      for i = 1, 3 do
        parent2[#parent2 + 1] = (i <= 2 and j >= 2) and sums2[(j - 2) * 2 + i] or -1
      end
    end
    assert.are.same(parent2, got.fused_parent)
    assert.are.same(reduced(np, 3, 1, "sum"), got.fused_column)
    assert.are.same(reduced(np, 2, 3, "min"), got.flat1)
    assert.are.same(reduced(np, 1, 1, "min"), got.flat2)
    assert.are.same({input(0, 1, 1), input(0, 1, 2)}, got.bcast1)
    assert.are.same({input(0, 1, 1), input(0, 2, 1)}, got.bcast2)
    -- gather: the last rank holds every rank's block (rows 1..1+q, columns
    -- 2..3 of rank q's input), rank 0 the strings
    for q = 0, np - 1 do
      local block = {}
      for j = 2, 3 do
        for i = 1, 1 + q do block[#block + 1] = input(q, i, j) end
      end
      assert.are.same(r == np - 1 and block or nil, got["gather" .. q], "gather from rank " .. q)
    end
    local texts = {}
    for q = 0, np - 1 do texts[q + 1] = "r" .. q .. ":" .. string.rep("ab", q) end
    assert.are.same(r == 0 and texts or nil, got.texts)
  end
end

if not mpi.available() then
  describe("idl.mpi built without MPI", function()
    it("says so from every function, and available() is false", function()
      assert.is_false(mpi.available())
      local msg = "idl.mpi: built without MPI (install libopenmpi-dev and rebuild)"
      for _, f in ipairs{mpi.rank, mpi.size, mpi.barrier} do
        assert.truthy(err_of(f):find(msg, 1, true))
      end
      assert.truthy(err_of(mpi.allreduce, idl.zeros(1, 1)):find(msg, 1, true))
      assert.truthy(err_of(mpi.bcast, idl.zeros(1, 1), 0):find(msg, 1, true))
      assert.truthy(err_of(mpi.gather, "x", 0):find(msg, 1, true))
    end)
  end)
  return
end

for _, np in ipairs{1, 2, 3} do
  describe("idl.mpi under mpirun -np " .. np, function()
    it("allreduce (sum, max, min, on views), bcast, gather: the values computed from every rank's input",
      function()
        local code, stdout, stderr = run(np, "collectives")
        assert.are.equal(0, code, stderr)
        local results = parse(stdout)
        check_collectives(np, results)
      end)

    it("idl.distributed: row_scaler of the shards is that of their union; sum, max, union, bcast_string",
      function()
      local code, stdout, stderr = run(np, "distributed")
      assert.are.equal(0, code, stderr)
      local results = parse(stdout)
      -- the union of the shards, as the ranks build them
      local union
      for r = 0, np - 1 do
        local U = idl.zeros(3, 2 + r)
        for i = 1, 3 do
          for j = 1, 2 + r do U:set(i, j, input(r, i, j) + (i == 1 and 1e6 or 0)) end
        end
        union = union and union:hcat(U) or U
      end
      local mean, scale = require("idl.standardize").row_scaler(union)
      for r = 0, np - 1 do
        local got = results[r]
        for i = 1, 3 do
          local mi = mean:get(i, 1)
          assert.is_true(math.abs(got.mean[i] - mi) <= 1e-9 * math.abs(mi), got.mean[i])
          assert.is_true(math.abs(got.scale[i] - scale:get(i, 1)) <= 1e-9 * scale:get(i, 1), got.scale[i])
        end
        assert.are.same(results[0].mean, got.mean) -- bit for bit on every rank
        assert.are.same(results[0].scale, got.scale)
        assert.are.same({np * (np - 1) / 2, np, 0.5 * np}, got.sum)
        assert.are.same({np - 1, 0}, got.max)
        assert.are.same({"integer", "float"}, got.types)
        -- the sorted distinct values of {q, 10 - q, 3, q} over ranks q = 1..np-1 (rank 0: none)
        local seen, distinct = {}, {}
        for q = 1, np - 1 do
          for _, v in ipairs{q, 10 - q, 3} do
            if not seen[v] then seen[v], distinct[#distinct + 1] = true, v end
          end
        end
        table.sort(distinct)
        assert.are.same(distinct, got.union)
        assert.are.same({"from_" .. (np - 1)}, got.text)
        local kinds = table.concat(got.union_kinds, " ")
        if np == 1 then
          assert.truthy(kinds:find("^true table"), kinds) -- alone: one kind
        else
          assert.truthy(kinds:find("^false .*idl.distributed.union: rank %d+ has %a+ values, another rank "
            .. "%a+ values: the values must be of one kind on every rank$"), kinds)
        end
      end
    end)

    if np == 1 then return end -- (mpirun -np 1: MPI started, a job of size 1)

    it("a shape, kind or root that differs across ranks raises on every rank", function()
      local code, stdout, stderr = run(np, "mismatch")
      assert.are.equal(0, code, stderr)
      local results = parse(stdout)
      for r = 0, np - 1 do
        local line = table.concat(results[r].mismatch, " ")
        assert.truthy(line:find("^false idl%.mpi%.allreduce: the matrices differ across ranks"), line)
        assert.truthy(line:find("rows range over [2, 2], columns over [2, 3]", 1, true), line)
        assert.are.equal("false idl.mpi.bcast: root differs across ranks", table.concat(results[r].root, " "))
        local list = table.concat(results[r].list, " ")
        assert.truthy(list:find("^false idl%.mpi%.allreduce: the arrays of matrices differ across ranks"),
          list)
        assert.are.equal("false idl.mpi.gather: rank 1 passes a matrix, rank 0 a string",
          table.concat(results[r].kind, " "))
      end
    end)

    it("an uncaught error on rank 1 ends the job with its message and a non-zero exit", function()
      local code, stdout, stderr = run(np, "error")
      assert.are_not.equal(0, code)
      assert.are_not.equal(124, code, "the job hung until the timeout")
      assert.truthy(stderr:find("mpi_child%.lua:%d+: deliberate failure on rank 1"), stderr)
      assert.is_nil(stdout:find("not aborted", 1, true))
    end)
  end)
end

describe("experiments/mpi_hello.lua (the README's example)", function()
  it("fits the union of the shards under mpirun -np 2: the weights of a fit on all the data", function()
    local out, err = os.tmpname(), os.tmpname()
    local cmd = string.format("cd %s && timeout %d %s --oversubscribe -np 2 %s experiments/mpi_hello.lua "
      .. "--rows 200 >%s 2>%s", SOURCE, TIMEOUT, MPIEXEC, EXE, out, err)
    local ok = os.execute(cmd)
    local stdout, stderr = read(out), read(err)
    os.remove(out)
    os.remove(err)
    assert.is_true(ok, stderr)
    -- the two shards as the script draws them, fitted here in one piece
    local w_true = idl.from_table{{2}, {-1}, {0.5}}
    local Xs, ys = {}, {}
    for r = 0, 1 do
      local g = idl.rng(1000 + r)
      Xs[r + 1] = idl.randn(200, 3, g)
      ys[r + 1] = Xs[r + 1] * w_true + idl.randn(200, 1, g, 0, 0.1)
    end
    local w = idl.lstsq(Xs[1]:vcat(Xs[2]), ys[1]:vcat(ys[2]))
    local expected = string.format("2 ranks, 400 samples: w = (%.4f, %.4f, %.4f), true (2, -1, 0.5); "
      .. "largest difference between ranks 0\n", w:get(1), w:get(2), w:get(3))
    assert.are.equal(expected, stdout)
  end)
end)

-- This process has no launcher: a job of size 1 that does not start MPI.
describe("idl.mpi in one process", function()
  it("is a job of size 1 where allreduce and bcast leave the values as they are", function()
    assert.is_true(mpi.available())
    assert.are.equal(idl.mpi, mpi)
    assert.are.equal(0, mpi.rank())
    assert.are.equal(1, mpi.size())
    local M = idl.from_table{{1, -2}, {3, 4.5}}
    for _, op in ipairs{"sum", "max", "min"} do
      assert.are.equal(M, mpi.allreduce(M, op))
      assert.is_true(idl.equal(idl.from_table{{1, -2}, {3, 4.5}}, M, 0))
    end
    assert.are.equal(M, mpi.bcast(M, 0))
    assert.is_true(idl.equal(idl.from_table{{1, -2}, {3, 4.5}}, M, 0))
    mpi.barrier()
  end)

  it("fused_buffer: views stored back to back in one flat column", function()
    local flat, views = mpi.fused_buffer{{2, 3}, {1, 1}, {0, 4}, {3, 1}}
    assert.are.equal(10, flat:rows())
    assert.are.equal(1, flat:cols())
    assert.are.equal(4, #views)
    assert.are.same({2, 3}, {views[1]:size()})
    assert.are.same({0, 4}, {views[3]:size()})
    assert.is_true(views[1]:is_view())
    for k = 1, 10 do flat:set(k, 1, k) end
    assert.is_true(idl.equal(idl.from_table{{1, 3, 5}, {2, 4, 6}}, views[1], 0))
    assert.are.equal(7, views[2]:get(1, 1))
    assert.is_true(idl.equal(idl.from_table{{8}, {9}, {10}}, views[4], 0))
    views[4]:set(2, 1, -1) -- a write through a view lands in flat
    assert.are.equal(-1, flat:get(9, 1))
    assert.truthy(err_of(mpi.fused_buffer, {}):find(
      "mpi.fused_buffer: shapes must be a non-empty array of {rows, cols}, got an empty table", 1, true))
    assert.truthy(err_of(mpi.fused_buffer, {{2, 2}, 3}):find(
      "mpi.fused_buffer: shapes[2] must be {rows, cols}, got number", 1, true))
    assert.truthy(err_of(mpi.fused_buffer, {{2, -1}}):find(
      "mpi.fused_buffer: cols must be a non-negative integer, got -1", 1, true))
  end)

  it("checks its arguments", function()
    assert.truthy(err_of(mpi.allreduce, "x"):find(
      "mpi.allreduce: M must be a matrix or a non-empty array of matrices, got string", 1, true))
    assert.truthy(err_of(mpi.allreduce, {}):find(
      "mpi.allreduce: M must be a matrix or a non-empty array of matrices, got an empty table", 1, true))
    assert.truthy(err_of(mpi.allreduce, {idl.zeros(1, 1), 2}):find(
      "mpi.allreduce: M[2] must be a matrix, got number", 1, true))
    assert.truthy(err_of(mpi.allreduce, idl.zeros(1, 1), "avg"):find(
      'mpi.allreduce: op must be "sum", "max" or "min", got "avg"', 1, true))
    assert.truthy(err_of(mpi.allreduce, idl.zeros(1, 1), 3):find(
      'mpi.allreduce: op must be "sum", "max" or "min", got number', 1, true))
    assert.truthy(err_of(mpi.bcast, true, 0):find(
      "mpi.bcast: M must be a matrix or a non-empty array of matrices, got boolean", 1, true))
    assert.truthy(err_of(mpi.bcast, idl.zeros(1, 1), 1):find("mpi.bcast: root must be in [0, 0], got 1", 1,
      true))
    assert.truthy(err_of(mpi.bcast, idl.zeros(1, 1)):find("mpi.bcast: root must be an integer, got nil",
      1, true))
    assert.truthy(err_of(mpi.bcast, idl.zeros(1, 1), 0.5):find("mpi.bcast: root must be an integer, got 0.5",
      1, true))
    assert.truthy(err_of(mpi.gather, true, 0):find("mpi.gather: v must be a matrix or a string, got boolean",
      1, true))
    assert.truthy(err_of(mpi.gather, "x", 1):find("mpi.gather: root must be in [0, 0], got 1", 1, true))
    local alone = mpi.gather(idl.from_table{{1, 2}}, 0)
    assert.are.equal(1, #alone)
    assert.is_true(idl.equal(idl.from_table{{1, 2}}, alone[1], 0))
    assert.are.same({"text"}, mpi.gather("text", 0))
  end)

  it("runs the child script alone as a job of size 1", function()
    local code, stdout, stderr = run(nil, "collectives")
    assert.are.equal(0, code, stderr)
    check_collectives(1, parse(stdout))
  end)
end)
