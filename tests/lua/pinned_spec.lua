-- pinned_spec.lua: the file formats are pinned. tests/lua/fixtures holds a
-- model file and checkpoints written by fixtures/make_pinned.lua (from the
-- values of fixtures/pinned_values.lua): pinned_checkpoint_v1.ckpt by the code
-- of issue 15 (checkpoint format 1), pinned_checkpoint.ckpt after the exact data
-- fingerprints (format 2).
-- Every later version must read them identically, or refuse them with a
-- message that names the format version; never misread them. The checks use
-- references from outside idl.model: the hand-chosen values, a reader of the
-- text written here, an FNV-1a written here, a forward pass through the
-- equilibrium in plain Lua, and the algebra of standardized coordinates.
local idl = require "idl"
local model = require "idl.model"
local json = require "idl.json"

local source_dir = os.getenv("IDL_SOURCE_DIR") or "."
local fixtures = source_dir .. "/tests/lua/fixtures"
local support = dofile(source_dir .. "/tests/lua/support.lua")
local pinned = dofile(fixtures .. "/pinned_values.lua")
local MODEL = fixtures .. "/pinned_model.idl"
local CHECKPOINTS = {{path = fixtures .. "/pinned_checkpoint_v1.ckpt", format = 1},
  {path = fixtures .. "/pinned_checkpoint.ckpt", format = 2}}

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  return text
end

