-- stream_spec.lua: idl.data.stream_csv against idl.read_csv on the same files
-- (the batches put together are read_csv's matrix, split at the target
-- column), shards against the rows they must hold, stats against
-- data.Standardizer on the whole file (also under mpirun -np 2 and 3, where the
-- ranks' statistics are merged), malformed lines deep in a file with their line
-- numbers, lines longer than the reader's first buffer, and the arguments'
-- messages.

local idl = require "idl"
local data = require "idl.data"

local SOURCE = os.getenv("IDL_SOURCE_DIR") or "."
local EXE = os.getenv("IDL_EXE") or "build/bin/idl"
local MPIEXEC = os.getenv("IDL_MPIEXEC")

local TMP = os.tmpname()
os.remove(TMP)
assert(os.execute("mkdir -p " .. TMP))

local function write(name, text)
  local path = TMP .. "/" .. name
  local f = assert(io.open(path, "wb"))
  assert(f:write(text))
  assert(f:close())
  return path
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(msg)
end

-- All batches of one pass, put together (nil y when the source has no target).
local function drain(src)
  local Xs, ys = nil, nil
  for X, y in src:batches() do
    Xs = Xs and Xs:vcat(X) or X
    if y then ys = ys and ys:vcat(y) or y end
  end
  return Xs, ys
end

-- Columns cols (a Lua array) of M, as a new matrix.
local function columns(M, cols)
  return M:select_cols(cols)
end

-- A 103 x 4 file with a header, values that need all 17 digits.
local M = idl.randn(103, 4, idl.rng(5), 3, 2)
local NAMES = {"u", "v", "w", "price"}
local WITH_HEADER = TMP .. "/with_header.csv"
idl.write_csv(WITH_HEADER, M, NAMES)

describe("idl.data.stream_csv", function()
  it("gives in batches what read_csv gives at once, with the target by name, index or \"last\"", function()
    local whole = idl.read_csv(WITH_HEADER)
    for _, target in ipairs{"price", 4, "last"} do
      local src = data.stream_csv(WITH_HEADER, {target = target, batch_size = 10})
      local X, y = drain(src)
      assert.is_true(idl.equal(columns(whole, {1, 2, 3}), X, 0))
      assert.is_true(idl.equal(columns(whole, {4}), y, 0))
    end
    local src = data.stream_csv(WITH_HEADER, {target = "v", batch_size = 7})
    local X, y = drain(src)
    assert.is_true(idl.equal(columns(whole, {1, 3, 4}), X, 0))
    assert.is_true(idl.equal(columns(whole, {2}), y, 0))
    assert.are.same(NAMES, src:columns())
    -- batches of batch_size rows, the last one shorter
    local sizes = {}
    for B in data.stream_csv(WITH_HEADER, {batch_size = 25}):batches() do sizes[#sizes + 1] = B:rows() end
    assert.are.same({25, 25, 25, 25, 3}, sizes)
  end)

  it("reads a file without a header, blank lines, CRLF line ends and a last line without one", function()
    local path = write("plain.csv", "1,2,3\r\n\r\n4,5,6\n  \n7,8,9")
    local src = data.stream_csv(path, {target = 1, batch_size = 2})
    assert.is_nil(src:columns())
    local X, y = drain(src)
    assert.is_true(idl.equal(idl.from_table{{2, 3}, {5, 6}, {8, 9}}, X, 0))
    assert.is_true(idl.equal(idl.from_table{{1}, {4}, {7}}, y, 0))
    -- header = true takes the first line as names, as read_csv does
    local forced = data.stream_csv(path, {header = true})
    assert.are.same({"1", "2", "3"}, forced:columns())
    assert.is_true(idl.equal(idl.read_csv(path, {header = true}), drain(forced), 0))
    -- a delimiter
    local semi = write("semi.csv", "a;b\n1;2\n3;4\n")
    local got = drain(data.stream_csv(semi, {delimiter = ";"}))
    assert.is_true(idl.equal(idl.from_table{{1, 2}, {3, 4}}, got, 0))
  end)

  it("reset() starts the pass again; next() is nil at the end", function()
    local src = data.stream_csv(WITH_HEADER, {target = "last", batch_size = 40})
    local first = src:next()
    src:next()
    assert.are.equal(23, src:next():rows())
    assert.is_nil(src:next())
    assert.is_nil(src:next())
    assert.are.equal(src, src:reset())
    assert.is_true(idl.equal(first, src:next(), 0))
  end)

  it("shards: rank r of size s holds the data rows i (0-based) with i % s == r", function()
    local whole = idl.read_csv(WITH_HEADER)
    for _, size in ipairs{1, 2, 3, 5} do
      local total = 0
      for rank = 0, size - 1 do
        local rows = {}
        for i = rank, 102, size do rows[#rows + 1] = i + 1 end
        local opts = {target = "last", batch_size = 8, shard = {rank, size}}
        local X, y = drain(data.stream_csv(WITH_HEADER, opts))
        local expected = data.select_rows(whole, rows)
        assert.is_true(idl.equal(columns(expected, {1, 2, 3}), X, 0))
        assert.is_true(idl.equal(columns(expected, {4}), y, 0))
        total = total + X:rows()
      end
      assert.are.equal(103, total)
    end
  end)

  it("stats: one pass gives data.Standardizer's means and scales of the whole file", function()
    local whole = idl.read_csv(WITH_HEADER)
    local src = data.stream_csv(WITH_HEADER, {target = "w", batch_size = 9})
    local first = src:next()
    local st = src:stats()
    assert.are.equal(103, st.rows)
    local sx = data.Standardizer():fit(columns(whole, {1, 2, 4}))
    local sy = data.Standardizer():fit(columns(whole, {3}))
    assert.is_true(idl.equal(sx.mean, st.x_mean, 1e-12))
    assert.is_true(idl.equal(sx.scale, st.x_scale, 1e-12))
    assert.is_true(idl.equal(sy.mean, st.y_mean, 1e-12))
    assert.is_true(idl.equal(sy.scale, st.y_scale, 1e-12))
    -- the pass did not move the source: the next batch is the second one
    local second = data.select_rows(columns(whole, {1, 2, 4}), {10, 11, 12, 13, 14, 15, 16, 17, 18})
    assert.is_true(idl.equal(second, src:next(), 0))
    assert.are.equal(9, first:rows())
  end)

  it("stats stay accurate on a large offset (1e9 + unit noise), where a sum of squares would not", function()
    local g = idl.rng(11)
    local big = idl.randn(1000, 2, g) + 1e9
    local path = TMP .. "/offset.csv"
    idl.write_csv(path, big)
    local st = data.stream_csv(path, {batch_size = 64}):stats()
    -- two passes in exact arithmetic: deviations from the mean are small numbers
    local ref = data.Standardizer():fit(big)
    for j = 1, 2 do
      assert.is_true(math.abs(st.x_scale:get(1, j) - ref.scale:get(1, j)) < 1e-6 * ref.scale:get(1, j))
      assert.is_true(math.abs(st.x_mean:get(1, j) - ref.mean:get(1, j)) < 1e-6)
    end
    assert.is_nil(st.y_mean)
    -- a constant column gets scale 1, as in the Standardizer
    local const = write("const.csv", "5,1\n5,2\n5,3\n")
    local sc = data.stream_csv(const, {target = 2}):stats()
    assert.are.equal(1, sc.x_scale:get(1, 1))
    assert.are.equal(5, sc.x_mean:get(1, 1))
    assert.is_true(math.abs(sc.y_scale:get(1, 1) - math.sqrt(2 / 3)) < 1e-15)
  end)

  it("a malformed line deep in the file raises with its line number, after the good batches", function()
    local lines = {"a,b,c"}
    for i = 1, 5000 do lines[#lines + 1] = string.format("%d,%d,%d", i, -i, 2 * i) end
    local good = table.concat(lines, "\n") .. "\n"
    local bad_field = write("bad_field.csv", good .. "1,x2,3\n7,8,9\n")
    local src = data.stream_csv(bad_field, {target = "c", batch_size = 1000})
    for _ = 1, 5 do assert.are.equal(1000, src:next():rows()) end
    local msg = err_of(src.next, src)
    local where = bad_field .. ":5002: column 2: not a number"
    assert.truthy(msg:find("idl.data.CSVSource:next: " .. where, 1, true), msg)
    -- it stays failed until reset, then reads from the start
    msg = err_of(src.next, src)
    assert.truthy(msg:find(":5002: column 2: not a number (src:reset() reads from the start", 1, true), msg)
    src:reset()
    assert.are.equal(1, src:next():get(1, 1))
    -- in the rows of another shard too (every shard checks the field count)
    local ragged = write("ragged.csv", good .. "1,2\n")
    local shard = data.stream_csv(ragged, {batch_size = 1000, shard = {1, 2}})
    assert.are.equal(1000, shard:next():rows())
    msg = err_of(drain, shard)
    assert.truthy(msg:find(ragged .. ":5002: column 2: expected 3 fields, found 2", 1, true), msg)
    -- stats report it as well
    msg = err_of(data.stream_csv(bad_field).stats, data.stream_csv(bad_field))
    assert.truthy(msg:find("idl.data.CSVSource:stats: " .. where, 1, true), msg)
    -- a NUL byte
    local nul = write("nul.csv", "1,2\n3,\0004\n")
    msg = err_of(drain, data.stream_csv(nul))
    assert.truthy(msg:find(nul .. ":2: line contains a NUL byte", 1, true), msg)
  end)

  it("reads lines longer than its first 1 MiB buffer", function()
    local row = {}
    for j = 1, 450000 do row[j] = tostring(j % 97) end
    local line = table.concat(row, ",")
    assert.is_true(#line > 1 << 20)
    local path = write("wide.csv", line .. "\n" .. line .. "\n")
    local X, y = drain(data.stream_csv(path, {target = "last", batch_size = 2}))
    assert.are.equal(2, X:rows())
    assert.are.equal(449999, X:cols())
    assert.is_true(idl.equal(idl.read_csv(path), X:hcat(y), 0))
  end)

  it("checks its arguments", function()
    local function msg_of(opts, path)
      return err_of(data.stream_csv, path or WITH_HEADER, opts)
    end
    assert.truthy(msg_of(nil, 3):find("idl.data.stream_csv: path must be a string, got 3", 1, true))
    assert.truthy(msg_of(nil, TMP .. "/missing.csv"):find(
      "idl.data.stream_csv: cannot read '" .. TMP .. "/missing.csv': No such file or directory", 1, true))
    assert.truthy(msg_of(nil, write("empty.csv", "\n\n")):find("empty.csv:2: file has no data", 1, true))
    assert.truthy(msg_of(nil, write("head.csv", "a,b\n")):find("head.csv:1: file has a header but no data", 1,
      true))
    assert.truthy(msg_of{target = "nope"}:find(
      'idl.data.stream_csv: target "nope" is not a column (columns: u, v, w, price)', 1, true))
    assert.truthy(msg_of{target = 5}:find(
      'idl.data.stream_csv: target (a column name, index or "last") must be <= 4, got 5', 1, true))
    assert.truthy(msg_of({target = "a"}, write("nohead.csv", "1,2\n")):find(
      'idl.data.stream_csv: target "a": the file has no header to find the name in', 1, true))
    assert.truthy(msg_of({target = 1}, write("one.csv", "1\n2\n")):find(
      "idl.data.stream_csv: the file has one column: no features are left beside the target", 1, true))
    assert.truthy(msg_of{batch_size = 0}:find("idl.data.stream_csv: batch_size must be >= 1, got 0", 1,
      true))
    assert.truthy(msg_of{shard = {2, 2}}:find(
      "idl.data.stream_csv: shard rank (shard[1]) must be <= 1, got 2", 1, true))
    assert.truthy(msg_of{shard = {0, 0}}:find(
      "idl.data.stream_csv: shard size (shard[2]) must be >= 1, got 0", 1, true))
    assert.truthy(msg_of{shard = 3}:find('idl.data.stream_csv: shard must be {rank, size} or "mpi", got 3', 1,
      true))
    assert.truthy(msg_of{delimiter = "ab"}:find("idl.data.stream_csv: delimiter must be one character", 1,
      true))
    assert.truthy(msg_of{header = "yes"}:find(
      'idl.data.stream_csv: header must be true, false or "auto", got "yes"', 1, true))
    assert.truthy(msg_of{tagret = 1}:find(
      "idl.data.stream_csv: unknown option 'tagret' in options (did you mean 'target'?)", 1, true))
    local src = data.stream_csv(WITH_HEADER)
    assert.truthy(err_of(src.stats, src, {distributed = 1}):find(
      "idl.data.CSVSource:stats: distributed must be a boolean, got 1", 1, true))
    src:close()
    assert.truthy(err_of(src.next, src):find("idl.data.CSVSource:next: the source is closed", 1, true))
    assert.truthy(err_of(src.next, {}):find("idl.data.CSVSource:next: self must be a CSVSource", 1, true))
  end)

  if MPIEXEC then
    -- Under mpirun: shard = "mpi" and stats{distributed = true}.
    for _, np in ipairs{2, 3} do
      describe("stream_csv under mpirun -np " .. np, function()
        it("each rank streams its shard and all get the statistics of the whole file", function()
          local out, err = os.tmpname(), os.tmpname()
          local child = SOURCE .. "/tests/lua/fixtures/stream_child.lua"
          local cmd = string.format("timeout 60 %s --oversubscribe -np %d %s %s %s >%s 2>%s",
            MPIEXEC, np, EXE, child, WITH_HEADER, out, err)
          local ok = os.execute(cmd)
          local stdout, stderr = read(out), read(err)
          os.remove(out)
          os.remove(err)
          assert.is_true(ok, stderr)
          local whole = idl.read_csv(WITH_HEADER)
          local sx = data.Standardizer():fit(columns(whole, {1, 2, 3}))
          local sy = data.Standardizer():fit(columns(whole, {4}))
          local got, shard_total = {}, 0
          for line in stdout:gmatch("[^\n]+") do
            local rank, key, rest = line:match("^(%d+) (%S+) (.*)$")
            local values = {}
            for v in rest:gmatch("%S+") do values[#values + 1] = tonumber(v) end
            got[key .. rank] = idl.from_table{values}
            if key == "shard_rows" then shard_total = shard_total + values[1] end
          end
          assert.are.equal(103, shard_total)
          for r = 0, np - 1 do
            assert.are.equal(103, got["rows" .. r]:get(1, 1))
            assert.is_true(idl.equal(sx.mean, got["x_mean" .. r], 1e-12))
            assert.is_true(idl.equal(sx.scale, got["x_scale" .. r], 1e-12))
            assert.is_true(idl.equal(sy.mean, got["y_mean" .. r], 1e-12))
            assert.is_true(idl.equal(sy.scale, got["y_scale" .. r], 1e-12))
            -- every rank holds the same numbers, bit for bit
            assert.is_true(idl.equal(got["x_scale0"], got["x_scale" .. r], 0))
          end
        end)
      end)
    end
  end

  teardown(function() os.execute("rm -rf '" .. TMP .. "'") end)
end)
