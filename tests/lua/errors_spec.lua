-- errors_spec.lua: the one error mechanism (idl._api). An error names the
-- public function the user called ("idl.IDLModel:fit: ...") and blames the
-- user's line, however deep in the library it was found: in an inner public
-- function (score -> predict, IDLClassifier:fit -> IDLModel:fit), in a
-- helper, or in a C function.
local idl = require "idl"

local SRC = debug.getinfo(1, "S").short_src
local NOWHERE = "/nonexistent_idl_dir/x.idl"

local X, y = idl.randn(12, 2, idl.rng(1)), idl.randn(12, 1, idl.rng(2))
local fitted = idl.IDLModel{hidden_variables = 2, verbosity = false}:fit(X, y, {rounds_number = 1})

-- The position and the message of the error f raises.
local function caught(f)
  local ok, err = pcall(f)
  assert.is_false(ok)
  assert.are.equal("string", type(err))
  local pos, msg = err:match("^(.-:%d+): (.*)$")
  assert.truthy(pos, "no position in: " .. err)
  return pos, msg
end

-- Each case calls the library on one line, the line whose number it records.
local cases = {
  {"IDLModel:save (unfitted)", "idl.IDLModel:save: the model is not fitted", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.IDLModel{}:save(NOWHERE)
  end},
  {"IDLModel:save (a file that cannot be written)", "idl.IDLModel:save: cannot write", function(at)
    at.line = debug.getinfo(1, "l").currentline; fitted:save(NOWHERE)
  end},
  {"IDLModel.load", "idl.IDLModel.load: cannot open", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.IDLModel.load(NOWHERE)
  end},
  {"idl.load", "idl.model.load: cannot open", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.load(NOWHERE)
  end},
  {"IDLModel:fit", "idl.IDLModel:fit: X has 12 rows (samples), y has 3", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.IDLModel{}:fit(X, {1, 2, 3})
  end},
  {"IDLModel:fit (a bad option)", "idl.IDLModel:fit: rounds_number must be >= 0, got -1", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.IDLModel{}:fit(X, y, {rounds_number = -1})
  end},
  {"IDLModel:predict", "idl.IDLModel:predict: X has 3 columns (features), the model was fitted on 2",
    function(at)
    at.line = debug.getinfo(1, "l").currentline; fitted:predict(idl.ones(2, 3))
  end},
  -- found by predict, which score calls: named after score
  {"IDLModel:score", "idl.IDLModel:score: X has 3 columns (features), the model was fitted on 2", function(at)
    at.line = debug.getinfo(1, "l").currentline; fitted:score(idl.ones(2, 3), {1, 2})
  end},
  -- found by IDLModel:fit, which IDLClassifier:fit calls
  {"IDLClassifier:fit", "idl.IDLClassifier:fit: rounds_number must be >= 0", function(at)
    local labels = {1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2}
    at.line = debug.getinfo(1, "l").currentline; idl.IDLClassifier{}:fit(X, labels, {rounds_number = -1})
  end},
  {"IDLModel (constructor)", "idl.IDLModel: hidden_variables must be >= 1, got 0", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.IDLModel{hidden_variables = 0}
  end},
  {"Model:hidden (a solver option)", "idl.Model:hidden: options.tol must be >= 0, got -1", function(at)
    at.line = debug.getinfo(1, "l").currentline; fitted.model:hidden(idl.ones(2, 3), {tol = -1})
  end},
  {"json.encode (deep inside a value)", "idl.json.encode: $.a[2] is a function", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.json.encode{a = {1, print}}
  end},
  {"metrics.r2", "idl.metrics.r2: y is 2x1, y_hat is 3x1", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.metrics.r2({1, 2}, {1, 2, 3})
  end},
  {"trainers.run", "idl.trainers.run: unknown trainer 'nope'", function(at)
    local s = idl.trainers.new_state{model = fitted.model, U = X:t(), Y = y:t()}
    at.line = debug.getinfo(1, "l").currentline; idl.trainers.run("nope", s, {rounds_number = 1})
  end},
  -- found by the trainer's option schema, deep in the loop
  {"trainers.run (a trainer option)", "idl.trainers.run: unknown option 'learning_rat'", function(at)
    local s = idl.trainers.new_state{model = fitted.model, U = X:t(), Y = y:t()}
    local config = {rounds_number = 1, trainer_options = {learning_rat = 1}}
    at.line = debug.getinfo(1, "l").currentline; idl.trainers.run("implicit", s, config)
  end},
  {"initializers.picard_ls", "idl.initializers.picard_ls: opts.kappa must be > 0, got -1", function(at)
    local problem = {U = X:t(), Y = y:t(), h = 2}
    at.line = debug.getinfo(1, "l").currentline; idl.initializers.picard_ls(problem, idl.rng(1), {kappa = -1})
  end},
  {"plot.lines", "idl.plot.lines: opts.path (the image file) is missing", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.plot.lines{series = {{y = {1, 2}}}}
  end},
  {"experiment.write_csv", "idl.experiment.write_csv: rows[1] must be a table, got 3", function(at)
    local ex = require "idl.experiment"
    at.line = debug.getinfo(1, "l").currentline; ex.write_csv(NOWHERE, {"a"}, {3})
  end},
  {"model_selection.KFold", "idl.model_selection.KFold: n_splits must be >= 2, got 1", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.model_selection.KFold{n_splits = 1}
  end},
  {"KFold:split", "idl.model_selection.KFold:split: 3 samples cannot make 5 folds", function(at)
    local kf = idl.model_selection.KFold{n_splits = 5}
    at.line = debug.getinfo(1, "l").currentline; kf:split(3)
  end},
  -- found by the splitter cross_val_score builds
  {"model_selection.cross_val_score (its folds)", "idl.model_selection.cross_val_score: 12 samples cannot "
    .. "make 20 folds", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.model_selection.cross_val_score(fitted, X, y, {cv = 20})
  end},
  -- found by IDLModel:fit, which cross_val_score calls on each fold
  {"model_selection.cross_val_score (a fit option)", "idl.model_selection.cross_val_score: rounds_number "
    .. "must be >= 0, got -1", function(at)
    local opts = {cv = 2, fit_options = {rounds_number = -1}}
    at.line = debug.getinfo(1, "l").currentline; idl.model_selection.cross_val_score(fitted, X, y, opts)
  end},
  -- found by the scorer
  {"model_selection.cross_val_score (a scorer)", "idl.model_selection.cross_val_score: neg_log_loss needs "
    .. "a classifier", function(at)
    local lr, opts = idl.LinearRegression{}, {cv = 2, scoring = "neg_log_loss"}
    at.line = debug.getinfo(1, "l").currentline; idl.model_selection.cross_val_score(lr, X, y, opts)
  end},
  -- found by LinearRegression's constructor, before any fit
  {"model_selection.grid_search (a setting)", "idl.model_selection.grid_search: unknown option 'ridg' in "
    .. "parameters", function(at)
    local lr = idl.LinearRegression{}
    at.line = debug.getinfo(1, "l").currentline; idl.model_selection.grid_search(lr, {ridg = {1}}, X, y)
  end},
  {"model_selection.permutation_importance", "idl.model_selection.permutation_importance: X has 12 rows, "
    .. "y has 2 labels", function(at)
    local clf = idl.IDLClassifier{hidden_variables = 2, verbosity = false}
    at.line = debug.getinfo(1, "l").currentline; idl.model_selection.permutation_importance(clf, X, {1, 2})
  end},
  {"metrics.accuracy (labels)", "idl.metrics.accuracy: y[2] is \"a\": labels must all be numbers or all "
    .. "strings", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.metrics.accuracy({1, "a"}, {1, 2})
  end},
  -- found by trainers.resume, which fit calls to resume
  {"IDLModel:fit (resume on other data)", "idl.IDLModel:fit: the training data differs from the data of the "
    .. "checkpoint", function(at)
    local path = os.tmpname()
    local est = idl.IDLModel{hidden_variables = 2, verbosity = false}
    est:fit(X, y, {rounds_number = 1, checkpoint_path = path})
    local X2 = X:copy()
    X2:set(1, 1, 5)
    local _, err = pcall(function()
      at.line = debug.getinfo(1, "l").currentline; est:fit(X2, y, {resume = path})
    end)
    os.remove(path)
    error(err, 0)
  end},
  -- found by a buffer check inside the step
  {"optim.adam", "idl.optim.adam: state.m.P is 1x1, params.P is 2x2", function(at)
    local P = {P = idl.ones(2, 2)}
    local feval = function() return 0, {P = idl.ones(2, 2)} end
    local state = {m = {P = idl.ones(1, 1)}}
    at.line = debug.getinfo(1, "l").currentline; idl.optim.adam(feval, P, {}, state)
  end},
  {"optim.schedule_lr", "idl.optim.schedule_lr: unknown kind 'linear'", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.optim.schedule_lr({kind = "linear", lr = 1}, {}, 1)
  end},
  {"optim.check_gradient", "idl.optim.check_gradient: opts.eps must be > 0, got 0", function(at)
    local P, f = {P = idl.ones(1, 1)}, function() return 0 end
    at.line = debug.getinfo(1, "l").currentline; idl.optim.check_gradient(f, P, P, {eps = 0})
  end},
  {"data.load_csv", "idl.data.load_csv: unknown option 'targt' in options", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.data.load_csv(NOWHERE, {targt = "a"})
  end},
  {"trainers.new_state", "idl.trainers.new_state: model must be an idl.model, got 3", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.trainers.new_state{model = 3, U = X:t(), Y = y:t()}
  end},
  {"idl.help", "idl.help: no such name: idl.no_such_thing", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.help("idl.no_such_thing")
  end},
  {"idl.timing", "idl.timing: on must be a boolean, got 1", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.timing(1)
  end},
  -- a trainer state JSON cannot hold, found while encoding the checkpoint
  {"trainers.checkpoint (a state JSON cannot hold)", "idl.trainers.checkpoint: the state cannot be written: "
    .. "$.unsaveable.f is a function, which JSON cannot hold", function(at)
    idl.trainers.register{name = "unsaveable", round = function() return {loss = 1} end,
      save_state = function() return {f = print} end, restore_state = function() end}
    local s = idl.trainers.new_state{model = fitted.model:copy(), U = X:t(), Y = y:t()}
    idl.trainers.run("unsaveable", s, {rounds_number = 1})
    at.line = debug.getinfo(1, "l").currentline; idl.trainers.checkpoint(s, NOWHERE)
  end},
  -- a C function of the engine
  {"idl.zeros (C)", "idl.zeros: rows must be a non-negative integer", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.zeros(-1, 2)
  end},
  {"rng:permutation (C)", "idl.rng:permutation: n must be in [0, ", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.rng(1):permutation(-1)
  end},
  {"matrix * (C)", "matrix * (matmul): A is 2x2, B is 1x2", function(at)
    local A = idl.ones(2, 2)
    at.line = debug.getinfo(1, "l").currentline; local _ = A * idl.ones(1, 2)
  end},
  {"idl.gemm (C)", "idl.gemm: ", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.gemm(idl.ones(2, 2), idl.ones(3, 3))
  end},
  {"matrix:get (C)", "idl.matrix:get: ", function(at)
    at.line = debug.getinfo(1, "l").currentline; idl.ones(2, 2):get(5, 1)
  end},
}

