-- relaxed_spec.lua: idl.fenchel, idl.objective, idl.gradients, idl.lipschitz and
-- idl.dual_update against naive loops, finite differences and the descent lemma.
local idl = require "idl"

-- The message of the error f(...) raises, without the "file:line: " prefix.
local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok)
  return (tostring(msg):gsub("^.-:%d+: ", ""))
end

local function broadcast(v, m) return v * idl.ones(1, m) end

-- Z = D X + E U + f 1^T by the operators (not the kernels under test).
local function pre_activation(th, x, u)
  return th.D * x + th.E * u + broadcast(th.f, x:cols())
end

-- A random problem with X >= 0, lambda in [0.5, 2] and Z clear of the kink
-- of (z)_+ (redrawn until min |Z| > 1e-3), so central differences are exact
-- up to O(step^2).
local function make_problem(rng, h, n, p, m)
  while true do
    local th = {
      A = idl.randn(p, h, rng), B = idl.randn(p, n, rng), c = idl.randn(p, 1, rng),
      D = idl.randn(h, h, rng, 0, 0.4), E = idl.randn(h, n, rng), f = idl.randn(h, 1, rng),
    }
    local pb = {
      th = th, x = idl.rand(h, m, rng), u = idl.randn(n, m, rng), y = idl.randn(p, m, rng),
      lambda = idl.rand(h, 1, rng, 0.5, 2),
    }
    local z = pre_activation(th, pb.x, pb.u)
    local zmin, pos, neg = math.huge, 0, 0
    for i = 1, h do
      for j = 1, m do
        local v = z:get(i, j)
        zmin = math.min(zmin, math.abs(v))
        if v > 0 then pos = pos + 1 else neg = neg + 1 end
      end
    end
    if zmin > 1e-3 and pos > 0 and neg > 0 then return pb end
  end
end

local function objective(pb)
  return (idl.objective(pb.th, pb.x, pb.u, pb.y, pb.lambda))
end

-- The variable behind a gradient block name.
local function var_of(pb, name)
  return name == "X" and pb.x or pb.th[name]
end

-- Relative (Frobenius) gap between a gradient block and central differences
-- of idl.objective over each of its entries.
local function fd_gap(pb, name, grad)
  local v, step, num, den = var_of(pb, name), 1e-6, 0, 0
  for i = 1, v:rows() do
    for j = 1, v:cols() do
      local keep = v:get(i, j)
      v:set(i, j, keep + step)
      local gp = objective(pb)
      v:set(i, j, keep - step)
      local gm = objective(pb)
      v:set(i, j, keep)
      local d = (gp - gm) / (2 * step) - grad:get(i, j)
      num, den = num + d * d, den + grad:get(i, j) ^ 2
    end
  end
  return math.sqrt(num / math.max(den, 1e-300))
end

local blocks = {"A", "B", "c", "D", "E", "f", "X"}
local shapes = {{3, 2, 1, 5}, {5, 3, 2, 7}, {4, 2, 3, 6}, {2, 1, 2, 9}}

describe("idl.fenchel", function()
  local rng = idl.rng(3)

  it("matches a naive loop and averages over columns", function()
    local x, z = idl.randn(4, 6, rng), idl.randn(4, 6, rng)
    local f = idl.fenchel(x, z)
    assert.same({4, 1}, {f:size()})
    for i = 1, 4 do
      local s = 0
      for j = 1, 6 do
        local a, b = x:get(i, j), z:get(i, j)
        s = s + 0.5 * a * a + 0.5 * math.max(b, 0) ^ 2 - a * b
      end
      assert.is_true(math.abs(f:get(i, 1) - s / 6) < 1e-14)
    end
  end)

  it("is nonnegative for x >= 0 and zero exactly at x = (z)_+", function()
    for _ = 1, 20 do
      local x, z = idl.rand(5, 8, rng), idl.randn(5, 8, rng, 0, 2)
      local f = idl.fenchel(x, z)
      for i = 1, 5 do assert.is_true(f:get(i, 1) >= 0) end
      local f0 = idl.fenchel(z:relu(), z)
      assert.is_true(f0:norm("max") < 1e-15)
    end
  end)
end)

