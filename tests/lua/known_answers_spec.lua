-- known_answers_spec.lua: small known-answer checks of code that a plausible
-- one-line bug would leave green elsewhere. Each reference comes from
-- mathematics or from an independent computation written here (the FNV-1a
-- hash, Adam and SGD by hand), never from the program's own output.
-- tests/mutation/mutations.lua lists the mutations (planted bugs) they kill.
local idl = require "idl"
local data = require "idl.data"
local model = require "idl.model"
local optim = require "idl.optim"

local function err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(err)
end

local function write_file(path, text)
  local f = assert(io.open(path, "wb"))
  assert(f:write(text))
  assert(f:close())
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  return text
end

describe("idl.lipschitz, X block", function()
  it("takes the largest ABSOLUTE eigenvalue of A^T A + Lambda - Lambda D - D^T Lambda", function()
    -- D = 0.9 I, A = 0, Lambda = I (h = 2), m = 4 samples: the matrix is
    -- -0.8 I, whose spectral norm is 0.8 (its largest signed eigenvalue is
    -- -0.8); ||D||_2^2 = 0.81. So x = (0.8 + 1 * 0.81) / 4 = 0.4025; the signed
    -- eigenvalue would give (-0.8 + 0.81) / 4 = 0.0025, a 160 times too long step.
    local h, n = 2, 1 -- and m = 4 samples
    local theta = {A = idl.zeros(1, h), B = idl.zeros(1, n), c = idl.zeros(1, 1),
      D = idl.eye(h) * 0.9, E = idl.ones(h, n), f = idl.zeros(h, 1)}
    local X = idl.from_table{{1, 0, 2, 1}, {0, 1, 1, 3}}
    local U = idl.from_table{{1, 2, 3, 4}}
    local lc = idl.lipschitz(theta, X, U, idl.ones(h, 1))
    assert.is_near(0.4025, lc.x, 1e-14)
  end)

  it("adds A^T A to the matrix whose norm it takes", function()
    -- A = [2 0] (h = 2), D = 0, Lambda = I: A^T A + I = diag(5, 1), norm 5; m = 2
    local theta = {A = idl.from_table{{2, 0}}, B = idl.zeros(1, 1), c = idl.zeros(1, 1),
      D = idl.zeros(2, 2), E = idl.ones(2, 1), f = idl.zeros(2, 1)}
    local lc = idl.lipschitz(theta, idl.ones(2, 2), idl.ones(1, 2), idl.ones(2, 1))
    assert.is_near(2.5, lc.x, 1e-14)
  end)
end)

-- Adam with decoupled weight decay, written from Kingma and Ba (2015) and
-- Loshchilov and Hutter (2019): p <- p - lr mhat / (sqrt(vhat) + eps) - lr wd p.
local function adam_by_hand(p, grads, lr, wd)
  local b1, b2, eps = 0.9, 0.999, 1e-8
  local m, v = 0, 0
  for t, g in ipairs(grads) do
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    local mhat, vhat = m / (1 - b1 ^ t), v / (1 - b2 ^ t)
    p = p - lr * mhat / (math.sqrt(vhat) + eps) - lr * wd * p
  end
  return p
end

