-- model_spec.lua: the model object, its constraint sets, and the file format
-- (exact round trip, atomic write, clear errors on bad files).
local idl = require "idl"
local model = require "idl.model"

local tmpdir = os.getenv("TMPDIR") or "/tmp"
local function tmpname(tag)
  return string.format("%s/idl_model_spec_%s_%d.idl", tmpdir, tag, math.floor(idl.clock() * 1e6) % 1000000000)
end

local function read_all(path)
  local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close(); return s
end
local function write_all(path, s)
  local f = assert(io.open(path, "wb")); f:write(s); f:close()
end

local function small_theta(rng, n, h, p)
  local th = {A = idl.randn(p, h, rng), B = idl.randn(p, n, rng), c = idl.randn(p, 1, rng),
    D = idl.randn(h, h, rng, 0, 0.3), E = idl.randn(h, n, rng), f = idl.randn(h, 1, rng)}
  idl.project_inf_(th.D, 0.5)
  return th
end

describe("idl.model", function()
  local rng = idl.rng(11)
  local theta = small_theta(rng, 3, 5, 2)

  it("takes its sizes from theta and copies what it is given", function()
    local lambda = idl.full(5, 1, 0.5)
    local m = model.new{theta = theta, lambda = lambda, constraint = {kind = "inf", kappa = 0.5}}
    assert.are.equal(3, m.n); assert.are.equal(5, m.h); assert.are.equal(2, m.p)
    m.theta.A:set(1, 1, 99); m.lambda:set(1, 1, 7)
    assert.are_not.equal(99, theta.A:get(1, 1))
    assert.are.equal(0.5, lambda:get(1, 1))
    local c = m:copy()
    c.theta.D:set(1, 1, 42)
    assert.are_not.equal(42, m.theta.D:get(1, 1))
  end)

  it("names every malformed argument", function()
    local bad = {}
    for k, v in pairs(theta) do bad[k] = v end
    bad.E = idl.zeros(5, 4)
    assert.has_error(function() model.new{theta = bad} end,
      "idl.model.new: theta.E is 5x4, expected 5x3 (n = 3, h = 5, p = 2 from B, D, A)")
    bad.E = nil
    assert.has_error(function() model.new{theta = bad} end, "idl.model.new: theta.E is missing")
    assert.has_error(function() model.new{theta = theta, lambda = idl.zeros(4, 1)} end,
      "idl.model.new: lambda is 4x1, expected 5x1")
    assert.has_error(function() model.new{theta = theta, constraint = {kind = "l1"}} end,
      'idl.model.new: constraint.kind must be one of "inf", "spectral", "lmi", got "l1"')
    assert.has_error(function() model.new{theta = theta, constraint = {kappa = 1}} end,
      "idl.model.new: constraint.kappa must be < 1 for a well-posed model, got 1")
    assert.has_error(function() model.new{theta = theta, loss = "hinge"} end)
    assert.has_error(function() model.new{theta = theta, lamda = 1} end,
      "idl.model.new: unknown option 'lamda' in arguments (did you mean 'lambda'?)")
  end)

  it("projects D onto each constraint set and recognizes members", function()
    local lambda = idl.rand(5, 1, rng, 0.5, 2)
    for _, c in ipairs{{kind = "inf", kappa = 0.3}, {kind = "spectral", kappa = 0.3}, {kind = "lmi"}} do
      local D = idl.randn(5, 5, rng)
      assert.is_false(model.in_set(D, c, lambda))
      model.project_(D, c, lambda)
      assert.is_true(model.in_set(D, c, lambda))
    end
    -- the LMI, checked independently: x^T (Lambda - Lambda D - D^T Lambda) x >= 0 on random x
    local D = model.project_(idl.randn(5, 5, rng), {kind = "lmi"}, lambda)
    local L = idl.zeros(5, 5)
    for i = 1, 5 do L:set(i, i, lambda:get(i, 1)) end
    local M = L - L * D - D:t() * L
    for _ = 1, 50 do
      local x = idl.randn(5, 1, rng)
      assert.is_true((x:t() * M * x):get(1, 1) >= -1e-10)
    end
  end)

  it("predicts through the equilibrium, with a warm start", function()
    assert.is_function(idl.equilibrium)
    local m = model.new{theta = theta}
    local U = idl.randn(3, 7, rng)
    local Y, info = m:predict_u(U, {tol = 1e-12})
    assert.is_true(info.converged)
    -- reference: plain Picard in matrix operations
    local X = idl.zeros(5, 7)
    for _ = 1, 200 do
      local Z = theta.D * X + theta.E * U
      idl.add_col(Z, 1, theta.f)
      X = Z:relu()
    end
    local ref = theta.A * X + theta.B * U
    idl.add_col(ref, 1, theta.c)
    assert.is_true(idl.equal(Y, ref, 1e-10))
    local _, info2 = m:predict_u(U, {tol = 1e-12, x0 = info.x})
    assert.is_true(info2.iterations <= 1)
    assert.is_true(m:wellposed().wellposed)
    assert.has_error(function() m:predict_u(idl.zeros(4, 2)) end,
      "idl.Model:predict_u: U is 4x2, expected 3 rows (features; columns are samples)")
  end)
end)