describe("idl.objective", function()
  it("is the squared loss plus lambda^T F", function()
    local pb = make_problem(idl.rng(5), 4, 3, 2, 10)
    local th, m = pb.th, 10
    local g, l, f = idl.objective(th, pb.x, pb.u, pb.y, pb.lambda)
    local r = th.A * pb.x + th.B * pb.u + broadcast(th.c, m) - pb.y
    local l_ref = r:norm() ^ 2 / (2 * m)
    local f_ref = idl.fenchel(pb.x, pre_activation(th, pb.x, pb.u))
    assert.is_true(math.abs(l - l_ref) < 1e-13 * (1 + l_ref))
    assert.is_true(idl.equal(f, f_ref, 1e-14))
    local lf = 0
    for i = 1, 4 do lf = lf + pb.lambda:get(i, 1) * f:get(i, 1) end
    assert.is_true(math.abs(g - (l + lf)) < 1e-13 * (1 + math.abs(g)))
  end)
end)

describe("idl.gradients", function()
  it("every block matches central differences of the objective", function()
    local rng = idl.rng(7)
    for _, s in ipairs(shapes) do
      local pb = make_problem(rng, s[1], s[2], s[3], s[4])
      local g = idl.gradients(pb.th, pb.x, pb.u, pb.y, pb.lambda)
      for _, name in ipairs(blocks) do
        local v = var_of(pb, name)
        assert.same({v:size()}, {g[name]:size()})
        local gap = fd_gap(pb, name, g[name])
        assert.is_true(gap < 1e-6, ("block %s, shape %d,%d,%d,%d: gap %g"):format(
          name, s[1], s[2], s[3], s[4], gap))
      end
    end
  end)

  it("agrees with the report's closed forms for D and X", function()
    local pb = make_problem(idl.rng(8), 5, 2, 2, 12)
    local th, x, m = pb.th, pb.x, 12
    local g = idl.gradients(th, x, pb.u, pb.y, pb.lambda)
    local lam = idl.zeros(5, 5)
    for i = 1, 5 do lam:set(i, i, pb.lambda:get(i, 1)) end
    local z = pre_activation(th, x, pb.u)
    local r = th.A * x + th.B * pb.u + broadcast(th.c, m) - pb.y
    local gd = lam * (z:relu() - x) * x:t() / m
    local gx = (th.A:t() * r + (lam - lam * th.D - th.D:t() * lam) * x + th.D:t() * lam * z:relu()
      - lam * (th.E * pb.u + broadcast(th.f, m))) / m
    assert.is_true(idl.equal(g.D, gd, 1e-13))
    assert.is_true(idl.equal(g.X, gx, 1e-13))
  end)
end)

-- theta with each block of names moved by -step * gradient.
local function stepped(pb, g, names, step)
  local q = {th = {}, x = pb.x, u = pb.u, y = pb.y, lambda = pb.lambda}
  for k, v in pairs(pb.th) do q.th[k] = v end
  for _, name in ipairs(names) do
    if name == "X" then q.x = pb.x - g.X * step else q.th[name] = pb.th[name] - g[name] * step end
  end
  return q
end

-- The same move along a direction table dir (name -> matrix) scaled by t.
local function moved(pb, dir, t)
  local q = {th = {}, x = pb.x, u = pb.u, y = pb.y, lambda = pb.lambda}
  for k, v in pairs(pb.th) do q.th[k] = v end
  for name, d in pairs(dir) do
    if name == "X" then q.x = pb.x + d * t else q.th[name] = pb.th[name] + d * t end
  end
  return q
end

local groups = {theta1 = {"A", "B", "c"}, theta2 = {"D", "E", "f"}, x = {"X"}}

