-- idl.equilibrium, idl.implicit_backward and idl.wellposed: fixed-point
-- residuals, agreement of the methods, the theta form, option and shape
-- errors, and the implicit gradient against finite differences of the true loss.
local idl = require "idl"

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok)
  return msg
end

-- A random h x h D with every row rescaled to l1 norm kappa (||D||_inf = kappa).
local function random_d(h, kappa, nonneg, rng)
  local d = idl.randn(h, h, rng)
  for i = 1, h do
    local l1 = 0
    for j = 1, h do
      local v = d:get(i, j)
      if nonneg then v = math.abs(v); d:set(i, j, v) end
      l1 = l1 + math.abs(v)
    end
    for j = 1, h do d:set(i, j, d:get(i, j) * kappa / l1) end
  end
  return d
end

-- max|X - (D X + B0)_+| / max(max (B0)_+, max|X|), through the matrix operators.
local function residual(d, b0, x)
  return (x - (d * x + b0):relu()):norm("max") / math.max(b0:relu():norm("max"), x:norm("max"))
end

describe("idl.equilibrium", function()
  it("reaches tol on both families and reports the true residual of X", function()
    local rng = idl.rng(3)
    for _, nonneg in ipairs({false, true}) do
      for _, kappa in ipairs({0.5, 0.9, 0.99}) do
        local d, b0 = random_d(25, kappa, nonneg, rng), idl.randn(25, 12, rng)
        for _, method in ipairs({"picard", "anderson"}) do
          local x, info = idl.equilibrium(d, b0, {method = method, max_iter = 100000})
          assert.is_true(info.converged)
          assert.equal(method, info.method)
          assert.is_true(math.type(info.iterations) == "integer")
          local r = residual(d, b0, x)
          assert.is_true(r < 1e-10)
          assert.is_true(math.abs(r - info.residual) < 1e-14)
        end
      end
    end
  end)

  it("Picard and Anderson agree", function()
    local rng = idl.rng(4)
    local d, b0 = random_d(30, 0.95, true, rng), idl.randn(30, 10, rng)
    local xp = idl.equilibrium(d, b0, {tol = 1e-12, max_iter = 100000})
    local xa = idl.equilibrium(d, b0, {method = "anderson", memory = 3, tol = 1e-12})
    assert.is_true((xp - xa):norm("max") < 1e-8)
  end)

  it("solves h = 1 in closed form: x = max(b / (1 - d), 0)", function()
    local b = idl.from_table({{2, -1, 0.5}})
    local x = idl.equilibrium(idl.from_table({{0.75}}), b, {tol = 1e-14})
    for j, want in ipairs({8, 0, 2}) do
      assert.is_true(math.abs(x:get(1, j) - want) < 1e-11)
    end
  end)

  it("takes theta and U with B0 = E U + f 1^T", function()
    local rng = idl.rng(5)
    local h, n, m = 8, 3, 6
    local theta = {D = random_d(h, 0.7, false, rng), E = idl.randn(h, n, rng),
                   f = idl.randn(h, 1, rng)}
    local u = idl.randn(n, m, rng)
    local x1 = idl.equilibrium(theta, u)
    local x2 = idl.equilibrium(theta.D, theta.E * u + theta.f * idl.ones(1, m))
    assert.is_true((x1 - x2):norm("max") < 1e-14)
  end)

  it("copies x0 and never changes it; a start at the solution needs at most one step", function()
    local rng = idl.rng(6)
    local d, b0 = random_d(10, 0.9, true, rng), idl.randn(10, 4, rng)
    local xs = idl.equilibrium(d, b0, {tol = 1e-14, max_iter = 100000})
    local x0 = xs:copy()
    for _, method in ipairs({"picard", "anderson"}) do
      local x, info = idl.equilibrium(d, b0, {x0 = x0, method = method})
      assert.is_true(info.iterations <= 1)
      assert.is_true(idl.equal(x0, xs, 0))
      assert.is_false(rawequal(x, x0))
    end
    local start = idl.full(10, 4, 3)
    idl.equilibrium(d, b0, {x0 = start})
    assert.is_true(idl.equal(start, idl.full(10, 4, 3), 0))
  end)

  it("reports running out of iterations in info, without raising", function()
    local rng = idl.rng(7)
    local d, b0 = random_d(10, 0.99, true, rng), idl.randn(10, 3, rng)
    local x, info = idl.equilibrium(d, b0, {max_iter = 3})
    assert.is_false(info.converged)
    assert.equal(3, info.iterations)
    assert.is_true(math.abs(residual(d, b0, x) - info.residual) < 1e-14)
  end)

  it("is relative: B0 scaled by 1e-9 takes the same steps to the same relative residual", function()
    local rng = idl.rng(8)
    local d, b0 = random_d(15, 0.9, false, rng), idl.randn(15, 6, rng)
    local x1, i1 = idl.equilibrium(d, b0, {tol = 1e-6})
    local x2, i2 = idl.equilibrium(d, b0 * 1e-9, {tol = 1e-6})
    assert.equal("tol", i1.stop)
    assert.equal(i1.iterations, i2.iterations)
    assert.is_true(i1.iterations > 0)
    assert.is_true(math.abs(i1.residual - i2.residual) < 1e-9 * i1.residual)
    assert.is_true((x2 * 1e9 - x1):norm("max") < 1e-12 * x1:norm("max"))
    assert.is_true(math.abs(i2.scale * 1e9 - i1.scale) < 1e-9 * i1.scale)
  end)

  it("says why it stopped: tol, absolute (all zero), max_iter, steps", function()
    local rng = idl.rng(9)
    local d, b0 = random_d(10, 0.9, true, rng), idl.randn(10, 3, rng)
    assert.equal("tol", select(2, idl.equilibrium(d, b0)).stop)
    local _, info = idl.equilibrium(d, b0, {max_iter = 2})
    assert.equal("max_iter", info.stop)
    assert.is_false(info.converged)
    -- B0 < 0: the solution and the right-hand side are 0, the floor accepts X = 0
    local x0, info0 = idl.equilibrium(d, idl.full(10, 3, -1))
    assert.equal("absolute", info0.stop)
    assert.is_true(info0.converged)
    assert.equal(0, info0.iterations)
    assert.equal(0, x0:norm("max"))
    -- steps = 3 from 0: three Picard steps, the third iterate returned unmeasured
    local x3, info3 = idl.equilibrium(d, b0, {steps = 3, tol = 0})
    assert.equal("steps", info3.stop)
    assert.equal(3, info3.iterations)
    assert.is_false(info3.converged)
    local want = idl.zeros(10, 3)
    for _ = 1, 3 do want = (d * want + b0):relu() end
    assert.is_true((x3 - want):norm("max") < 1e-14)
  end)

  it("refuses an ill-posed D unless forced", function()
    local d = idl.eye(2) * 1.5
    local msg = err_of(idl.equilibrium, d, idl.full(2, 3, -1))
    assert.truthy(msg:find("equilibrium: D is not well-posed (||D||_inf = 1.5, ||D||_2 = 1.5, "
      .. "rho(|D|) = 1.5); pass force = true to try anyway", 1, true))
    -- With B0 < 0, x = 0 is the fixed point (one of them): forced, it is found.
    local x, info = idl.equilibrium(d, idl.full(2, 3, -1), {force = true})
    assert.is_true(info.converged)
    assert.equal(0, x:norm("max"))
    -- A D with both norms > 1 but rho(|D|) < 1 is accepted.
    local x2, info2 = idl.equilibrium(idl.from_table({{0, 1.5}, {0.5, 0}}), idl.ones(2, 1))
    assert.is_true(info2.converged)
    assert.is_true(math.abs(x2:get(1, 1) - 10) < 1e-8) -- x1 = 1.5 x2 + 1, x2 = 0.5 x1 + 1
  end)

  it("validates options", function()
    local d, b0 = idl.eye(2) * 0.5, idl.ones(2, 3)
    local cases = {
      {{foo = 1},
       "equilibrium: unknown option 'foo' (known: method, tol, max_iter, steps, x0, out, memory, force, "
         .. "precision)"},
      {{steps = -1}, "equilibrium: opts.steps must be in [0,"},
      {{steps = 2, method = "anderson"},
       'equilibrium: opts.steps = 2 needs method = "picard", got "anderson"'},
      {{[1] = 2}, "equilibrium: unknown option 1"},
      {{method = "newton"}, 'equilibrium: opts.method must be "picard" or "anderson", got newton'},
      {{tol = -1}, "equilibrium: opts.tol must be a finite number >= 0, got -1"},
      {{tol = "small"}, "equilibrium: opts.tol must be a finite number >= 0, got small"},
      {{max_iter = 2.5}, "equilibrium: opts.max_iter must be an integer, got 2.5"},
      {{max_iter = -1}, "equilibrium: opts.max_iter must be in [0,"},
      {{memory = 0}, "equilibrium: opts.memory must be in [1, 50], got 0"},
      {{force = 1}, "equilibrium: opts.force must be a boolean, got 1"},
      {{x0 = 3}, "equilibrium: opts.x0 must be a matrix, got number"},
      {{x0 = idl.zeros(3, 2)}, "equilibrium: opts.x0 is 3x2, expected 2x3"},
      {{out = "X"}, "equilibrium: opts.out must be a matrix, got string"},
      {{out = idl.zeros(2, 2)}, "equilibrium: opts.out is 2x2, expected 2x3"},
      {{out = b0}, "equilibrium: opts.out shares memory with an operand of the solve"},
    }
    for _, c in ipairs(cases) do
      assert.truthy(err_of(idl.equilibrium, d, b0, c[1]):find(c[2], 1, true))
    end
    assert.truthy(err_of(idl.equilibrium, d, b0, 5):find("opts must be a table, got number", 1, true))
  end)

  it("writes X into opts.out, in place from x0 when out is x0, without changing x0 otherwise", function()
    local g = idl.rng(12)
    local D = idl.project_inf(idl.randn(6, 6, g), 0.8)
    local B0, x0 = idl.randn(6, 5, g), idl.rand(6, 5, g)
    local want = idl.equilibrium(D, B0, {x0 = x0, tol = 1e-12})
    local out = idl.full(6, 5, 7)
    local x0_before = x0:copy()
    local X = idl.equilibrium(D, B0, {x0 = x0, out = out, tol = 1e-12})
    assert.are.equal(out, X)
    assert.is_true(idl.equal(want, out, 0))
    assert.is_true(idl.equal(x0_before, x0, 0))
    local same = idl.equilibrium(D, B0, {x0 = x0, out = x0, tol = 1e-12}) -- in place
    assert.are.equal(x0, same)
    assert.is_true(idl.equal(want, x0, 0))
    -- without x0 out starts at zero, as a new matrix would
    local cold = idl.equilibrium(D, B0, {tol = 1e-12})
    assert.is_true(idl.equal(cold, idl.equilibrium(D, B0, {out = idl.full(6, 5, 9), tol = 1e-12}), 0))
    -- a view of a larger matrix, and an overlap refused
    local big = idl.zeros(8, 9)
    local view = big:sub(2, 7, 3, 7)
    idl.equilibrium(D, B0, {x0 = x0_before, out = view, tol = 1e-12})
    assert.is_true(idl.equal(want, view, 0))
    assert.are.equal(0, big:get(1, 3))
    assert.truthy(err_of(idl.equilibrium, D, B0, {x0 = big:sub(1, 6, 1, 5), out = big:sub(2, 7, 1, 5)})
      :find("opts.x0 and opts.out overlap", 1, true))
    local V = idl.implicit_backward(D, x0, B0, {out = out, tol = 1e-12})
    assert.are.equal(out, V)
    assert.is_true(idl.equal(V, idl.implicit_backward(D, x0, B0, {tol = 1e-12}), 0))
  end)

  it("names the argument and the shapes in shape and value errors", function()
    local nan = idl.ones(2, 2)
    nan:set(1, 2, 0 / 0)
    local cases = {
      {{idl.zeros(2, 3), idl.ones(2, 1)}, "equilibrium: D is 2x3, expected a square matrix"},
      {{idl.eye(2) * 0.5, idl.ones(3, 1)}, "equilibrium: B0 is 3x1, expected 2 rows (D is 2x2)"},
      {{nan, idl.ones(2, 1)}, "equilibrium: D contains NaN or Inf"},
      {{idl.eye(2) * 0.5, nan}, "equilibrium: B0 contains NaN or Inf"},
      {{"D", idl.ones(2, 1)}, "equilibrium: D must be a matrix, got string"},
      {{{D = idl.eye(2) * 0.5, E = idl.ones(2, 3)}, idl.ones(3, 1)}, "equilibrium: theta.f is missing"},
      {{{D = idl.eye(2) * 0.5, E = idl.ones(2, 4), f = idl.ones(2, 1)}, idl.ones(3, 5)},
       "equilibrium: theta.E is 2x4, expected 2x3 (D is 2x2, U is 3x5)"},
    }
    for _, c in ipairs(cases) do
      assert.truthy(err_of(idl.equilibrium, table.unpack(c[1])):find(c[2], 1, true))
    end
  end)
end)

