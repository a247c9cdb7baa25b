-- init_spec.lua: `require "idl"` (no globals, submodules loaded on first use)
-- and the initialization strategies of idl.initializers.
local before = {}
for k in pairs(_G) do before[k] = true end
local idl = require "idl"
local initializers = require "idl.initializers"

describe("require 'idl'", function()
  it("creates no globals", function()
    for k in pairs(_G) do
      assert.is_true(before[k] ~= nil or k == "describe" or k == "it", "new global " .. tostring(k))
    end
  end)

  it("loads the Lua submodules lazily and caches them", function()
    assert.are.equal(require("idl.metrics"), idl.metrics)
    assert.are.equal(require("idl.estimator").IDLModel, idl.IDLModel)
    assert.are.equal(require("idl.model").load, idl.load)
    assert.are.equal(idl.data, idl.data)
    assert.is_nil(idl.no_such_thing)
    assert.is_not_nil(rawget(idl, "metrics"))
  end)

  it("does not load the training modules until asked", function()
    local exe = os.getenv("IDL_EXE") or idl.executable()
    local p = io.popen(exe ..
      [[ -e 'require "idl"; io.write(package.loaded["idl.estimator"] and "loaded" or "lazy")']])
    local out = p:read("a")
    p:close()
    assert.are.equal("lazy", out)
  end)
end)

describe("idl.initializers", function()
  local rng = idl.rng(20)
  local U = idl.randn(2, 60, rng)
  local Y = idl.randn(1, 60, rng)
  local prob = {U = U, Y = Y, h = 8, constraint = {kind = "inf", kappa = 0.9}}

  local function equilibrium_ok(theta, X)
    local Z = theta.D * X + theta.E * U
    idl.add_col(Z, 1, theta.f)
    return idl.equal(X, Z:relu(), 1e-8)
  end

  it("picard_ls: D at radius 0.5, X the equilibrium, (A, B, c) least squares", function()
    local theta, X = initializers.picard_ls(prob, idl.rng(1))
    assert.is_true(theta.D:norm("inf") <= 0.5 + 1e-12)
    assert.is_true(equilibrium_ok(theta, X))
    local g = idl.gradients(theta, X, U, Y, idl.zeros(8, 1))
    for _, k in ipairs{"A", "B", "c"} do assert.is_true(g[k]:norm("max") < 1e-6, k) end
    local theta2 = initializers.picard_ls(prob, idl.rng(1))
    for k, v in pairs(theta) do assert.is_true(idl.equal(v, theta2[k]), k) end
  end)

  it("subproblems: a small loss over X >= 0, then a smaller Fenchel gap", function()
    local theta0, X0 = initializers.subproblems(prob, idl.rng(2), {def_iterations = 0})
    local theta, X = initializers.subproblems(prob, idl.rng(2), {def_iterations = 100})
    assert.is_true(idl.equal(X, X0)) -- the same first stage
    assert.is_true((-X):relu():norm("max") == 0)
    assert.is_true(theta.D:norm("inf") <= 0.9 + 1e-12)
    local _, L, F = idl.objective(theta, X, U, Y, idl.zeros(8, 1))
    assert.is_true(L < 0.5 * (Y:norm("fro") ^ 2 / 120))
    local _, _, F0 = idl.objective(theta0, X, U, Y, idl.zeros(8, 1))
    assert.is_true(F:sum() < 0.5 * F0:sum())
  end)

  it("random: sparse entries in [0, 1), D projected", function()
    local theta, X = initializers.random(prob, idl.rng(3), {density = 0.5})
    assert.is_true(theta.D:norm("inf") <= 0.5 + 1e-12)
    assert.is_true(equilibrium_ok(theta, X))
    local zeros, total = 0, 0
    for _, k in ipairs{"A", "E"} do
      local M = theta[k]
      for i = 1, M:rows() do
        for j = 1, M:cols() do
          local v = M:get(i, j)
          assert.is_true(v >= 0 and v < 1)
          total = total + 1
          if v == 0 then zeros = zeros + 1 end
        end
      end
    end
    assert.is_true(zeros > 0.2 * total and zeros < 0.8 * total)
  end)

  it("user: copies the given theta, never writes it, and checks its sizes", function()
    local given = {A = idl.ones(1, 8), B = idl.ones(1, 2), c = idl.ones(1, 1), D = idl.ones(8, 8),
      E = idl.ones(8, 2), f = idl.ones(8, 1)}
    local theta = initializers.user(prob, idl.rng(4), {theta = given})
    assert.is_true(theta.D:norm("inf") <= 0.9 + 1e-12)
    assert.are.equal(8, given.D:norm("inf")) -- untouched
    theta.A:set(1, 1, 5)
    assert.are.equal(1, given.A:get(1, 1))
    local bad = {A = idl.ones(1, 3), B = idl.ones(1, 2), c = idl.ones(1, 1), D = idl.ones(3, 3),
      E = idl.ones(3, 2), f = idl.ones(3, 1)}
    assert.has_error(function() initializers.user(prob, idl.rng(4), {theta = bad}) end,
      "idl.initializers.user: theta has n = 2, h = 3, p = 1; "
      .. "the data and hidden_variables need n = 2, h = 8, p = 1")
  end)

  it("accepted: the options a strategy takes, so that a trainer's defaults reach only those", function()
    local defaults = {ridge = 1e-4, standardize = true}
    assert.are.same(defaults, initializers.accepted("linear", defaults))
    assert.are.same(defaults, initializers.accepted("picard_ls", defaults))
    assert.is_nil(initializers.accepted("random", defaults))
    assert.are.same({kappa = 0.5}, initializers.accepted("random", {kappa = 0.5, ridge = 1}))
    assert.has_error(function() initializers.accepted("nope", defaults) end)
    -- the estimator with a strategy that takes none of the implicit trainer's
    -- default options (before: "unknown option 'ridge'")
    local g = idl.rng(8)
    local X, y = idl.randn(60, 2, g), idl.randn(60, 1, g)
    for _, name in ipairs{"random", "subproblems"} do
      local est = idl.IDLModel{initialization = name, hidden_variables = 4, ensemble_size = 1,
        verbosity = false}:fit(X, y, {rounds_number = 2})
      assert.are.equal(4, est.model.h)
    end
    -- options given explicitly are still checked
    local est = idl.IDLModel{initialization = "random", initialization_options = {ridge = 1},
      verbosity = false}
    assert.has_error(function() est:fit(X, y, {rounds_number = 1}) end)
  end)
end)