-- A reader of the format's matrices and header written for this test (not
-- idl.model's): {name = rows (Lua tables)}, the header fields, the meta keys.
local function parse_text(text)
  local lines = {}
  for line in text:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  local out = {matrices = {}, header = {}, meta_keys = {}}
  local i = 1
  local function rows(name, r, c)
    local t = {}
    for k = 1, r do
      local row = {}
      for tok in lines[i + k]:gmatch("%S+") do row[#row + 1] = assert(tonumber(tok), tok) end
      assert(#row == c, name .. ": row " .. k .. " has " .. #row .. " numbers")
      t[k] = row
    end
    i = i + r
    return t
  end
  while i <= #lines do
    local line = lines[i]
    local name, r, c = line:match("^matrix (%S+) (%d+) (%d+)$")
    local key, mr, mc = line:match("^meta (%S+) matrix (%d+) (%d+)$")
    if name then
      out.matrices[name] = rows(name, tonumber(r), tonumber(c))
    elseif key then
      out.matrices["meta:" .. key] = rows(key, tonumber(mr), tonumber(mc))
    elseif line:match("^meta ") then
      out.meta_keys[#out.meta_keys + 1] = line:match("^meta (%S+)")
    else
      local k, v = line:match("^(%S+) (.*)$")
      if k and not out.header[k] then out.header[k] = v end
    end
    i = i + 1
  end
  return out
end

-- y = A x + B u + c with x = (D x + E u + f)_+, by fixed-point iteration in
-- plain Lua (D is a contraction in the inf-norm: 200 iterations at 0.5 or less
-- reach the double precision fixed point), for one input u.
local function forward(th, u)
  local h, n = #th.D, #u
  local x = {}
  for i = 1, h do x[i] = 0 end
  for _ = 1, 200 do
    local nx = {}
    for i = 1, h do
      local z = th.f[i][1]
      for j = 1, h do z = z + th.D[i][j] * x[j] end
      for j = 1, n do z = z + th.E[i][j] * u[j] end
      nx[i] = math.max(z, 0)
    end
    x = nx
  end
  local y = {}
  for k = 1, #th.A do
    local v = th.c[k][1]
    for j = 1, h do v = v + th.A[k][j] * x[j] end
    for j = 1, n do v = v + th.B[k][j] * u[j] end
    y[k] = v
  end
  return y
end

-- Loads path: the model, or (with another format version in this build) the
-- refusal, which must name the version.
local function load_or_refusal(path)
  local ok, m = pcall(idl.load, path)
  if not ok and model.VERSION ~= 1 then
    assert.matches("format version 1 is not supported", tostring(m))
    return nil
  end
  assert.is_true(ok, tostring(m))
  return m
end

local function same_rows(want, m, what)
  assert.are.equal(#want, m:rows(), what .. " rows")
  for i = 1, #want do
    assert.are.equal(#want[i], m:cols(), what .. " cols")
    for j = 1, #want[i] do assert.are.equal(want[i][j], m:get(i, j), what .. "(" .. i .. "," .. j .. ")") end
  end
end

describe("the pinned model file", function()
  local text = read_file(MODEL)

  it("is the file make_pinned.lua writes: the hand-chosen values, a valid checksum line", function()
    assert.are.equal("IDL-MODEL 1", text:match("^[^\n]*"))
    local body, sum = text:match("^(.*\n)end (%x+)\n$")
    assert.is_string(body, "no end line")
    assert.are.equal(support.fnv1a32(body), sum)
    local parsed = parse_text(text)
    for k, rows in pairs(pinned.theta) do assert.same(rows, parsed.matrices[k], "theta." .. k) end
    assert.same(pinned.lambda, parsed.matrices.lambda)
    assert.same(pinned.meta.grid, parsed.matrices["meta:grid"])
    assert.same({n = "2", h = "3", p = "1", loss = "squared", constraint = "inf 0.5"},
      {n = parsed.header.n, h = parsed.header.h, p = parsed.header.p, loss = parsed.header.loss,
        constraint = parsed.header.constraint})
  end)

  it("loads to exactly those values, lambda, constraint and meta fields", function()
    local m = load_or_refusal(MODEL)
    if not m then return end
    for k, rows in pairs(pinned.theta) do same_rows(rows, m.theta[k], "theta." .. k) end
    same_rows(pinned.lambda, m.lambda, "lambda")
    assert.same(pinned.constraint, m.constraint)
    assert.are.equal("squared", m.loss)
    assert.are.equal(2, m.n); assert.are.equal(3, m.h); assert.are.equal(1, m.p)
    assert.are.equal(pinned.meta.note, m.meta.note)
    assert.are.equal(pinned.meta.count, m.meta.count)
    assert.are.equal(true, m.meta.flag)
    assert.same(pinned.meta.labels, m.meta.labels)
    same_rows(pinned.meta.grid, m.meta.grid, "meta.grid")
  end)

  it("predicts what a forward pass through the equilibrium in plain Lua gives", function()
    local m = load_or_refusal(MODEL)
    if not m then return end
    local inputs = {{0, 0}, {1, -1}, {-2, 0.5}, {3, 2}, {0.25, -4}}
    local U = idl.zeros(2, #inputs)
    for j, u in ipairs(inputs) do U:set(1, j, u[1]); U:set(2, j, u[2]) end
    local Y = m:predict_u(U, {tol = 1e-14, max_iter = 1000})
    for j, u in ipairs(inputs) do
      local y = forward(pinned.theta, u)
      assert.is_near(y[1], Y:get(1, j), 1e-12 * math.max(1, math.abs(y[1])), "input " .. j)
    end
  end)

  it("is written back byte for byte by this version's writer (format version 1)", function()
    local m = load_or_refusal(MODEL)
    if not m then return end
    if model.VERSION == 1 then assert.are.equal(text, model.serialize(m)) end
  end)

  it("another format version is refused with a message that names it", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    assert(f:write((text:gsub("^IDL%-MODEL 1\n", "IDL-MODEL 99\n"))))
    assert(f:close())
    local ok, err = pcall(idl.load, path)
    os.remove(path)
    assert.is_false(ok)
    assert.matches("format version 99 is not supported %(this build reads version %d+%)", tostring(err))
  end)
end)

-- The checkpoint format this build writes.
local function format_today()
  local X, y = pinned.checkpoint_data()
  local fresh = os.tmpname()
  local fit = {checkpoint_path = fresh}
  for k, v in pairs(pinned.checkpoint_fit) do fit[k] = v end
  idl.IDLModel(pinned.checkpoint_params):fit(X, y, fit)
  local f = idl.load(fresh).meta["checkpoint.format"]
  os.remove(fresh)
  return f
end

for _, pin in ipairs(CHECKPOINTS) do
  local CHECKPOINT = pin.path
  describe("the pinned checkpoint of format " .. pin.format, function()
    local text = read_file(CHECKPOINT)
    local parsed = parse_text(text)

    it("has a valid checksum line and holds a model, its trainer state and its fit record", function()
      local body, sum = text:match("^(.*\n)end (%x+)\n$")
      assert.is_string(body, "no end line")
      assert.are.equal(support.fnv1a32(body), sum)
      local ck = load_or_refusal(CHECKPOINT)
      if not ck then return end
      assert.are.equal(pin.format, ck.meta["checkpoint.format"])
      for _, k in ipairs{"A", "B", "c", "D", "E", "f"} do
        same_rows(parsed.matrices[k], ck.theta[k], "theta." .. k)
      end
      local state = json.decode(ck.meta["checkpoint.state"])
      assert.are.equal(pinned.checkpoint_fit.rounds_number, state.round)
      assert.are.equal(pinned.checkpoint_fit.rounds_number + 1, #state.history)
      local fit = json.decode(ck.meta["checkpoint.fit"])
      assert.are.equal("implicit", fit.type_of_training)
    end)

    it("its model predicts what a forward pass through the equilibrium in plain Lua gives", function()
      local ck = load_or_refusal(CHECKPOINT)
      if not ck then return end
      local th = {}
      for _, k in ipairs{"A", "B", "c", "D", "E", "f"} do th[k] = parsed.matrices[k] end
      local X = pinned.checkpoint_data()
      local U = idl.from_table(X):t()
      local Y = ck:predict_u(U, {tol = 1e-14, max_iter = 5000})
      for j = 1, #X, 7 do
        local y = forward(th, X[j])
        assert.is_near(y[1], Y:get(1, j), 1e-10 * math.max(1, math.abs(y[1])), "sample " .. j)
      end
    end)

    -- theta' (the implicit trainer's standardized parameters) and theta (raw
    -- units) describe one function: E' = E Su, f' = f + E mu, A' = A / sy,
    -- B' = B Su / sy, c' = (c + B mu - my) / sy, D' = D (Su = diag(su)).
    it("its standardized parameters are the raw ones in standardized coordinates", function()
      local M = parsed.matrices
      local function get(name) return assert(M["meta:checkpoint.implicit." .. name], name) end
      local mu, su = get("sc.u_mean"), get("sc.u_scale")
      local my, sy = get("sc.y_mean")[1][1], get("sc.y_scale")[1][1]
      local T = {A = get("theta.A"), B = get("theta.B"), c = get("theta.c"), D = get("theta.D"),
        E = get("theta.E"), f = get("theta.f")}
      local h, n = #M.D, #M.B[1]
      local function near(want, got, what)
        assert.is_near(want, got, 1e-9 * math.max(1, math.abs(want)), what)
      end
      local bmu = 0
      for j = 1, n do
        bmu = bmu + M.B[1][j] * mu[j][1]
        near(M.B[1][j] * su[j][1] / sy, T.B[1][j], "B'")
      end
      near((M.c[1][1] + bmu - my) / sy, T.c[1][1], "c'")
      for i = 1, h do
        near(M.A[1][i] / sy, T.A[1][i], "A'")
        local emu = 0
        for j = 1, n do
          emu = emu + M.E[i][j] * mu[j][1]
          near(M.E[i][j] * su[j][1], T.E[i][j], "E'")
        end
        near(M.f[i][1] + emu, T.f[i][1], "f'")
        for j = 1, h do assert.are.equal(M.D[i][j], T.D[i][j], "D'") end
      end
    end)

    it("resumes to the end of its run, keeping its history (or is refused for its format)", function()
      local ck = load_or_refusal(CHECKPOINT)
      if not ck then return end
      local state = json.decode(ck.meta["checkpoint.state"])
      local X, y = pinned.checkpoint_data()
      local est = idl.IDLModel(pinned.checkpoint_params)
      local ok, err = pcall(est.fit, est, X, y, {resume = CHECKPOINT,
        rounds_number = pinned.checkpoint_rounds_total,
        trainer_options = pinned.checkpoint_fit.trainer_options})
      -- a checkpoint of the format this build writes must resume; another one
      -- may be refused, with a message that names its format
      if not ok and format_today() ~= pin.format then
        assert.matches("checkpoint format " .. pin.format .. " is not supported", tostring(err))
        return
      end
      assert.is_true(ok, tostring(err))
      assert.are.equal(pinned.checkpoint_rounds_total + 1, #est.history)
      assert.is_true(#state.history >= 2)
      for i, e in ipairs(state.history) do
        assert.are.equal(e.round, est.history[i].round)
        assert.are.equal(e.eval_l2, est.history[i].eval_l2, "eval_l2 of round " .. e.round)
        assert.are.equal(e.train_l2, est.history[i].train_l2, "train_l2 of round " .. e.round)
      end
      local r = est:score(X, y)
      assert.is_true(r == r, "the resumed model scores NaN")
    end)
  end)
end