describe("idl.wellposed", function()
  it("returns the three bounds and the verdict", function()
    local wp = idl.wellposed(idl.from_table({{0, 1.5}, {0.5, 0}}))
    assert.is_true(math.abs(wp.norm_inf - 1.5) < 1e-15)
    assert.is_true(math.abs(wp.norm_2 - 1.5) < 1e-12)
    assert.is_true(math.abs(wp.pf - math.sqrt(0.75)) < 1e-9)
    assert.is_true(wp.wellposed)
    assert.is_false(idl.wellposed(idl.full(3, 3, 0.4)).wellposed)
    assert.truthy(err_of(idl.wellposed, idl.zeros(2, 3)):find("wellposed: D is 2x3", 1, true))
  end)
end)

describe("idl.implicit_backward", function()
  -- L(theta) = ||A X* + B U + c 1^T - Y||_F^2 / (2m), X* the equilibrium.
  local rng = idl.rng(11)
  local h, n, p, m = 6, 3, 2, 20
  local theta = {A = idl.randn(p, h, rng), B = idl.randn(p, n, rng), c = idl.randn(p, 1, rng),
                 D = random_d(h, 0.8, false, rng), E = idl.randn(h, n, rng),
                 f = idl.randn(h, 1, rng)}
  local u, y = idl.randn(n, m, rng), idl.randn(p, m, rng)
  local ones = idl.ones(1, m)
  local x_star = idl.equilibrium(theta, u, {tol = 1e-14})

  local function loss(th)
    local x = idl.equilibrium(th, u, {tol = 1e-14, x0 = x_star})
    local r = th.A * x + th.B * u + th.c * ones - y
    return r:norm("fro") ^ 2 / (2 * m)
  end

  -- Central differences of loss in every entry of theta[name].
  local function numeric(name, eps)
    local w = theta[name]
    local g = idl.zeros(w:rows(), w:cols())
    for i = 1, w:rows() do
      for j = 1, w:cols() do
        local v = w:get(i, j)
        w:set(i, j, v + eps)
        local lp = loss(theta)
        w:set(i, j, v - eps)
        local lm = loss(theta)
        w:set(i, j, v)
        g:set(i, j, (lp - lm) / (2 * eps))
      end
    end
    return g
  end

  it("gives dL/dD, dL/dE, dL/df of the true loss (vs central differences)", function()
    local x = x_star
    local z = theta.D * x + theta.E * u + theta.f * ones
    -- Finite differences are only meaningful away from the ReLU's kink.
    local zmin = math.huge
    for i = 1, h do for j = 1, m do zmin = math.min(zmin, math.abs(z:get(i, j))) end end
    assert.is_true(zmin > 1e-4)
    local g = theta.A:t() * (theta.A * x + theta.B * u + theta.c * ones - y) / m
    for _, method in ipairs({"picard", "anderson"}) do
      local v, info = idl.implicit_backward(theta.D, z, g, {method = method, tol = 1e-14})
      assert.is_true(info.converged)
      local analytic = {D = v * x:t(), E = v * u:t(), f = v * ones:t()}
      for _, name in ipairs({"D", "E", "f"}) do
        local fd = numeric(name, 1e-6)
        local rel = (fd - analytic[name]):norm("max") / analytic[name]:norm("max")
        assert.is_true(rel < 1e-6, name .. " relative error " .. rel)
      end
    end
  end)

  it("solves a tiny G as accurately as a large one (relative to max|Phi G|)", function()
    local z = theta.D * x_star + theta.E * u + theta.f * ones
    local g = theta.A:t() * (theta.A * x_star + theta.B * u + theta.c * ones - y) * 1e-9
    local exact = idl.implicit_backward(theta.D, z, g, {tol = 1e-15, max_iter = 10000})
    local v, info = idl.implicit_backward(theta.D, z, g, {tol = 1e-3})
    assert.is_true(info.converged and info.iterations > 0)
    assert.is_true((v - exact):norm("max") < 1e-2 * exact:norm("max"))
  end)

  it("with steps = k gives the k-term Neumann sum, tending to the exact V", function()
    local z = theta.D * x_star + theta.E * u + theta.f * ones
    local g = idl.randn(h, m, idl.rng(12))
    local phi = idl.zeros(h, m)
    for i = 1, h do for j = 1, m do phi:set(i, j, z:get(i, j) > 0 and 1 or 0) end end
    local exact = idl.implicit_backward(theta.D, z, g, {tol = 1e-15, max_iter = 10000})
    local term, sum, prev = phi:hadamard(g), idl.zeros(h, m), math.huge
    for k = 1, 8 do
      sum = sum + term
      local v, info = idl.implicit_backward(theta.D, z, g, {steps = k, tol = 0})
      assert.equal("steps", info.stop)
      assert.is_true((v - sum):norm("max") < 1e-13)
      -- each column's error contracts in l1 (||D^T||_1 = ||D||_inf = 0.8)
      local err = (v - exact):norm("1")
      assert.is_true(err <= 0.8 * prev)
      prev = err
      term = phi:hadamard(theta.D:t() * term)
    end
    assert.is_true(prev < 1e-2 * exact:norm("1"))
  end)

  it("checks shapes, options and well-posedness like equilibrium", function()
    local d = idl.eye(3) * 0.5
    assert.truthy(err_of(idl.implicit_backward, d, idl.ones(2, 4), idl.ones(2, 4))
      :find("implicit_backward: Z is 2x4, expected 3 rows (D is 3x3)", 1, true))
    assert.truthy(err_of(idl.implicit_backward, d, idl.ones(3, 4), idl.ones(3, 5))
      :find("implicit_backward: G is 3x5, expected 3x4", 1, true))
    assert.truthy(err_of(idl.implicit_backward, d, idl.ones(3, 4), idl.ones(3, 4), {bad = true})
      :find("implicit_backward: unknown option 'bad'", 1, true))
    assert.truthy(err_of(idl.implicit_backward, d * 3, idl.ones(3, 4), idl.ones(3, 4))
      :find("implicit_backward: D is not well-posed", 1, true))
  end)
end)

