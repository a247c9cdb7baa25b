-- project_spec.lua: the projections keep their constraint, are idempotent,
-- leave points inside alone, and are optimal by an independent test
-- (bisection on the soft threshold, or the variational inequality).
local idl = require "idl"

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok)
  return (tostring(msg):gsub("^.-:%d+: ", ""))
end

-- Eigenvalues of a symmetric matrix by cyclic Jacobi rotations in plain Lua
-- (independent of LAPACK), ascending.
local function sym_eigs(m)
  local n, a = m:rows(), m:totable()
  for _ = 1, 100 do
    local off = 0
    for p = 1, n - 1 do for q = p + 1, n do off = off + a[p][q] ^ 2 end end
    if off < 1e-30 then break end
    for p = 1, n - 1 do
      for q = p + 1, n do
        if a[p][q] ~= 0 then
          local theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
          local t = (theta >= 0 and 1 or -1) / (math.abs(theta) + math.sqrt(theta * theta + 1))
          local c = 1 / math.sqrt(t * t + 1)
          local s = t * c
          for k = 1, n do
            local akp, akq = a[k][p], a[k][q]
            a[k][p], a[k][q] = c * akp - s * akq, s * akp + c * akq
          end
          for k = 1, n do
            local apk, aqk = a[p][k], a[q][k]
            a[p][k], a[q][k] = c * apk - s * aqk, s * apk + c * aqk
          end
        end
      end
    end
  end
  local w = {}
  for i = 1, n do w[i] = a[i][i] end
  table.sort(w)
  return w
end

local function dot(a, b) return a:hadamard(b):sum() end

-- <D - P, Q - P> (Frobenius).
local function vi(d, p, q) return dot(d - p, q - p) end

local function diag(v)
  local n = v:rows()
  local m = idl.zeros(n, n)
  for i = 1, n do m:set(i, i, v:get(i, 1)) end
  return m
end

local function sqrt_diag(v, power)
  local m = idl.zeros(v:rows(), v:rows())
  for i = 1, v:rows() do m:set(i, i, v:get(i, 1) ^ power) end
  return m
end

describe("idl.project_nonneg", function()
  it("zeroes the negative entries, in place or not", function()
    local x = idl.from_table{{-1, 2}, {0.5, -3}}
    local p = idl.project_nonneg(x)
    assert.is_true(idl.equal(p, idl.from_table{{0, 2}, {0.5, 0}}))
    assert.are.equal(-1, x:get(1, 1))
    assert.are.equal(x, idl.project_nonneg_(x))
    assert.is_true(idl.equal(x, p))
  end)
end)

describe("idl.project_inf", function()
  local rng = idl.rng(21)

  -- The soft threshold of row i by bisection (not the sort-based algorithm).
  local function bisect_threshold(d, i, kappa)
    local lo, hi = 0, 0
    for j = 1, d:cols() do hi = hi + math.abs(d:get(i, j)) end
    for _ = 1, 200 do
      local mid, s = (lo + hi) / 2, 0
      for j = 1, d:cols() do s = s + math.max(math.abs(d:get(i, j)) - mid, 0) end
      if s > kappa then lo = mid else hi = mid end
    end
    return (lo + hi) / 2
  end

  it("puts every row in the l1 ball by the exact soft threshold", function()
    for _, shape in ipairs{{6, 6}, {4, 9}, {8, 3}} do
      local d, kappa = idl.randn(shape[1], shape[2], rng), 0.9
      local p = idl.project_inf(d, kappa)
      assert.is_true(p:norm("inf") <= kappa + 1e-12)
      for i = 1, d:rows() do
        local t = bisect_threshold(d, i, kappa)
        for j = 1, d:cols() do
          local x = d:get(i, j)
          local ref = math.max(math.abs(x) - t, 0) * (x < 0 and -1 or 1)
          assert.is_true(math.abs(p:get(i, j) - ref) < 1e-12)
        end
      end
    end
  end)

  it("is idempotent and leaves rows inside untouched", function()
    local d = idl.randn(7, 7, rng)
    idl.scale(d:row(3), 0.01) -- row 3 now lies inside the ball
    local p = idl.project_inf(d, 0.5)
    for j = 1, 7 do assert.are.equal(d:get(3, j), p:get(3, j)) end
    assert.is_true(idl.equal(idl.project_inf(p, 0.5), p, 1e-15))
    local inside = p * 0.9
    assert.is_true(idl.equal(idl.project_inf(inside, 0.5), inside, 0))
    assert.is_true(idl.project_inf(d, 0):norm("max") == 0)
  end)

  it("has an in-place variant that returns its argument", function()
    local d = idl.randn(5, 5, rng)
    local p = idl.project_inf(d, 0.3)
    assert.is_false(idl.equal(d, p, 1e-3)) -- the copy left d alone
    assert.are.equal(d, idl.project_inf_(d, 0.3))
    assert.is_true(idl.equal(d, p, 0))
  end)
end)

