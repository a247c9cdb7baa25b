-- checkpoint_spec.lua: long runs. Checkpoints (fit's checkpoint_path and
-- checkpoint_every, trainers.checkpoint) and resume give the same model, bit
-- for bit, as a run that was never stopped; Ctrl-C (SIGINT) during fit, in a
-- script and in the REPL of the idl executable, stops after the round, keeps
-- the model, writes a checkpoint, and fit returns.
-- Run as: idl /usr/bin/busted tests/lua/checkpoint_spec.lua (IDL_EXE names the executable).

local idl = require "idl"
local trainers = require "idl.trainers"

local exe = os.getenv("IDL_EXE") or "build/bin/idl"

-- The data and the estimator come from tests/lua/support.lua, in this process
-- and in the scripts run as child processes (SETUP is their first lines).
local SUPPORT = (os.getenv("IDL_SOURCE_DIR") or ".") .. "/tests/lua/support.lua"
local SETUP = string.format([[
local idl = require "idl"
local support = dofile(%q)
local data, estimator = support.data, support.estimator
]], SUPPORT)

local data, estimator = assert(load(SETUP .. "return data, estimator"))()

local function quote(s) return "'" .. (tostring(s):gsub("'", [['\'']])) .. "'" end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

local function write_file(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function make_temp_dir()
  local p = assert(io.popen("mktemp -d"))
  local dir = p:read("l")
  p:close()
  return dir
end

local function ls(dir)
  local p = assert(io.popen("ls -A " .. quote(dir)))
  local names = {}
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  table.sort(names)
  return names
end

local capture_stderr = dofile(SUPPORT).capture_stderr

-- Two histories agree entry by entry (timings aside).
local function same_history(a, b)
  assert.are.equal(#a, #b)
  for i = 1, #a do
    for k, v in pairs(a[i]) do
      if k ~= "seconds" and k ~= "round_seconds" then
        assert.are.equal(v, b[i][k], string.format("history[%d].%s", i, k))
      end
    end
  end
end

local function same_model(a, b)
  for _, k in ipairs(idl.model.THETA_NAMES) do
    assert.is_true(idl.equal(a.theta[k], b.theta[k], 0), "theta." .. k)
  end
  assert.is_true(idl.equal(a.lambda, b.lambda, 0), "lambda")
end

local dir
setup(function() dir = make_temp_dir() end)
teardown(function() os.execute("rm -rf " .. quote(dir)) end)

describe("fit with checkpoints and resume", function()
  local X, y = data()

  -- 6 rounds straight; then 6 rounds with a checkpoint every round, stopped by
  -- a callback after round `stop_at`, and resumed to 6 (params: the
  -- estimator's, over support.estimator's).
  local function straight_and_resumed(opts, stop_at, params)
    local path = dir .. "/" .. opts.type_of_training .. ".ckpt"
    local o = {rounds_number = 6}
    for k, v in pairs(opts) do o[k] = v end
    local straight = estimator(params):fit(X, y, o)
    o.checkpoint_every, o.checkpoint_path = 1, path
    o.callbacks = function(s) return s.round == stop_at end
    local stopped = estimator(params):fit(X, y, o)
    assert.are.equal("callback", stopped.stop_reason)
    assert.are.equal(stop_at, stopped.state.round)
    local resumed = estimator(params):fit(X, y, {resume = path, rounds_number = 6})
    return straight, resumed, stopped, path
  end

  it("two_loops: stopped after 3 rounds, resumed to 6: the predictions of 6 rounds straight", function()
    local straight, resumed, stopped, path = straight_and_resumed({type_of_training = "two_loops"}, 3)
    assert.is_true(idl.equal(straight:predict(X), resumed:predict(X), 0))
    same_model(straight.model, resumed.model)
    assert.is_true(idl.equal(straight.state.X, resumed.state.X, 0))
    same_history(straight.history, resumed.history)
    assert.are.equal(7, #resumed.history)
    assert.are.equal("rounds_number", resumed.stop_reason)
    -- the checkpoint is a model file: the model of round 3 (no eval set: nothing restored)
    same_model(stopped.model, idl.load(path))
    assert.are.same({"two_loops.ckpt"}, ls(dir)) -- written atomically: no temporary file left
  end)

  it("implicit: the same (standardized theta, Adam state, generator, warm starts, hold-out)", function()
    local straight, resumed = straight_and_resumed({type_of_training = "implicit"}, 3)
    assert.is_true(idl.equal(straight:predict(X), resumed:predict(X), 0))
    same_model(straight.model, resumed.model)
    same_history(straight.history, resumed.history)
    assert.are.equal(straight.best_round, resumed.best_round)
  end)

  it("implicit across the end of its MLP phase (from D = 0, D released after 2 epochs)", function()
    for _, stop_at in ipairs{1, 2, 3} do
      local straight, resumed = straight_and_resumed({type_of_training = "implicit",
        trainer_options = {warmup_epochs = 2}}, stop_at, {initialization = "linear"})
      assert.are.equal(0, straight.history[3].inner_iterations) -- the MLP phase solves nothing
      assert.is_true(straight.history[4].inner_iterations > 0)
      assert.is_true(idl.equal(straight:predict(X), resumed:predict(X), 0), "stopped at " .. stop_at)
      same_model(straight.model, resumed.model)
      same_history(straight.history, resumed.history)
    end
  end)

  it("hybrid across its switch to implicit rounds, with trainer_options from the checkpoint", function()
    for _, stop_at in ipairs{2, 4} do
      local straight, resumed = straight_and_resumed({type_of_training = "hybrid",
        trainer_options = {fenchel_rounds = 3, learning_rate = 0.01}}, stop_at)
      assert.is_true(idl.equal(straight:predict(X), resumed:predict(X), 0))
      same_history(straight.history, resumed.history)
    end
  end)

  it("a run that ended by itself resumes to the same end, without more rounds", function()
    local path = dir .. "/converged.ckpt"
    local function est() return estimator{tol_fenchel = 10} end -- no unit above tol: converged
    local a = est():fit(X, y, {rounds_number = 6, checkpoint_path = path})
    assert.are.equal("converged", a.stop_reason)
    local b = est():fit(X, y, {resume = path})
    assert.are.equal("converged", b.stop_reason)
    assert.are.equal(#a.history, #b.history)
    assert.is_true(idl.equal(a:predict(X), b:predict(X), 0))
    os.remove(path)
  end)

  it("checks what it resumes", function()
    local path = dir .. "/check.ckpt"
    estimator():fit(X, y, {rounds_number = 2, checkpoint_path = path})
    local function err_of(f)
      local ok, err = pcall(f)
      assert.is_false(ok)
      return err
    end
    local plain = dir .. "/plain.idl"
    estimator():fit(X, y, {rounds_number = 1}):save(plain)
    assert.truthy(err_of(function() estimator():fit(X, y, {resume = plain}) end):find(
      "fit: resume: '" .. plain .. "' is not a checkpoint of fit (written with checkpoint_path)", 1, true))
    assert.truthy(err_of(function() estimator():fit(X, y, {resume = dir .. "/none"}) end):find(
      "fit: resume: cannot open", 1, true))
    local X2 = X:copy()
    X2:set(5, 2, 7)
    assert.truthy(err_of(function() estimator():fit(X2, y, {resume = path}) end):find(
      "idl.IDLModel:fit: the training data differs from the data of the checkpoint", 1, true))
    assert.truthy(err_of(function() estimator{dual_learning_rate = 0.2}:fit(X, y, {resume = path}) end):find(
      "fit: resume: the checkpoint was written with dual_learning_rate = 0.1, this estimator has 0.2", 1,
      true))
    assert.truthy(err_of(function() estimator():fit(X, y, {resume = path, type_of_training = "bcd"}) end)
      :find("fit: resume: the checkpoint was written by type_of_training 'two_loops', not 'bcd'", 1, true))
    assert.truthy(err_of(function() estimator():fit(X, y, {checkpoint_every = 2}) end):find(
      "fit: checkpoint_every needs checkpoint_path", 1, true))
    assert.truthy(err_of(function() estimator():fit(X, y, {checkpoint_path = 3}) end):find(
      "fit: checkpoint_path must be a non-empty string, got 3", 1, true))
    assert.truthy(err_of(function() trainers.resume(plain, {}) end):find("resume: not a checkpoint", 1, true))
  end)

  it("a checkpoint that cannot be written is a warning: training goes on", function()
    local warned, est = capture_stderr(function()
      return estimator():fit(X, y, {rounds_number = 3, checkpoint_every = 1,
        checkpoint_path = dir .. "/no_such_dir/c.ckpt"})
    end)
    assert.are.equal("rounds_number", est.stop_reason)
    assert.are.equal(4, #est.history)
    assert.truthy(warned:find("fit: round 1: the checkpoint was not written: ", 1, true), warned)
    local ref = estimator():fit(X, y, {rounds_number = 3})
    assert.is_true(idl.equal(ref:predict(X), est:predict(X), 0))
  end)
end)

describe("trainers.checkpoint and trainers.resume", function()
  it("continue a run of trainers.run (one_loop, with an evaluation set and early stopping)", function()
    local g = idl.rng(11)
    local theta = {A = idl.randn(1, 5, g), B = idl.randn(1, 2, g), c = idl.zeros(1, 1),
      D = idl.randn(5, 5, g, 0, 0.2), E = idl.randn(5, 2, g), f = idl.randn(5, 1, g)}
    idl.project_inf_(theta.D, 0.5)
    local truth = idl.model.new{theta = theta}
    local U, Ue = idl.randn(2, 40, g), idl.randn(2, 10, g)
    local Y, Ye = truth:predict_u(U) + idl.randn(1, 40, g, 0, 0.1), truth:predict_u(Ue)
    local function fresh()
      local t = {}
      for k, v in pairs(theta) do t[k] = v * 0.5 end
      return trainers.new_state{model = idl.model.new{theta = t, lambda = idl.full(5, 1, 0.01)}, U = U, Y = Y,
        eval = {U = Ue, Y = Ye}}
    end
    local cfg = {tol_fenchel = 1e-8, inner_max_iter = 10, early_stopping = true, patience = 3}
    local function config(rounds)
      local c = {rounds_number = rounds}
      for k, v in pairs(cfg) do c[k] = v end
      return c
    end
    local a = fresh()
    trainers.run("one_loop", a, config(8))
    local b = fresh()
    trainers.run("one_loop", b, config(3))
    local path = trainers.checkpoint(b, dir .. "/state.ckpt", {note = "three rounds"})
    assert.are.equal("three rounds", idl.load(path).meta.note)
    local c = trainers.resume(path, {U = U, Y = Y, eval = {U = Ue, Y = Ye}})
    trainers.run("one_loop", c, config(5))
    same_model(a.model, c.model)
    assert.is_true(idl.equal(a.X, c.X, 0))
    same_history(a.history, c.history)
    assert.are.equal(a.stop_reason, c.stop_reason)
    assert.has_error(function() trainers.resume(path, {U = U, Y = Y}) end,
      "idl.trainers.resume: the checkpoint has an evaluation set, data.eval is missing")
  end)
end)

-- ---------------------------------------------------------------------------
-- SIGINT

-- A script for the idl executable: fits 6 rounds with a checkpoint path; at
-- round 2 its callback writes the marker and waits for the signal (so the
-- interrupt always lands during training, at the same round), then fit must
-- stop after that round and return. With `twice`, it then waits for a second
-- signal, which must abort.
local SCRIPT = SETUP .. [[
local marker, ckpt, twice = arg[1], arg[2], arg[3] == "twice"
local X, y = data()
local est = estimator()
est:fit(X, y, {rounds_number = 6, checkpoint_path = ckpt, callbacks = function(s)
  if s.round ~= 2 then return end
  local f = assert(io.open(marker, "w"))
  f:write("training\n")
  f:close()
  local t0 = idl.clock()
  while not idl._interrupted() do
    if idl.clock() - t0 > 60 then error("no SIGINT within 60 s") end
  end
  if twice then
    f = assert(io.open(marker .. ".2", "w"))
    f:close()
    while idl.clock() - t0 < 60 do end
    print("the second SIGINT did not abort")
  end
end})
print("stop_reason", est.stop_reason, est.state.round)
est:save(ckpt .. ".model")
]]

-- Starts `cmd` in the background, sends SIGINT once each marker file exists
-- (polled, at most ~20 s each), waits for it; returns its exit status.
local function run_interrupted(cmd, markers)
  local lines = {cmd .. " &", "pid=$!"}
  for _, m in ipairs(markers) do
    lines[#lines + 1] = string.format(
      "i=0; while [ ! -e %s ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i+1)); done", quote(m))
    lines[#lines + 1] = "kill -INT $pid"
  end
  lines[#lines + 1] = "wait $pid"
  local _, how, code = os.execute("sh -c " .. quote(table.concat(lines, "\n")))
  return how == "exit" and code or nil
end

describe("Ctrl-C (SIGINT) during fit", function()
  local X, y = data()

  it("kill -INT stops a script's fit after the round; resuming gives the uninterrupted result", function()
    local script, marker, ckpt = dir .. "/fit.lua", dir .. "/marker", dir .. "/sig.ckpt"
    write_file(script, SCRIPT)
    local code = run_interrupted(string.format("%s %s %s %s > %s 2> %s", quote(exe), quote(script),
      quote(marker), quote(ckpt), quote(dir .. "/out"), quote(dir .. "/err")), {marker})
    local out, err = read_file(dir .. "/out"), read_file(dir .. "/err")
    assert.are.equal(0, code, err)
    assert.are.equal("stop_reason\tinterrupted\t2\n", out)
    assert.truthy(err:find("fit: training interrupted after round 2; checkpoint written to " .. ckpt, 1,
      true), err)
    -- the model the script kept is usable and is the checkpoint's
    same_model(idl.load(ckpt .. ".model"), idl.load(ckpt))
    local resumed = estimator():fit(X, y, {resume = ckpt, rounds_number = 6})
    local straight = estimator():fit(X, y, {rounds_number = 6})
    assert.are.equal("rounds_number", resumed.stop_reason)
    assert.is_true(idl.equal(straight:predict(X), resumed:predict(X), 0))
    same_history(straight.history, resumed.history)
  end)

  it("a second SIGINT aborts as before (the handler that was in place)", function()
    local script, marker = dir .. "/fit2.lua", dir .. "/marker2"
    write_file(script, SCRIPT)
    local code = run_interrupted(string.format("%s %s %s %s twice > %s 2> %s", quote(exe), quote(script),
      quote(marker), quote(dir .. "/c2.ckpt"), quote(dir .. "/out2"), quote(dir .. "/err2")),
      {marker, marker .. ".2"})
    local out, err = read_file(dir .. "/out2"), read_file(dir .. "/err2")
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.truthy(err:find("interrupted!", 1, true), err)
  end)

  it("Ctrl-C in the REPL stops fit after the round; the session goes on with the model", function()
    local marker, setup_file = dir .. "/marker3", dir .. "/setup.lua"
    write_file(setup_file, SETUP .. "return data, estimator\n")
    local input = string.format([[
idl = require "idl"
data, estimator = dofile(%q)
X, y = data()
est = estimator()
est:fit(X, y, {rounds_number = 6, callbacks = function(s) if s.round == 2 then io.open(%q, "w"):close() ]]
      .. [[local t = idl.clock() while not idl._interrupted() and idl.clock() - t < 60 do end end end})
print(est.stop_reason, est.state.round, est:predict(X):all_finite())
]], setup_file, marker)
    write_file(dir .. "/in", input)
    local code = run_interrupted(string.format("%s < %s > %s 2> %s", quote(exe), quote(dir .. "/in"),
      quote(dir .. "/out3"), quote(dir .. "/err3")), {marker})
    local out, err = read_file(dir .. "/out3"), read_file(dir .. "/err3")
    assert.are.equal(0, code, err)
    assert.truthy(out:find("interrupted\t2\ttrue\n", 1, true), out .. err)
    assert.is_nil(err:find("interrupted!", 1, true))
  end)
end)