describe("an error", function()
  for _, case in ipairs(cases) do
    local label, expected, call = case[1], case[2], case[3]
    it("of " .. label .. " names the function and blames the caller's line", function()
      local at = {}
      local pos, msg = caught(function() call(at) end)
      assert.are.equal(SRC .. ":" .. at.line, pos)
      assert.are.equal(expected, msg:sub(1, #expected))
    end)
  end

  it("raised from a user's callback during fit blames the callback's line", function()
    local line
    local pos, msg = caught(function()
      local est = idl.IDLModel{hidden_variables = 2, verbosity = false}
      est:fit(X, y, {rounds_number = 1, callbacks = function()
        line = debug.getinfo(1, "l").currentline; fitted:predict(idl.ones(2, 3))
      end})
    end)
    assert.are.equal(SRC .. ":" .. line, pos)
    assert.are.equal("idl.IDLModel:predict: X has 3 columns", msg:sub(1, 37))
  end)

  it("of a checkpoint that cannot be written is a warning without a library position", function()
    local s = idl.trainers.new_state{model = fitted.model:copy(), U = X:t(), Y = y:t()}
    local warned = {}
    idl.trainers.run("one_loop", s, {rounds_number = 1, checkpoint_path = NOWHERE,
      warn = function(m) warned[#warned + 1] = m end})
    assert.are.equal(1, #warned)
    local expected = "round 1: the checkpoint was not written: "
    assert.are.equal(expected, warned[1]:sub(1, #expected))
    assert.is_nil(warned[1]:find("lua/idl/", 1, true), warned[1])
    assert.is_nil(warned[1]:find(":%d+: "), warned[1])
    assert.truthy(warned[1]:find(NOWHERE, 1, true))
  end)

  it("is the caller's even without a public function on the stack (an internal helper)", function()
    local api = require "idl._api"
    local line
    local pos, msg = caught(function()
      line = debug.getinfo(1, "l").currentline; api.check("x", "number", "v")
    end)
    assert.are.equal(SRC .. ":" .. line, pos)
    assert.are.equal('idl: v must be a number, got "x"', msg)
  end)
end)
