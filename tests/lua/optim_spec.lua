-- idl.optim: optimizer steps against plain-Lua reference updates, schedules,
-- the gradient checker, and the column gather/scatter kernels.
local idl = require "idl"
local optim = require "idl.optim"

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok)
  return msg
end

-- f(P) = 0.5 ||P - T||_F^2, gradient P - T.
local function quadratic(target)
  return function(params)
    local r = params.P - target
    return 0.5 * r:norm() ^ 2, {P = r}
  end
end

describe("adam", function()
  it("matches the textbook update computed entry by entry in Lua", function()
    local rng = idl.rng(1)
    local target = idl.randn(3, 2, rng)
    local params = {P = idl.randn(3, 2, rng)}
    local ref = params.P:totable()
    local m, v = {}, {}
    for i = 1, 3 do m[i], v[i] = {0, 0}, {0, 0} end
    local cfg = {learning_rate = 0.05, beta1 = 0.8, beta2 = 0.99, epsilon = 1e-6}
    local state = {}
    for t = 1, 5 do
      for i = 1, 3 do for j = 1, 2 do
        local g = ref[i][j] - target:get(i, j)
        m[i][j] = 0.8 * m[i][j] + 0.2 * g
        v[i][j] = 0.99 * v[i][j] + 0.01 * g * g
        local mh, vh = m[i][j] / (1 - 0.8 ^ t), v[i][j] / (1 - 0.99 ^ t)
        ref[i][j] = ref[i][j] - 0.05 * mh / (math.sqrt(vh) + 1e-6)
      end end
      optim.adam(quadratic(target), params, cfg, state)
    end
    assert.equal(5, state.t)
    assert.is_true(idl.equal(params.P, idl.from_table(ref), 1e-12))
  end)

  it("minimizes a quadratic", function()
    local target = idl.from_table{{1, -2}, {3, 0.5}}
    local params = {P = idl.zeros(2, 2)}
    local state = {}
    for _ = 1, 2000 do optim.adam(quadratic(target), params, {learning_rate = 0.01}, state) end
    assert.is_true(idl.equal(params.P, target, 1e-3))
  end)

  it("refuses a state made for other parameters", function()
    local state = {}
    optim.adam(quadratic(idl.zeros(2, 2)), {P = idl.ones(2, 2)}, {}, state)
    assert.matches("adam: state.m.P is 2x2, params.P is 3x3: pass a fresh state table",
      err_of(optim.adam, quadratic(idl.zeros(3, 3)), {P = idl.ones(3, 3)}, {}, state))
    assert.matches("adam: config.learning_rate must be a non%-negative number",
      err_of(optim.adam, quadratic(idl.zeros(1, 1)), {P = idl.ones(1, 1)}, {learning_rate = -1}, {}))
  end)
end)

describe("sgd", function()
  it("applies heavy-ball momentum as written", function()
    local params = {P = idl.from_table{{1}, {2}}}
    local state = {}
    local feval = function(p) return 0, {P = p.P:copy()} end -- gradient = P
    optim.sgd(feval, params, {learning_rate = 0.1, momentum = 0.9}, state)
    -- buf = g = P0; P1 = P0 - 0.1 P0 = 0.9 P0
    assert.is_true(idl.equal(params.P, idl.from_table{{0.9}, {1.8}}, 1e-15))
    optim.sgd(feval, params, {learning_rate = 0.1, momentum = 0.9}, state)
    -- buf = 0.9 P0 + 0.9 P0 = 1.8 P0; P2 = 0.9 P0 - 0.18 P0 = 0.72 P0
    assert.is_true(idl.equal(params.P, idl.from_table{{0.72}, {1.44}}, 1e-15))
  end)

  it("projected runs the projection after each step", function()
    local clip = function(p) idl.relu(p.P) end
    local step = optim.projected(optim.sgd, clip)
    local params = {P = idl.from_table{{0.05}, {1}}}
    step(function(p) return 0, {P = p.P * 0 + 1} end, params, {learning_rate = 0.1}, {})
    assert.same({{0}, {0.9}}, params.P:totable())
  end)
end)

describe("schedules", function()
  it("give the rates their formulas say", function()
    local s = {}
    assert.equal(0.01, optim.schedule_lr({kind = "step", lr = 0.01, every = 10, gamma = 0.5}, s, 10))
    assert.equal(0.005, optim.schedule_lr({kind = "step", lr = 0.01, every = 10, gamma = 0.5}, s, 11))
    local cos = {kind = "cosine", lr = 1, total = 100, min_lr = 0}
    assert.near(1, optim.schedule_lr(cos, s, 1), 1e-15)
    assert.near(0.5, optim.schedule_lr(cos, s, 51), 1e-12)
    assert.near(0, optim.schedule_lr(cos, s, 101), 1e-15)
    local plateau, ps = {kind = "plateau", lr = 1, factor = 0.1, patience = 2}, {}
    assert.equal(1, optim.schedule_lr(plateau, ps, 1, 5))
    assert.equal(1, optim.schedule_lr(plateau, ps, 2, 5))
    assert.equal(1, optim.schedule_lr(plateau, ps, 3, 5))
    assert.near(0.1, optim.schedule_lr(plateau, ps, 4, 5), 1e-15)
    assert.near(0.1, optim.schedule_lr(plateau, ps, 5, 4), 1e-15) -- improved: no cut
    assert.matches("schedule_lr: unknown kind 'linear'",
      err_of(optim.schedule_lr, {kind = "linear", lr = 1}, {}, 1))
  end)
end)

describe("check_gradient", function()
  it("accepts a right gradient and flags a wrong one", function()
    local target = idl.randn(3, 3, idl.rng(2))
    local params = {P = idl.randn(3, 3, idl.rng(3))}
    local f = function(p) return (quadratic(target)(p)) end
    local _, g = quadratic(target)(params)
    assert.is_true(optim.check_gradient(f, params, g) < 1e-7)
    local wrong = g.P:copy()
    wrong:set(2, 3, wrong:get(2, 3) + 0.1)
    local worst, per_key = optim.check_gradient(f, params, {P = wrong})
    assert.is_true(worst > 1e-3)
    assert.equal(worst, per_key.P)
  end)
end)

describe("gather_cols and scatter_cols", function()
  it("move columns by 1-based index without allocating the destination", function()
    local src = idl.from_table{{1, 2, 3}, {4, 5, 6}}
    local dst = idl.zeros(2, 2)
    idl.gather_cols(dst, src, {3, 1})
    assert.same({{3, 1}, {6, 4}}, dst:totable())
    local back = idl.zeros(2, 3)
    idl.scatter_cols(back, {3, 1}, dst)
    assert.same({{1, 0, 3}, {4, 0, 6}}, back:totable())
    assert.matches("gather_cols: column index must be in %[1, 3%], got 4",
      err_of(idl.gather_cols, dst, src, {4, 1}))
    assert.matches("gather_cols: dst is 2x2, expected 2x3", err_of(idl.gather_cols, dst, src, {1, 2, 3}))
  end)
end)
