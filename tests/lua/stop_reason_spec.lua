-- stop_reason_spec.lua: a fit that reaches its round cap says whether it was
-- still improving (stop_reason "rounds_number_still_improving" and a
-- stop_message that says to raise rounds_number), and only then.
local idl = require "idl"
local support = dofile((os.getenv("IDL_SOURCE_DIR") or ".") .. "/tests/lua/support.lua")

-- A scripted trainer: round r sets the readout to the constant plan[r] (A = 0,
-- B = 0), so with zero targets the eval loss of round r is plan[r]^2 / 2 and
-- the best round is known in advance.
local plan
idl.trainers.register("test_stop_plan", function(s)
  local th = s.model.theta
  idl.fill(th.A, 0); idl.fill(th.B, 0); idl.fill(th.c, plan[s.round])
  idl.trainers.invalidate(s)
  return false
end)

local U = idl.rand(30, 2, idl.rng(5), -1, 1)
local zeros = idl.zeros(30, 1)

-- opts: fit options (eval_set = false: none); params: more estimator parameters.
local function fit(p, opts, params)
  plan = p
  local prm = {hidden_variables = 2, random_state = 0, verbosity = false, patience = 100,
    initialization_theta = {A = idl.zeros(1, 2), B = idl.zeros(1, 2), c = idl.full(1, 1, p[0]),
      D = idl.zeros(2, 2), E = idl.ones(2, 2), f = idl.zeros(2, 1)}}
  for k, v in pairs(params or {}) do prm[k] = v end
  local est = idl.IDLModel(prm)
  local o = {type_of_training = "test_stop_plan", rounds_number = #p, eval_set = {U, zeros}}
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.eval_set == false then o.eval_set = nil end
  est:fit(U, zeros, o)
  return est
end

describe("stop_reason at the round cap", function()
  it("says the validation loss was still improving when the last round is the best", function()
    local est = fit({[0] = 10, 9, 8, 7, 6, 5})
    assert.are.equal("rounds_number_still_improving", est.stop_reason)
    assert.are.equal(5, est.best_round)
    assert.matches("raise rounds_number", est.stop_message, 1, true)
    assert.matches("best at round 5", est.stop_message, 1, true)
  end)

  it("counts a best round in the last tenth of the rounds as still improving", function()
    local p = {[0] = 30}
    for r = 1, 20 do p[r] = 30 - r end
    p[20] = 11 -- round 19 (10) is the best, inside the last tenth (rounds 19 and 20)
    local est = fit(p)
    assert.are.equal(19, est.best_round)
    assert.are.equal("rounds_number_still_improving", est.stop_reason)
  end)

  it("stays rounds_number when the best came earlier (a plateau)", function()
    local p = {[0] = 30}
    for r = 1, 20 do p[r] = 30 - r end
    p[19], p[20] = 12, 13 -- best at round 18, before the last tenth
    local est = fit(p)
    assert.are.equal(18, est.best_round)
    assert.are.equal("rounds_number", est.stop_reason)
    assert.is_nil(est.stop_message)
  end)

  it("stays rounds_number when no round beat the initialization", function()
    -- with an eval set: the best is round 0; without one, training losses measured
    -- every 10th round leave round 0 as the only score of a 3-round run
    assert.are.equal("rounds_number", fit({[0] = 1, 2, 3}).stop_reason)
    local est = fit({[0] = 3, 2, 1}, {eval_set = false}, {monitor_train_every = 10})
    assert.are.equal(0, est.best_round)
    assert.are.equal("rounds_number", est.stop_reason)
  end)

  it("verbose output says so and how to train longer", function()
    local err = support.capture_stderr(function() fit({[0] = 4, 3, 2}, {verbose = true}) end)
    assert.matches("still improving", err, 1, true)
    assert.matches("raise rounds_number", err, 1, true)
  end)
end)