describe("weight decay", function()
  local p0 = {2.0, -3.0, 0.5}
  local grads = {{0.3, -1.2, 0.0}, {-0.1, 0.4, 2.0}, {0.2, 0.2, -0.7}}
  local function params() return {w = idl.from_table{{p0[1], p0[2], p0[3]}}} end
  local function feval_of(step)
    return function()
      local g = grads[step[1]]
      return 0, {w = idl.from_table{{g[1], g[2], g[3]}}}
    end
  end

  it("of Adam shrinks the parameters by lr * weight_decay * p on each step (hand computation)", function()
    local lr, wd = 0.05, 0.3
    local ps, st, step = params(), {}, {0}
    for k = 1, #grads do
      step[1] = k
      optim.adam(feval_of(step), ps, {learning_rate = lr, weight_decay = wd}, st)
    end
    for j = 1, 3 do
      local seq = {}
      for k = 1, #grads do seq[k] = grads[k][j] end
      assert.is_near(adam_by_hand(p0[j], seq, lr, wd), ps.w:get(1, j), 1e-13)
    end
    -- with a zero gradient only the decay acts: p (1 - lr wd), towards zero
    local z = {w = idl.from_table{{2.0, -3.0}}}
    optim.adam(function() return 0, {w = idl.zeros(1, 2)} end, z, {learning_rate = lr, weight_decay = wd}, {})
    assert.is_near(2.0 * (1 - lr * wd), z.w:get(1, 1), 1e-15)
    assert.is_near(-3.0 * (1 - lr * wd), z.w:get(1, 2), 1e-15)
  end)

  it("scales multiply the learning rate of their block only (SGD and Adam)", function()
    local ps = {a = idl.from_table{{1}}, b = idl.from_table{{1}}}
    local feval = function() return 0, {a = idl.from_table{{2}}, b = idl.from_table{{2}}} end
    optim.sgd(feval, ps, {learning_rate = 0.1, scales = {a = 0.5}}, {})
    assert.is_near(1 - 0.1 * 0.5 * 2, ps.a:get(1, 1), 1e-15)
    assert.is_near(1 - 0.1 * 2, ps.b:get(1, 1), 1e-15)
    ps = {a = idl.from_table{{1}}, b = idl.from_table{{1}}}
    optim.adam(feval, ps, {learning_rate = 0.1, scales = {a = 0.5}}, {})
    assert.is_near(adam_by_hand(1, {2}, 0.05, 0), ps.a:get(1, 1), 1e-15)
    assert.is_near(adam_by_hand(1, {2}, 0.1, 0), ps.b:get(1, 1), 1e-15)
  end)

  it("of SGD adds weight_decay * p to the gradient (hand computation)", function()
    local lr, wd = 0.1, 0.25
    local ps, st, step = params(), {}, {0}
    local want = {p0[1], p0[2], p0[3]}
    for k = 1, #grads do
      step[1] = k
      optim.sgd(feval_of(step), ps, {learning_rate = lr, weight_decay = wd}, st)
      for j = 1, 3 do want[j] = want[j] - lr * (grads[k][j] + wd * want[j]) end
    end
    for j = 1, 3 do assert.is_near(want[j], ps.w:get(1, j), 1e-14) end
    local z = {w = idl.from_table{{2.0, -3.0}}}
    optim.sgd(function() return 0, {w = idl.zeros(1, 2)} end, z, {learning_rate = lr, weight_decay = wd}, {})
    assert.is_near(2.0 * (1 - lr * wd), z.w:get(1, 1), 1e-15)
    assert.is_near(-3.0 * (1 - lr * wd), z.w:get(1, 2), 1e-15)
  end)
end)

local fnv1a32 = dofile((os.getenv("IDL_SOURCE_DIR") or ".") .. "/tests/lua/support.lua").fnv1a32

-- A model whose file is larger than 8 KiB (several 4 KiB stretches).
local function big_model()
  local g = idl.rng(5)
  local h = 24
  local theta = {A = idl.randn(2, h, g), B = idl.randn(2, 3, g), c = idl.randn(2, 1, g),
    D = idl.randn(h, h, g, 0, 0.1), E = idl.randn(h, 3, g), f = idl.randn(h, 1, g)}
  idl.project_inf_(theta.D, 0.5)
  return model.new{theta = theta}
end

