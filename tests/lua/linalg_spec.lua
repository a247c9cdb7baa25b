-- linalg_spec.lua: idl.lstsq and idl.solve against their defining equations.
local idl = require "idl"

-- max |A^T (A X - B) + ridge X| by plain Lua loops
local function normal_residual(a, b, x, ridge)
  local worst = 0
  for c = 1, b:cols() do
    for j = 1, a:cols() do
      local s = ridge * x:get(j, c)
      for i = 1, a:rows() do
        local r = -b:get(i, c)
        for l = 1, a:cols() do r = r + a:get(i, l) * x:get(l, c) end
        s = s + a:get(i, j) * r
      end
      worst = math.max(worst, math.abs(s))
    end
  end
  return worst
end

describe("idl.lstsq", function()
  local rng = idl.rng(1)
  local a = idl.randn(30, 4, rng)
  local b = idl.randn(30, 2, rng)

  it("satisfies the normal equations, plain and ridge", function()
    local x, rank = idl.lstsq(a, b)
    assert.are.equal(4, x:rows()); assert.are.equal(2, x:cols())
    assert.are.equal(4, rank)
    assert.is_true(normal_residual(a, b, x, 0) < 1e-12)
    local xr = idl.lstsq(a, b, 0.5)
    assert.is_true(normal_residual(a, b, xr, 0.5) < 1e-12)
  end)

  it("recovers the coefficients of a consistent system", function()
    local x0 = idl.from_table{{1, -2}, {0.5, 3}, {0, 1}, {-1, 0.25}}
    local x = idl.lstsq(a, a * x0)
    assert.is_true(idl.equal(x, x0, 1e-12))
  end)

  it("reports the rank of a deficient system and gives the minimum-norm answer", function()
    -- columns a1, a2, 0, a1: rank 2; nothing on the zero column, a1's weight split evenly
    local d = idl.hcat(a:sub(1, 30, 1, 2), idl.zeros(30, 1), a:sub(1, 30, 1, 1))
    local x, rank = idl.lstsq(d, b:col(1))
    assert.are.equal(2, rank)
    assert.is_true(normal_residual(d, b:col(1), x, 0) < 1e-12)
    assert.is_true(math.abs(x:get(3, 1)) < 1e-12)
    assert.is_true(math.abs(x:get(1, 1) - x:get(4, 1)) < 1e-12)
  end)

  it("does not modify its inputs", function()
    local a0, b0 = a:copy(), b:copy()
    idl.lstsq(a, b); idl.lstsq(a, b, 1)
    assert.is_true(idl.equal(a, a0) and idl.equal(b, b0))
  end)

  it("names bad arguments", function()
    assert.has_error(function() idl.lstsq(a, idl.zeros(3, 1)) end,
      "idl.lstsq: A is 30x4, B is 3x1 (want 30 rows)")
    assert.has_error(function() idl.lstsq(a, b, -1) end, "idl.lstsq: ridge must be >= 0, got -1")
    assert.has_error(function() idl.lstsq({}, b) end, "idl.lstsq: A must be a matrix, got table")
    local bad = b:copy(); bad:set(1, 1, 0 / 0)
    assert.has_error(function() idl.lstsq(a, bad) end, "idl.lstsq: B (30x2) has NaN or infinite entries")
    assert.has_error(function() idl.lstsq(idl.ones(5, 2), idl.ones(5, 1), 1e-300) end,
      "idl.lstsq: A^T A + ridge I (2x2) is not numerically positive definite: increase ridge")
  end)
end)

describe("idl.solve", function()
  it("solves a square system", function()
    local rng = idl.rng(2)
    local a = idl.randn(6, 6, rng) + idl.eye(6) * 5
    local b = idl.randn(6, 3, rng)
    local x = idl.solve(a, b)
    assert.is_true(idl.equal(a * x, b, 1e-12))
  end)

  it("names bad arguments", function()
    assert.has_error(function() idl.solve(idl.ones(2, 3), idl.ones(2, 1)) end,
      "idl.solve: A must be square, got 2x3")
    assert.has_error(function() idl.solve(idl.eye(2), idl.ones(3, 1)) end,
      "idl.solve: A is 2x2, B is 3x1 (want 2 rows)")
    assert.has_error(function() idl.solve(idl.ones(2, 2), idl.ones(2, 1)) end,
      "idl.solve: A (2x2) is singular")
  end)
end)