describe("idl.project_spectral", function()
  local rng = idl.rng(22)

  it("clips the spectral norm and satisfies the variational inequality", function()
    for _, shape in ipairs{{6, 6}, {4, 7}, {8, 3}} do
      local d, radius = idl.randn(shape[1], shape[2], rng), 0.8
      local p = idl.project_spectral(d, radius)
      assert.is_true(p:norm(2) <= radius * (1 + 1e-12))
      assert.is_true(idl.equal(idl.project_spectral(p, radius), p, 1e-13))
      for k = 1, 30 do
        local q = idl.project_spectral(idl.randn(shape[1], shape[2], rng, 0, k % 3), radius)
        assert.is_true(vi(d, p, q) <= 1e-9)
      end
    end
  end)

  it("leaves a point inside unchanged, in place or not", function()
    local d = idl.randn(5, 5, rng)
    d = d * (0.5 / d:norm(2))
    assert.is_true(idl.equal(idl.project_spectral(d, 0.6), d, 0))
    local big = d * 4
    assert.are.equal(big, idl.project_spectral_(big, 0.6))
    assert.is_true(math.abs(big:norm(2) - 0.6) < 1e-12)
  end)
end)

describe("idl.project_lmi", function()
  local rng = idl.rng(23)
  local h = 6

  -- Lambda (+ A^T A) - (Lambda D + D^T Lambda), as in (2.4) and (2.5).
  local function lmi_matrix(d, lambda, a)
    local lam = diag(lambda)
    local m = lam - (lam * d + d:t() * lam)
    if a then m = m + a:t() * a end
    return m
  end

  -- <D - P, Q - P> in the metric of Lambda^(1/2): Xt = Lambda^(1/2) X Lambda^(-1/2).
  local function vi_lambda(d, p, q, lambda)
    local l, li = sqrt_diag(lambda, 0.5), sqrt_diag(lambda, -0.5)
    return vi(l * d * li, l * p * li, l * q * li)
  end

  local cases = {
    {"(2.4), constant lambda", function() return idl.full(h, 1, 0.7) end, false},
    {"(2.4), spread lambda", function() return idl.rand(h, 1, rng, 0.1, 3) end, false},
    {"(2.5), constant lambda", function() return idl.full(h, 1, 1.3) end, true},
    {"(2.5), spread lambda", function() return idl.rand(h, 1, rng, 0.1, 3) end, true},
  }

  for _, case in ipairs(cases) do
    it("lands in " .. case[1] .. " and is optimal in the lambda metric", function()
      for _ = 1, 3 do
        local lambda = case[2]()
        local a = case[3] and idl.randn(2, h, rng, 0, 0.7) or nil
        local d = idl.randn(h, h, rng)
        assert.is_true(sym_eigs(lmi_matrix(d, lambda, a))[1] < -1e-3) -- was outside
        local p = idl.project_lmi(d, lambda, a)
        assert.is_true(sym_eigs(lmi_matrix(p, lambda, a))[1] >= -1e-10)
        assert.is_true(idl.equal(idl.project_lmi(p, lambda, a), p, 1e-12))
        for k = 1, 25 do
          local q = idl.project_lmi(idl.randn(h, h, rng, 0, k % 4), lambda, a)
          assert.is_true(vi_lambda(d, p, q, lambda) <= 1e-9)
          if lambda:get(1, 1) == lambda:get(2, 1) then -- constant: plain Frobenius
            assert.is_true(vi(d, p, q) <= 1e-9)
          end
        end
        -- the skew part of Lambda^(1/2) D Lambda^(-1/2) is kept
        local l, li = sqrt_diag(lambda, 0.5), sqrt_diag(lambda, -0.5)
        local dt, pt = l * d * li, l * p * li
        assert.is_true(idl.equal(dt - dt:t(), pt - pt:t(), 1e-12))
      end
    end)
  end

  it("leaves a point inside unchanged and works in place", function()
    local lambda = idl.rand(h, 1, rng, 0.5, 2)
    local d = idl.eye(h) * 0.2 + idl.randn(h, h, rng, 0, 0.01)
    assert.is_true(idl.equal(idl.project_lmi(d, lambda), d, 0))
    local big = idl.randn(h, h, rng) * 3
    local p = idl.project_lmi(big, lambda)
    assert.are.equal(big, idl.project_lmi_(big, lambda))
    assert.is_true(idl.equal(big, p, 0))
  end)

  it("implies well-posedness on the example of the report (D = delta I)", function()
    local lambda = idl.ones(h, 1)
    local p = idl.project_lmi(idl.eye(h) * 0.9, lambda)
    assert.is_true(idl.equal(p, idl.eye(h) * 0.5, 1e-14))
  end)
end)