describe('precision = "single"', function()
  local u = 2 ^ -24 -- float's unit roundoff

  -- What float rounding adds to one map evaluation at scale s (equilibrium.h; derived in
  -- tests/c/test_equilibrium.c's single_map_error): D and B rounded, the h-term products
  -- (gamma_h), the sum with B.
  local function map_error(h, kappa, s, bmax)
    local gamma = h * u / (1 - h * u)
    return 1.01 * ((2 * u + gamma) * kappa * s + 2 * u * bmax)
  end

  -- true when every entry of x is a float (the single path's iterate, converted back exactly)
  local function all_floats(x)
    for i = 1, x:rows() do
      for j = 1, x:cols() do
        local v = x:get(i, j)
        if string.unpack("f", string.pack("f", v)) ~= v then return false end
      end
    end
    return true
  end

  it("agrees with double within (r s + map error) / (1 - kappa), forward and backward", function()
    local rng = idl.rng(21)
    local h, m, kappa = 30, 12, 0.9
    local d, b0 = random_d(h, kappa, true, rng), idl.randn(h, m, rng)
    local xd = idl.equilibrium(d, b0, {tol = 1e-14, max_iter = 100000})
    local xs, info = idl.equilibrium(d, b0, {tol = 1e-6, max_iter = 100000, precision = "single"})
    assert.is_true(info.converged and info.residual < 1e-6)
    assert.equal("single", info.precision)
    assert.is_true(all_floats(xs))
    local bound = (info.residual * info.scale + map_error(h, kappa, info.scale, b0:norm("max")))
      / (1 - kappa)
    assert.is_true((xs - xd):norm("max") <= bound + 1e-12)
    -- backward: l1 contraction per column, so h times the max-norm bound
    local z, g = d * xd + b0, idl.randn(h, m, rng)
    local vd = idl.implicit_backward(d, z, g, {tol = 1e-14, max_iter = 100000})
    local vs, vinfo = idl.implicit_backward(d, z, g, {tol = 1e-6, precision = "single"})
    assert.is_true(vinfo.converged and all_floats(vs))
    local vbound = h * (vinfo.residual * vinfo.scale + map_error(h, kappa, vinfo.scale, g:norm("max")))
      / (1 - kappa)
    assert.is_true((vs - vd):norm("1") <= vbound + 1e-12)
  end)

  it("stops where double stops when float computes exactly (steps, tol, max_iter)", function()
    -- D = 1/2 on a cyclic shift, B positive integers: k steps give k bits after the point,
    -- so nothing rounds in 20 steps and the two precisions must match bit for bit
    local h, m = 9, 3
    local d, b0 = idl.zeros(h, h), idl.zeros(h, m)
    for i = 1, h do
      d:set(i, i % h + 1, 0.5)
      for j = 1, m do b0:set(i, j, 1 + (5 * i + 3 * j) % 3) end
    end
    local z = idl.ones(h, m)
    for _, opts in ipairs({{tol = 1e-4}, {tol = 1e-4, steps = 4}, {tol = 0, max_iter = 6}}) do
      for _, solve in ipairs({function(o) return idl.equilibrium(d, b0, o) end,
                              function(o) return idl.implicit_backward(d, z, b0, o) end}) do
        local xd, id = solve(opts)
        local single = {precision = "single"}
        for k, v in pairs(opts) do single[k] = v end
        local xs, is = solve(single)
        assert.equal(0, (xs - xd):norm("max"))
        assert.equal(id.iterations, is.iterations)
        assert.is_true(id.iterations > 3)
        assert.equal(id.stop, is.stop)
        assert.equal(id.residual, is.residual)
        assert.equal("double", id.precision)
      end
    end
  end)

  it("rejects what it cannot do, naming the function", function()
    local d, b0 = idl.eye(2) * 0.5, idl.ones(2, 3)
    local cases = {
      {{precision = "half"}, 'opts.precision must be "double" or "single", got half'},
      {{precision = 32}, 'opts.precision must be "double" or "single", got 32'},
      {{precision = "single", method = "anderson", tol = 1e-3},
       'opts.precision = "single" needs method = "picard", got "anderson"'},
      {{precision = "single"}, -- the default tol, 1e-10
       'opts.tol = 1e-10 is below what precision = "single" can reach: pass tol >= 1e-06 (or tol = 0'},
      {{precision = "single", tol = 5e-7}, "opts.tol = 5e-07 is below"},
    }
    for _, c in ipairs(cases) do
      assert.truthy(err_of(idl.equilibrium, d, b0, c[1]):find("equilibrium: " .. c[2], 1, true))
      assert.truthy(err_of(idl.implicit_backward, d, b0, b0, c[1])
        :find("implicit_backward: " .. c[2], 1, true))
    end
    local _, info = idl.equilibrium(d, b0, {precision = "single", tol = 0, max_iter = 3})
    assert.equal(3, info.iterations)
    assert.equal("max_iter", info.stop)
  end)
end)