describe("the model file checksum", function()
  it("the test's FNV-1a agrees with the published test vectors", function()
    assert.are.equal("811c9dc5", fnv1a32(""))
    assert.are.equal("e40c292c", fnv1a32("a"))
    assert.are.equal("bf9cf968", fnv1a32("foobar"))
  end)

  it("is the FNV-1a hash of every byte before the end line (file over 8 KiB)", function()
    local text = model.serialize(big_model())
    assert.is_true(#text > 8192, "file of " .. #text .. " bytes")
    local body, sum = text:match("^(.*\n)end (%x+)\n$")
    assert.is_string(body, "no end line")
    assert.are.equal(fnv1a32(body), sum)
  end)

  it("refuses a file with any one byte changed, at every 4 KiB boundary and both ends", function()
    local path = os.tmpname()
    big_model():save(path)
    local text = read_file(path)
    local body_end = #text:match("^(.*\n)end %x+\n$") -- the body's last byte is its final newline
    local first_line = #text:match("^[^\n]*\n")
    local positions = {first_line + 1, first_line + 2, body_end - 1}
    for b = 4096, body_end - 2, 4096 do
      for d = -2, 2 do positions[#positions + 1] = b + d end
    end
    assert.is_true(#positions >= 13, "the file spans at least two 4 KiB boundaries")
    for _, pos in ipairs(positions) do
      if pos > first_line and pos < body_end then
        local c = text:byte(pos)
        local other = c == 48 and "1" or "0"
        write_file(path, text:sub(1, pos - 1) .. other .. text:sub(pos + 1))
        assert.matches("corrupted file %(checksum mismatch%)$", err_of(idl.load, path),
          "byte " .. pos .. " changed")
      end
    end
    write_file(path, text)
    assert.is_true(idl.load(path).theta.D:rows() == 24)
    os.remove(path)
  end)
end)

describe("idl.implicit_backward", function()
  it("masks with 1[Z > 0]: a unit at exactly Z = 0 passes no gradient", function()
    -- D = 0: V = Phi G with Phi = diag(1[Z > 0]), column by column; zeros in
    -- rows 1 and 2 (the kernel's two-wide SIMD lanes) and in row 3 (its scalar tail)
    local Z = idl.from_table{{1, 0}, {0, -2}, {0, 3}}
    local G = idl.from_table{{5, 6}, {7, 8}, {9, 10}}
    local V = idl.implicit_backward(idl.zeros(3, 3), Z, G, {tol = 1e-14})
    assert.same({{5, 0}, {0, 0}, {0, 10}}, V:totable())
  end)
end)

describe("the model file's numbers", function()
  it("read back exactly: matrix entries, kappa, meta numbers and list entries", function()
    local g = idl.rng(9)
    local theta = {A = idl.randn(1, 2, g), B = idl.randn(1, 1, g), c = idl.full(1, 1, 1 / 3),
      D = idl.zeros(2, 2), E = idl.randn(2, 1, g), f = idl.full(2, 1, -0.0)}
    local kappa = 0.1 + 0.2 -- 0.30000000000000004: 17 significant digits needed
    local m = model.new{theta = theta, constraint = {kind = "inf", kappa = kappa},
      meta = {third = 1 / 3, tiny = 5e-324, list = {2 / 3, math.pi}}}
    local back = model.parse(model.serialize(m))
    for _, k in ipairs{"A", "B", "c", "D", "E", "f"} do
      assert.is_true(idl.equal(theta[k], back.theta[k], 0), "theta." .. k)
    end
    assert.are.equal(kappa, back.constraint.kappa)
    assert.are.equal(1 / 3, back.meta.third)
    assert.are.equal(5e-324, back.meta.tiny)
    assert.same({2 / 3, math.pi}, back.meta.list)
    assert.are.equal(-math.huge, 1 / back.theta.f:get(1, 1)) -- -0 stays -0
  end)
end)

describe("data.row_scaler and data.Standardizer", function()
  it("give the mean and the POPULATION standard deviation (1 for a constant row)", function()
    -- rows: 1..4 (mean 2.5, population variance 1.25), constant 7
    local M = idl.from_table{{1, 2, 3, 4}, {7, 7, 7, 7}}
    local mean, scale = data.row_scaler(M)
    assert.same({{2.5}, {7}}, mean:totable())
    assert.is_near(math.sqrt(1.25), scale:get(1, 1), 1e-15)
    assert.are.equal(1, scale:get(2, 1))
    local st = data.Standardizer()
    st:fit(M:t())
    assert.same({{2.5, 7}}, st.mean:totable())
    assert.is_near(math.sqrt(1.25), st.scale:get(1, 1), 1e-15)
    assert.are.equal(1, st.scale:get(1, 2))
    local Z = st:transform(M:t())
    assert.is_near(-1.5 / math.sqrt(1.25), Z:get(1, 1), 1e-15)
    assert.are.equal(0, Z:get(3, 2))
  end)
end)

describe("rng:permutation", function()
  it("is uniform enough to leave elements in place (Sattolo's cycles never do)", function()
    -- a uniform permutation of 5 has a fixed point with probability 1 - 1/e +
    -- O(1/5!) ~ 0.63: about 127 of 200, with a standard deviation of 7
    local g, with_fixed, first = idl.rng(4), 0, {0, 0, 0, 0, 0}
    for _ = 1, 200 do
      local p = g:permutation(5)
      local fixed = false
      for i = 1, 5 do if p[i] == i then fixed = true end end
      if fixed then with_fixed = with_fixed + 1 end
      first[p[1]] = first[p[1]] + 1
    end
    assert.is_true(with_fixed > 90 and with_fixed < 160, with_fixed .. " of 200 with a fixed point")
    for v = 1, 5 do
      assert.is_true(first[v] > 15, "value " .. v .. " comes first " .. first[v] .. " times of 200")
    end
  end)
end)

describe("data.train_test_split", function()
  it("shuffles by default: the test rows are not the last rows", function()
    local m = 40
    local X = idl.zeros(m, 1)
    for i = 1, m do X:set(i, 1, i) end
    local Xtr, Xte = data.train_test_split(X, nil, {test_size = 10})
    assert.are.equal(30, Xtr:rows()); assert.are.equal(10, Xte:rows())
    local seen, last_ten = {}, 0
    for i = 1, 10 do
      local v = Xte:get(i, 1)
      seen[v] = true
      if v > 30 then last_ten = last_ten + 1 end
    end
    for i = 1, 30 do seen[Xtr:get(i, 1)] = true end
    for i = 1, m do assert.is_true(seen[i], "row " .. i .. " is lost") end
    -- 10 rows drawn at random fall all into the last 10 with probability 1 / C(40, 10)
    assert.is_true(last_ten < 10, "the test set is the last 10 rows: not shuffled")
    local _, Xte2 = data.train_test_split(X, nil, {test_size = 10, shuffle = false})
    for i = 1, 10 do assert.are.equal(30 + i, Xte2:get(i, 1)) end
  end)
end)

describe("idl.read_csv known answers", function()
  local path
  before_each(function() path = os.tmpname() end)
  after_each(function() os.remove(path) end)

  it("trims blanks (spaces, tabs) around numbers, leading and trailing", function()
    write_file(path, "a,b\n1.5 ,2\t\n \t3,  4.25  \n-1e-3\t, 7\n")
    local M, names = idl.read_csv(path)
    assert.same({"a", "b"}, names)
    assert.are.equal(3, M:rows())
    assert.same({{1.5, 2}, {3, 4.25}, {-1e-3, 7}}, M:totable())
  end)

  it("skips blank and whitespace-only lines, ends lines at \\r\\n, refuses a blank field", function()
    write_file(path, "1,2\r\n\r\n   \n\t\n3,4\r\n")
    assert.same({{1, 2}, {3, 4}}, idl.read_csv(path, {header = false}):totable())
    write_file(path, "1,2,3\n4,,6\n")
    assert.matches("read_csv: .*:2: column 2: not a number", err_of(idl.read_csv, path))
    write_file(path, "1,2,3\n4, \t,6\n")
    assert.matches("read_csv: .*:2: column 2: not a number", err_of(idl.read_csv, path))
  end)

  -- engine/core/csv.c reads the file into a buffer of 1 << 16 bytes first,
  -- doubling it while the file fills it (the last byte is kept for the NUL).
  it("reads files around and beyond the 64 KiB read buffer exactly", function()
    for _, size in ipairs{65535, 65536, 65537, 3 * 65536 + 17} do
      -- a whitespace-only first line pads the file to size bytes, so the rows
      -- "i,i/8" cross the buffer's boundaries and the last one ends the file
      local rows, len, i = {}, 0, 0
      while true do
        local row = string.format("%d,%.3f\n", i + 1, (i + 1) / 8)
        if len + #row > size - 2 then break end
        i = i + 1
        rows[i] = row
        len = len + #row
      end
      local text = string.rep(" ", size - len - 1) .. "\n" .. table.concat(rows)
      assert.are.equal(size, #text, "fixture size")
      write_file(path, text)
      local M = idl.read_csv(path, {header = false})
      assert.are.equal(i, M:rows(), "rows of a " .. size .. "-byte file")
      local wrong = 0
      for r = 1, i do
        if M:get(r, 1) ~= r or M:get(r, 2) ~= r / 8 then wrong = wrong + 1 end
      end
      assert.are.equal(0, wrong, "rows read wrong in a " .. size .. "-byte file")
    end
  end)
end)