describe("model files", function()
  local rng = idl.rng(12)
  local m = model.new{theta = small_theta(rng, 2, 4, 3), lambda = idl.rand(4, 1, rng),
    constraint = {kind = "spectral", kappa = 0.75},
    meta = {classes = {"cat", "dog", "a b%c\n"}, note = "hello world", rounds = 12, flag = false,
      scale = idl.from_table{{1 / 3, 2e-300, -0.0, 1e300}}, codes = {1, 2.5}}}
  -- values that stress the printing: subnormal, huge, exact binary fractions
  m.theta.A:set(1, 1, 5e-324); m.theta.A:set(2, 2, 1.7976931348623157e308); m.theta.A:set(3, 3, 0.1)

  it("round-trips every value bit for bit", function()
    local path = tmpname("rt")
    m:save(path)
    local back = idl.load(path)
    os.remove(path)
    for _, k in ipairs(model.THETA_NAMES) do assert.is_true(idl.equal(back.theta[k], m.theta[k], 0)) end
    assert.is_true(idl.equal(back.lambda, m.lambda, 0))
    assert.are.same(m.constraint, back.constraint)
    assert.are.equal("squared", back.loss)
    assert.are.same({"cat", "dog", "a b%c\n"}, back.meta.classes)
    assert.are.same({1, 2.5}, back.meta.codes)
    assert.are.equal("hello world", back.meta.note)
    assert.are.equal(12, back.meta.rounds)
    assert.are.equal(false, back.meta.flag)
    assert.is_true(idl.equal(back.meta.scale, m.meta.scale, 0))
    assert.are.equal(model.serialize(m), model.serialize(back))
  end)

  it("writes through a temporary file and leaves no debris", function()
    local path = tmpname("atomic")
    m:save(path)
    m:save(path) -- overwrite
    local dir, base = path:match("^(.*)/([^/]*)$")
    local p = io.popen("ls '" .. dir .. "'")
    local listing = p:read("a"); p:close()
    assert.is_nil(listing:find(base .. ".tmp", 1, true))
    os.remove(path)
    assert.has_error(function() m:save("/nonexistent-dir/x.idl") end)
  end)

  it("refuses truncated, corrupted, foreign and future files with clear messages", function()
    local path = tmpname("bad")
    m:save(path)
    local text = read_all(path)
    write_all(path, text:sub(1, #text // 2))
    assert.has_error(function() idl.load(path) end,
      "idl.model.load: '" .. path .. "': truncated file (no 'end' line: the write was interrupted or the "
      .. "file was cut)")
    -- flip one digit in the middle
    local pos = text:find("matrix D")
    local i = text:find("%d", pos + 20)
    local digit = text:sub(i, i)
    write_all(path, text:sub(1, i - 1) .. (digit == "7" and "8" or "7") .. text:sub(i + 1))
    assert.has_error(function() idl.load(path) end,
      "idl.model.load: '" .. path .. "': corrupted file (checksum mismatch)")
    write_all(path, text:gsub("^IDL%-MODEL 1", "IDL-MODEL 2"))
    assert.has_error(function() idl.load(path) end,
      "idl.model.load: '" .. path .. "': format version 2 is not supported (this build reads version 1)")
    write_all(path, "hello\n")
    assert.has_error(function() idl.load(path) end,
      "idl.model.load: '" .. path .. "': not an IDL model file (the first line should be 'IDL-MODEL 1')")
    write_all(path, "")
    assert.has_error(function() idl.load(path) end, "idl.model.load: '" .. path .. "': empty file")
    os.remove(path)
    assert.has_error(function() idl.load(path) end)
  end)

  it("reports a malformed record of a file whose checksum is right", function()
    local body = "IDL-MODEL 1\nn 1\nh 1\np 1\nloss squared\nconstraint inf 0.5\nmatrix A 1 1\n1 2\n"
    local path = tmpname("malformed")
    write_all(path, body .. "end " .. model._checksum(body) .. "\n")
    assert.has_error(function() idl.load(path) end,
      "idl.model.load: '" .. path .. "': line 8: 2 numbers, expected 1")
    os.remove(path)
  end)

  it("refuses to save non-finite parameters", function()
    local bad = m:copy()
    bad.theta.f:set(1, 1, 0 / 0)
    assert.has_error(function() bad:save(tmpname("nan")) end,
      "idl.Model:save: f has NaN or infinite entries: nothing saved")
  end)
end)