describe("idl.lipschitz", function()
  local rng = idl.rng(11)

  it("a 1/L step on each block decreases G by at least |grad|^2 / (2L)", function()
    for trial = 1, 6 do
      local s = shapes[(trial - 1) % #shapes + 1]
      local pb = make_problem(rng, s[1], s[2], s[3], s[4] * 3)
      local lc = idl.lipschitz(pb.th, pb.x, pb.u, pb.lambda)
      local g = idl.gradients(pb.th, pb.x, pb.u, pb.y, pb.lambda)
      local g0 = objective(pb)
      for key, names in pairs(groups) do
        local sq = 0
        for _, name in ipairs(names) do sq = sq + g[name]:norm() ^ 2 end
        local g1 = objective(stepped(pb, g, names, 1 / lc[key]))
        assert.is_true(g1 <= g0 - sq / (2 * lc[key]) + 1e-12 * math.abs(g0),
          ("block %s: G %g -> %g"):format(key, g0, g1))
      end
    end
  end)

  it("bounds the curvature seen along random directions", function()
    for trial = 1, 4 do
      local s = shapes[trial]
      local pb = make_problem(rng, s[1], s[2], s[3], s[4] * 2)
      local lc = idl.lipschitz(pb.th, pb.x, pb.u, pb.lambda)
      local g0, t = objective(pb), 1e-3
      for key, names in pairs(groups) do
        for _ = 1, 10 do
          local dir, sq = {}, 0
          for _, name in ipairs(names) do
            local v = var_of(pb, name)
            dir[name] = idl.randn(v:rows(), v:cols(), rng)
            sq = sq + dir[name]:norm() ^ 2
          end
          local curv = (objective(moved(pb, dir, t)) - 2 * g0 + objective(moved(pb, dir, -t)))
            / (t * t * sq)
          assert.is_true(curv <= lc[key] * (1 + 1e-6) + 1e-6,
            ("block %s: curvature %g > L %g"):format(key, curv, lc[key]))
        end
      end
    end
  end)

  it("theta2 is lambda_max times theta1", function()
    local pb = make_problem(rng, 4, 2, 1, 8)
    local lc = idl.lipschitz(pb.th, pb.x, pb.u, pb.lambda)
    local lmax = pb.lambda:norm("max")
    assert.is_true(math.abs(lc.theta2 - lmax * lc.theta1) < 1e-12 * lc.theta2)
  end)
end)

describe("idl.dual_update", function()
  it("moves only the components whose divergence reaches eps", function()
    local lambda = idl.from_table{1, 2, 3, 4}
    local f = idl.from_table{0.5, 0.05, 0.1, 2}
    local new = idl.dual_update(lambda, f, 0.1, 0.1)
    assert.is_true(idl.equal(new, idl.from_table{1.05, 2, 3.01, 4.2}, 1e-15))
    assert.is_true(idl.equal(lambda, idl.from_table{1, 2, 3, 4}, 0))
  end)
end)

describe("bad input", function()
  local rng = idl.rng(2)
  local pb = make_problem(rng, 3, 2, 2, 6)
  local th, x, u, y, lambda = pb.th, pb.x, pb.u, pb.y, pb.lambda

  local function with(name, value)
    local t = {}
    for k, v in pairs(th) do t[k] = v end
    t[name] = value
    return t
  end

  it("names the offending theta field and its expected shape", function()
    assert.are.equal("idl.gradients: theta.D is 3x4, expected 3x3",
      err_of(idl.gradients, with("D", idl.zeros(3, 4)), x, u, y, lambda))
    assert.are.equal("idl.gradients: theta.E is missing",
      err_of(idl.gradients, with("E", nil), x, u, y, lambda))
    assert.are.equal("idl.objective: theta.A is 1x3, expected 2x3",
      err_of(idl.objective, with("A", idl.zeros(1, 3)), x, u, y, lambda))
    assert.are.equal("idl.objective: theta.c must be a matrix, got string",
      err_of(idl.objective, with("c", "c"), x, u, y, lambda))
    assert.are.equal("idl.gradients: theta must be a table, got nil",
      err_of(idl.gradients, nil, x, u, y, lambda))
    assert.are.equal("idl.lipschitz: theta.A is 2x4, expected 2x3",
      err_of(idl.lipschitz, with("A", idl.zeros(2, 4)), x, u, lambda))
    assert.are.equal("idl.lipschitz: theta.D is missing",
      err_of(idl.lipschitz, with("D", nil), x, u, lambda))
  end)

  it("checks the data against X", function()
    assert.are.equal("idl.objective: U is 2x5, expected 2x6",
      err_of(idl.objective, th, x, idl.zeros(2, 5), y, lambda))
    assert.are.equal("idl.gradients: Y is 2x7, expected 2x6",
      err_of(idl.gradients, th, x, u, idl.zeros(2, 7), lambda))
    assert.are.equal("idl.gradients: lambda is 3x2, expected 3x1",
      err_of(idl.gradients, th, x, u, y, idl.zeros(3, 2)))
    assert.are.equal("idl.objective: X has no columns (m = 0)",
      err_of(idl.objective, th, idl.zeros(3, 0), idl.zeros(2, 0), idl.zeros(2, 0), lambda))
    assert.are.equal("idl.fenchel: Z is 3x5, expected 3x6", err_of(idl.fenchel, x, idl.zeros(3, 5)))
    assert.are.equal("idl.lipschitz: U must be a matrix, got no value", err_of(idl.lipschitz, th, x))
  end)

  it("dual_update checks shapes and alpha", function()
    local l2 = idl.ones(2, 1)
    assert.are.equal("idl.dual_update: F is 3x1, expected 2x1",
      err_of(idl.dual_update, l2, idl.ones(3, 1), 0.1, 0.1))
    assert.are.equal("idl.dual_update: alpha must be non-negative, got -1",
      err_of(idl.dual_update, l2, idl.ones(2, 1), -1, 0.1))
    assert.are.equal("idl.dual_update: eps must be a number, got no value",
      err_of(idl.dual_update, l2, idl.ones(2, 1), 0.1))
  end)
end)

describe("the workspace kernels (the trainers' tier)", function()
  local rng = idl.rng(31)
  local pb = make_problem(rng, 4, 3, 2, 8)
  local th, x, u, y, lambda = pb.th, pb.x, pb.u, pb.y, pb.lambda

  it("relaxed_value and relaxed_grads read one forward pass, as idl.objective and idl.gradients", function()
    local ws = idl.relaxed_workspace(4, 3, 2, 8)
    local G, L, F = idl.objective(th, x, u, y, lambda)
    local F2 = idl.zeros(4, 1)
    idl.relaxed_forward(ws, th, x, u, y)
    local G2, L2, residual = idl.relaxed_value(ws, x, lambda, F2)
    assert.are.equal(G, G2); assert.are.equal(L, L2); assert.is_true(idl.equal(F, F2, 0))
    local gap = idl.zeros(4, 8)
    idl.relu(gap, pre_activation(th, x, u))
    assert.is_near((gap - x):norm("fro"), residual, 1e-12 * residual)
    local want = idl.gradients(th, x, u, y, lambda)
    local grad, gx = {}, idl.zeros(4, 8)
    for k, v in pairs(th) do grad[k] = idl.zeros(v:rows(), v:cols()) end
    idl.relaxed_grads(ws, x, lambda, grad, gx) -- the value left the forward pass intact
    for k, v in pairs(grad) do assert.is_true(idl.equal(want[k], v, 0), k) end
    assert.is_true(idl.equal(want.X, gx, 0))
    assert.are.equal("idl.relaxed_grads: ws holds no forward pass of this X (call relaxed_forward first)",
      err_of(idl.relaxed_grads, ws, x, lambda, nil, gx))
    assert.are.equal("idl.relaxed_value: ws holds no forward pass of this X (call relaxed_forward first)",
      err_of(idl.relaxed_value, ws, x:copy(), lambda, F2))
  end)

  it("lipschitz_theta and lipschitz_x are the halves of idl.lipschitz", function()
    local ws = idl.relaxed_workspace(4, 3, 2, 8)
    local lip = idl.lipschitz(th, x, u, lambda)
    local t1, t2 = idl.lipschitz_theta(ws, x, u, lambda)
    assert.are.equal(lip.theta1, t1); assert.are.equal(lip.theta2, t2)
    assert.are.equal(lip.x, idl.lipschitz_x(ws, th, lambda))
  end)

  it("lipschitz_x_carried: exact without a reference, a valid bound within the slack after a move", function()
    local ws = idl.relaxed_workspace(4, 3, 2, 8)
    local Mr, Dr = idl.zeros(4, 4), idl.zeros(4, 4)
    local x0, exact, mu, delta = idl.lipschitz_x_carried(ws, th, lambda, Mr, Dr, nil, nil, 1.1)
    assert.are.equal(idl.lipschitz_x(ws, th, lambda), x0)
    assert.is_true(exact)
    assert.is_true(idl.equal(Dr, th.D, 0)) -- the reference taken
    local lam2 = lambda * 1.001 -- a dual step's move
    local want = idl.lipschitz_x(ws, th, lam2)
    local x1, exact1, mu1, delta1 = idl.lipschitz_x_carried(ws, th, lam2, Mr, Dr, mu, delta, 1.1)
    assert.is_false(exact1)
    assert.are.equal(mu, mu1); assert.are.equal(delta, delta1)
    assert.is_true(x1 >= want * (1 - 1e-12) and x1 <= 1.1 * want)
    -- the same move with slack 1: the bound cannot be within it, so exact again
    local x2, exact2 = idl.lipschitz_x_carried(ws, th, lam2, Mr, Dr, mu, delta, 1)
    assert.is_true(exact2)
    assert.are.equal(want, x2)
    assert.are.equal("idl.lipschitz_x_carried: slack must be at least 1, got 0.5",
      err_of(idl.lipschitz_x_carried, ws, th, lambda, Mr, Dr, mu, delta, 0.5))
    assert.are.equal("idl.lipschitz_x_carried: mu and delta are norms (>= 0), got -1 and 1",
      err_of(idl.lipschitz_x_carried, ws, th, lambda, Mr, Dr, -1, 1, 1.1))
    assert.are.equal("idl.lipschitz_x_carried: D_ref is 4x3, expected 4x4",
      err_of(idl.lipschitz_x_carried, ws, th, lambda, Mr, idl.zeros(4, 3), mu, delta, 1.1))
  end)

  it("relaxed_x_update is the projected step (X - step gX)_+ and returns ||gX||_F", function()
    local X0, g = x - 0.5, idl.randn(4, 8, idl.rng(3))
    local X = X0:copy()
    local norm = idl.relaxed_x_update(X, g, 0.25)
    assert.is_true(idl.equal(X, (X0 - g * 0.25):relu(), 0))
    assert.is_near(g:norm("fro"), norm, 1e-14 * norm)
    assert.are.equal("idl.relaxed_x_update: gX is 4x7, expected 4x8",
      err_of(idl.relaxed_x_update, X, idl.zeros(4, 7), 1))
    assert.are.equal("idl.relaxed_x_update: X and gX must not share their elements",
      err_of(idl.relaxed_x_update, X, X, 1))
  end)

  it("checks the workspace and the shapes", function()
    local ws = idl.relaxed_workspace(4, 3, 2, 8)
    assert.are.equal("idl.relaxed_forward: ws must be a workspace (idl.relaxed_workspace), got table",
      err_of(idl.relaxed_forward, {}, th, x, u, y))
    assert.are.equal("idl.relaxed_forward: X is 4x7, expected 4x8",
      err_of(idl.relaxed_forward, ws, th, idl.zeros(4, 7), u, y))
    assert.are.equal("idl.relaxed_forward: theta.E is 4x2, expected 4x3",
      err_of(idl.relaxed_forward, ws, {A = th.A, B = th.B, c = th.c, D = th.D, E = idl.zeros(4, 2), f = th.f},
        x, u, y))
    assert.are.equal("idl.relaxed_workspace: m must be at least 1", err_of(idl.relaxed_workspace, 4, 3, 2, 0))
    assert.are.equal("idl.lipschitz_x: lambda is 3x1, expected 4x1",
      err_of(idl.lipschitz_x, ws, th, idl.ones(3, 1)))
  end)

  it("readout solves the ridge least squares of its documented ridge", function()
    -- optimality: R S^T / m + [A B diag(ridge_k), 0] / m = 0 with R the residual,
    -- so idl.gradients' (A, B) blocks (R S^T / m) equal -ridge_k/m times their
    -- columns, and its c block (R 1 / m) is zero: c is not penalized
    local t = {A = idl.zeros(2, 4), B = idl.zeros(2, 3), c = idl.zeros(2, 1), D = th.D, E = th.E, f = th.f}
    local ridge_rel = 1e-2
    idl.readout(t, x, u, y, ridge_rel)
    local Z = idl.vcat(x, u)
    local m = Z:cols()
    local ridges, trace = {}, 0
    for k = 1, Z:rows() do
      local mean, ss = 0, 0
      for j = 1, m do mean = mean + Z:get(k, j) / m end
      for j = 1, m do ss = ss + (Z:get(k, j) - mean) ^ 2 end
      ridges[k], trace = ss, trace + ss
    end
    for k = 1, #ridges do ridges[k] = ridge_rel * (ridges[k] + 1e-12 * trace / #ridges) end
    local g = idl.gradients(t, x, u, y, lambda)
    for _, blk in ipairs{{"A", 0}, {"B", 4}} do
      local k, first = blk[1], blk[2]
      local want = t[k]:copy()
      for j = 1, want:cols() do
        for i = 1, want:rows() do want:set(i, j, -want:get(i, j) * ridges[first + j] / m) end
      end
      assert.is_true(want:norm("max") > 1e-6, k)
      assert.is_true(idl.equal(g[k], want, 1e-10 * want:norm("max")), k)
    end
    assert.is_true(g.c:norm("max") <= 1e-12 * y:norm("max"), "c is not penalized")
    assert.are.equal("idl.readout: ridge_rel must be positive, got 0", err_of(idl.readout, t, x, u, y, 0))
    assert.are.equal("idl.readout: Y is 2x7, expected 2x8",
      err_of(idl.readout, t, x, u, idl.zeros(2, 7), 1e-8))
  end)
end)
