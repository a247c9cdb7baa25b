-- The matrix API: constructors, methods, operators, kernels and their errors.
local idl = require "idl"

-- Reference product by the textbook loop over Lua tables.
local function naive_mul(a, b)
  local r = {}
  for i = 1, #a do
    r[i] = {}
    for j = 1, #b[1] do
      local s = 0
      for k = 1, #b do s = s + a[i][k] * b[k][j] end
      r[i][j] = s
    end
  end
  return r
end

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok)
  return msg
end

describe("constructors", function()
  it("zeros, ones, full, eye have the right shape and contents", function()
    local z, o, f, e = idl.zeros(2, 3), idl.ones(3, 1), idl.full(2, 2, 7), idl.eye(3)
    assert.same({2, 3}, {z:size()})
    assert.same({{0, 0, 0}, {0, 0, 0}}, z:totable())
    assert.same({{1}, {1}, {1}}, o:totable())
    assert.same({{7, 7}, {7, 7}}, f:totable())
    assert.same({{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, e:totable())
    assert.same({{1, 0, 0}, {0, 1, 0}}, idl.eye(2, 3):totable())
    assert.same({0, 0}, {idl.zeros(0, 0):size()})
  end)

  it("from_table reads rows as written and round-trips through totable", function()
    local t = {{1, 2, 3}, {4, 5, 6}}
    local m = idl.from_table(t)
    assert.equal(2, m:rows())
    assert.equal(3, m:cols())
    assert.equal(6, m:get(2, 3))
    assert.same(t, m:totable())
    assert.same({{1}, {2}}, idl.from_table{1, 2}:totable())
  end)

  it("rand and randn are reproducible from the seed and differ across seeds", function()
    local a = idl.randn(20, 30, idl.rng(5))
    local b = idl.randn(20, 30, idl.rng(5))
    local c = idl.randn(20, 30, idl.rng(6))
    assert.is_true(idl.equal(a, b, 0))
    assert.is_false(idl.equal(a, c, 0.1))
    local u = idl.rand(100, 100, idl.rng(1))
    local lo, hi = math.huge, -math.huge
    for i = 1, 100 do for j = 1, 100 do
      local v = u:get(i, j); lo = math.min(lo, v); hi = math.max(hi, v)
    end end
    assert.is_true(lo >= 0 and hi < 1)
    assert.near(0.5, u:sum() / 1e4, 0.02)
    assert.near(0, idl.randn(100, 100, idl.rng(2)):sum() / 1e4, 0.05)
  end)

  it("rejects bad sizes and tables with clear messages", function()
    assert.matches("zeros: rows must be a non%-negative integer, got %-1", err_of(idl.zeros, -1, 2))
    assert.matches("ones: cols must be a non%-negative integer, got 1.5", err_of(idl.ones, 1, 1.5))
    assert.matches("zeros: rows must be a non%-negative integer, got string", err_of(idl.zeros, "a", 2))
    assert.matches("from_table: row 2 has 1 entries, row 1 has 2", err_of(idl.from_table, {{1, 2}, {3}}))
    assert.matches("from_table: entry %(1, 2%) must be a number, got string",
      err_of(idl.from_table, {{1, "x"}}))
    assert.matches("from_table: expected a table of rows, got number", err_of(idl.from_table, 3))
    assert.matches("randn: a generator from idl.rng%(seed%) is required, got no value",
      err_of(idl.randn, 2, 2))
  end)
end)

describe("methods", function()
  local m = idl.from_table{{1, -2, 3}, {-4, 5, -6}}

  it("get and set use 1-based indices and check them", function()
    local c = m:copy()
    c:set(2, 3, 10)
    assert.equal(10, c:get(2, 3))
    assert.equal(-6, m:get(2, 3)) -- copy is independent
    local v = idl.zeros(3, 1)
    v:set(2, 4)
    assert.equal(4, v:get(2))
    assert.matches("get: row index must be in %[1, 2%], got 3", err_of(m.get, m, 3, 1))
    assert.matches("get: column index must be in %[1, 3%], got 0", err_of(m.get, m, 1, 0))
    assert.matches("set: value must be a number, got string", err_of(c.set, c, 1, 1, "x"))
    assert.matches("get: a single index needs a vector, matrix is 2x3", err_of(m.get, m, 1))
    assert.matches("get: self must be a matrix, got number", err_of(m.get, 5, 1, 1))
  end)

  it("t, sum, relu, hadamard compute what they say", function()
    assert.same({{1, -4}, {-2, 5}, {3, -6}}, m:t():totable())
    assert.equal(-3, m:sum())
    assert.same({{-3, 3, -3}}, m:sum(1):totable())
    assert.same({{2}, {-5}}, m:sum(2):totable())
    assert.same({{1, 0, 3}, {0, 5, 0}}, m:relu():totable())
    assert.same({{1, 4, 9}, {16, 25, 36}}, m:hadamard(m):totable())
    assert.matches("sum: dim must be in %[1, 2%], got 3", err_of(m.sum, m, 3))
    assert.matches("hadamard: A is 2x3, B is 3x2", err_of(m.hadamard, m, m:t()))
  end)

  it("norms agree with independent computations", function()
    assert.near(math.sqrt(91), m:norm(), 1e-14)
    assert.near(math.sqrt(91), m:norm("fro"), 1e-14)
    assert.equal(9, m:norm("1"))
    assert.equal(15, m:norm("inf"))
    assert.equal(6, m:norm("max"))
    -- ||M||_2^2 is the top eigenvalue of M M^T = [14 -32; -32 77].
    local tr, det = 14 + 77, 14 * 77 - 32 * 32
    assert.near(math.sqrt(tr / 2 + math.sqrt(tr * tr / 4 - det)), m:norm(2), 1e-12)
    assert.matches('norm: kind must be "fro", "1", "inf", "2" or "max", got nuc', err_of(m.norm, m, "nuc"))
  end)

  it("sub gives a view that writes through and keeps its parent alive", function()
    local p = idl.zeros(4, 5)
    local v = p:sub(2, 3, 2, 4)
    assert.same({2, 3}, {v:size()})
    assert.is_true(v:is_view())
    v:set(1, 1, 9)
    assert.equal(9, p:get(2, 2))
    local w = idl.from_table{{1, 2}, {3, 4}}:sub(2, 2, 1, 2) -- parent only reachable through w
    collectgarbage(); collectgarbage()
    assert.same({{3, 4}}, w:totable())
    local q = idl.from_table{{1, 2}, {3, 4}}
    assert.same({{2}, {4}}, q:col(2):totable())
    assert.same({{3, 4}}, q:row(2):totable())
    assert.same({{4}}, q:col(2):sub(2, 2, 1, 1):totable())
    assert.matches("sub: i2 must be in %[1, 4%], got 5", err_of(p.sub, p, 2, 5, 1, 1))
  end)

  it("concatenates horizontally and vertically", function()
    local a, b = idl.from_table{{1}, {2}}, idl.from_table{{3, 4}, {5, 6}}
    assert.same({{1, 3, 4}, {2, 5, 6}}, idl.hcat(a, b):totable())
    assert.same({{3, 4}, {5, 6}, {1, 2}}, b:vcat(a:t()):totable())
    assert.matches("vcat: argument 2 is 2x1, argument 1 is 2x2", err_of(idl.vcat, b, a))
  end)

  it("select_cols gathers columns by index", function()
    assert.same({{-2, 1, -2}, {5, -4, 5}}, m:select_cols{2, 1, 2}:totable())
    assert.matches("select_cols: column index must be in %[1, 3%], got 4", err_of(m.select_cols, m, {4}))
  end)
end)

describe("operators", function()
  local a = idl.from_table{{1, 2}, {3, 4}, {5, 6}}
  local b = idl.from_table{{1, 0, -1, 2}, {2, 1, 0, -3}}

  it("* is the matrix product, checked against a naive loop", function()
    local r = idl.randn(7, 5, idl.rng(3))
    local s = idl.randn(5, 4, idl.rng(4))
    assert.is_true(idl.equal(r * s, idl.from_table(naive_mul(r:totable(), s:totable())), 1e-12))
    assert.same(naive_mul(a:totable(), b:totable()), (a * b):totable())
    assert.matches("matrix * (matmul): A is 3x2, B is 3x2", err_of(function() return a * a end), 1, true)
  end)

  it("scales, adds, subtracts with numbers on either side", function()
    assert.same({{2, 4}, {6, 8}, {10, 12}}, (2 * a):totable())
    assert.same({{2, 4}, {6, 8}, {10, 12}}, (a * 2):totable())
    assert.same({{2, 3}, {4, 5}, {6, 7}}, (a + 1):totable())
    assert.same({{0, -1}, {-2, -3}, {-4, -5}}, (1 - a):totable())
    assert.same({{0, 0}, {0, 0}, {0, 0}}, (a - a):totable())
    assert.same({{0.5, 1}, {1.5, 2}, {2.5, 3}}, (a / 2):totable())
    assert.same({{-1, -2}, {-3, -4}, {-5, -6}}, (-a):totable())
    assert.matches("matrix + (add): A is 3x2, B is 2x4", err_of(function() return a + b end), 1, true)
    assert.matches("matrix / (divide): only matrix / number is defined",
      err_of(function() return 2 / a end), 1, true)
  end)

  it("prints small matrices whole and summarizes large ones", function()
    local s = tostring(a)
    assert.matches("1%s+2\n", s)
    assert.matches("%[idl.matrix 3x2%]$", s)
    local big = tostring(idl.zeros(1000, 2000))
    assert.matches("%.%.%.", big)
    assert.matches("%[idl.matrix 1000x2000%]$", big)
    local lines = 0
    for _ in big:gmatch("\n") do lines = lines + 1 end
    assert.is_true(lines <= 12)
  end)

  it("prints NaN as nan whatever its sign bit, and infinities as inf", function()
    local m = idl.zeros(2, 2)
    m:set(1, 1, 0 / 0)
    m:set(1, 2, -(0 / 0))
    m:set(2, 1, 1 / 0)
    m:set(2, 2, 0.5)
    local s = tostring(m)
    assert.is_nil(s:find("-nan", 1, true))
    assert.same({"nan", "nan", "inf", "0.5000"}, {s:match("^%s*(%S+)%s+(%S+)\n%s*(%S+)%s+(%S+)\n")})
  end)

  it("m[i] is a view of row i, #m the number of rows", function()
    assert.equal(3, #a)
    assert.equal(0, #idl.zeros(0, 4))
    local r = a[2]
    assert.same({{3, 4}}, r:totable())
    assert.is_true(r:is_view())
    local c = a:copy()
    c[3]:set(1, 2, -1)
    assert.same({{1, 2}, {3, 4}, {5, -1}}, c:totable())
    assert.equal(2, a[1.0]:get(1, 2))
    assert.equal("function", type(a.norm))
    assert.is_nil(a.no_such_method)
    assert.matches("m%[i%]: row index must be in %[1, 3%], got 0", err_of(function() return a[0] end))
    assert.matches("m%[i%]: row index must be in %[1, 3%], got 4", err_of(function() return a[4] end))
    assert.matches("m%[i%]: row index must be an integer, got 1.5", err_of(function() return a[1.5] end))
  end)

  it("== compares shapes and every element exactly", function()
    local c = a:copy()
    assert.is_true(a == c)
    assert.is_true(a[2] == idl.from_table{{3, 4}})
    c:set(3, 2, 6 + 2 ^ -50)
    assert.is_false(a == c)
    assert.is_true(a ~= c)
    assert.is_false(a == a:t())
    assert.is_false(idl.zeros(2, 3) == idl.zeros(3, 2))
    assert.is_false(idl.ones(1, 1) == 1)
    assert.is_true(idl.full(2, 2, 1 / 0) == idl.full(2, 2, 1 / 0))
    assert.is_false(idl.full(2, 2, 0 / 0) == idl.full(2, 2, 0 / 0))
    assert.is_true(idl.zeros(0, 3) == idl.zeros(0, 3))
  end)
end)

describe("kernel tier", function()
  it("gemm writes alpha op(A) op(B) + beta C into C and returns C", function()
    local rng = idl.rng(9)
    local A, B, C = idl.randn(4, 3, rng), idl.randn(5, 4, rng), idl.randn(3, 5, rng)
    local expect = 0.5 * (A:t() * B:t()) + 2 * C
    local out = idl.gemm(C, A, B, 0.5, 2, true, true)
    assert.equal(C, out)
    assert.is_true(idl.equal(C, expect, 1e-12))
    assert.matches("gemm: C is 3x5, A is 4x3, B is 5x4", err_of(idl.gemm, C, A, B))
  end)

  it("axpy, copy, scale, fill, relu, hadamard, add_col work in place", function()
    local x = idl.from_table{{1, -2}, {3, -4}}
    local y = idl.ones(2, 2)
    idl.axpy(y, 2, x)
    assert.same({{3, -3}, {7, -7}}, y:totable())
    idl.copy(y, x)
    assert.same(x:totable(), y:totable())
    idl.scale(y, -1)
    assert.same({{-1, 2}, {-3, 4}}, y:totable())
    idl.relu(y)
    assert.same({{0, 2}, {0, 4}}, y:totable())
    -- y = {{0, 2}, {0, 4}}: keep x where y > 0 (y's zero entries drop x's)
    local g = idl.relu_grad(idl.zeros(2, 2), x, y)
    assert.same({{0, -2}, {0, -4}}, g:totable())
    assert.matches("relu_grad: src is 2x2, mask is 1x1", err_of(idl.relu_grad, g, x, idl.zeros(1, 1)))
    idl.hadamard(y, y, x)
    assert.same({{0, -4}, {0, -16}}, y:totable())
    idl.add_col(y, 1, idl.from_table{10, 20})
    assert.same({{10, 6}, {20, 4}}, y:totable())
    idl.fill(y, 3)
    assert.same({{3, 3}, {3, 3}}, y:totable())
    assert.matches("axpy: Y is 2x2, X is 1x1", err_of(idl.axpy, y, 1, idl.zeros(1, 1)))
    assert.matches("add_col: X is 2x2, v is 3x1", err_of(idl.add_col, y, 1, idl.zeros(3, 1)))
  end)
end)

describe("generators", function()
  it("permutation is a permutation and state restores the stream", function()
    local r = idl.rng(11)
    local p = r:permutation(100)
    local seen = {}
    for _, v in ipairs(p) do seen[v] = true end
    for i = 1, 100 do assert.is_true(seen[i]) end
    local s = r:state()
    local x = r:normal()
    r:set_state(s)
    assert.equal(x, r:normal())
    assert.matches("rng: seed must be in %[0, 4294967295%], got %-1", err_of(idl.rng, -1))
  end)
end)

describe("csv files", function()
  it("round-trip exactly with a header", function()
    local path = os.tmpname()
    local m = idl.randn(5, 3, idl.rng(1))
    idl.write_csv(path, m, {"a", "b", "c"})
    local back, names = idl.read_csv(path)
    assert.same({"a", "b", "c"}, names)
    assert.is_true(idl.equal(m, back, 0))
    os.remove(path)
  end)

  it("name the file, line and column of a malformed entry", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write("1,2\n3,oops\n")
    f:close()
    assert.matches("read_csv: .*:2: column 2: not a number", err_of(idl.read_csv, path))
    assert.matches("read_csv: cannot read '/no/such/file.csv'", err_of(idl.read_csv, "/no/such/file.csv"))
    assert.matches("read_csv: unknown option 'sep'", err_of(idl.read_csv, path, {sep = ";"}))
    os.remove(path)
  end)
end)

describe("the module", function()
  it("frees the dead results of a loop of large products promptly (at most one piles up)", function()
    -- under Lua's incremental collector (the idl executable's) each new matrix of 1 MB or more
    -- adds a collector step of its size (lidl_newmat); without it four dead results piled up here.
    -- Measured in a fresh idl process: how many results pile up depends on the live heap, and
    -- a test runner that has run other specs holds a large one.
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    assert(f:write([[
      local idl = require "idl"
      local rng = idl.rng(0)
      local A, B = idl.randn(200, 200, rng), idl.randn(200, 2000, rng)
      local C = A * B
      collectgarbage()
      local live, peak = collectgarbage("count"), 0
      for _ = 1, 30 do
        C = A * B
        peak = math.max(peak, collectgarbage("count"))
      end
      assert(C:rows() == 200)
      io.write(string.format("%.17g", (peak - live) / (200 * 2000 * 8 / 1024)))
    ]]))
    assert(f:close())
    local exe = os.getenv("IDL_EXE") or "build/bin/idl"
    local p = assert(io.popen(string.format("%q %q", exe, script)))
    local piled = tonumber(p:read("a"))
    p:close()
    os.remove(script)
    assert.is_not_nil(piled, "the child idl printed no figure")
    assert.is_true(piled <= 2.5, string.format("%.2f results above the live heap", piled))
  end)

  it("creates no globals", function()
    local before = {}
    for k in pairs(_G) do before[k] = true end
    package.loaded.idl = nil
    require "idl"
    for k in pairs(_G) do assert.is_true(before[k], "new global " .. tostring(k)) end
  end)
end)