describe("bad input", function()
  local d = idl.randn(3, 3, idl.rng(1))

  it("rejects negative or non-numeric radii", function()
    assert.are.equal("idl.project_inf: kappa must be non-negative, got -1",
      err_of(idl.project_inf, d, -1))
    assert.are.equal("idl.project_inf_: kappa must be non-negative, got -0.5",
      err_of(idl.project_inf_, d, -0.5))
    assert.are.equal("idl.project_spectral: radius must be non-negative, got -2",
      err_of(idl.project_spectral, d, -2))
    assert.are.equal("idl.project_spectral: radius must be a number, got string",
      err_of(idl.project_spectral, d, "1"))
    assert.are.equal("idl.project_inf: D must be a matrix, got number",
      err_of(idl.project_inf, 1, 1))
  end)

  it("project_lmi checks lambda > 0 and the shapes", function()
    local lambda = idl.from_table{1, 0, 2}
    assert.are.equal("idl.project_lmi: lambda must be strictly positive, lambda[2] = 0",
      err_of(idl.project_lmi, d, lambda))
    assert.are.equal("idl.project_lmi_: lambda must be strictly positive, lambda[1] = -1",
      err_of(idl.project_lmi_, d, idl.from_table{-1, 1, 1}))
    assert.are.equal("idl.project_lmi: lambda must be finite, lambda[3] = inf",
      err_of(idl.project_lmi, d, idl.from_table{1, 1, math.huge}))
    assert.are.equal("idl.project_lmi: D is 3x4, expected a square matrix",
      err_of(idl.project_lmi, idl.zeros(3, 4), idl.ones(3, 1)))
    assert.are.equal("idl.project_lmi: lambda is 2x1, expected 3x1",
      err_of(idl.project_lmi, d, idl.ones(2, 1)))
    assert.are.equal("idl.project_lmi: A is 2x4, expected 2x3",
      err_of(idl.project_lmi, d, idl.ones(3, 1), idl.zeros(2, 4)))
  end)

  it("reports non-finite entries", function()
    local bad = d:copy():set(2, 2, 0 / 0)
    assert.are.equal("idl.project_spectral: D has NaN or infinite entries",
      err_of(idl.project_spectral, bad, 1))
    assert.are.equal("idl.project_inf: D has NaN or infinite entries", err_of(idl.project_inf, bad, 1))
  end)
end)
