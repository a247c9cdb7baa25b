-- estimator_spec.lua: idl.IDLModel end to end: recovery of a known implicit
-- model, determinism, files, history, early stopping, the progress line, and
-- every bad input with its message.
local idl = require "idl"
local data = require "idl.data"
local metrics = require "idl.metrics"
local progress = require "idl.progress"

-- A known small implicit model and its data (rows are samples).
local X, y = data.implicit(500, idl.rng(1), {n = 3, h = 8, p = 2, density = 0.5, kappa = 0.5})
local Xtr, Xte, ytr, yte = data.train_test_split(X, y, {test_size = 100, rng = idl.rng(2)})

local function fit(params, opts)
  -- the report's settings (two_loops from picard_ls), which these tests were written for
  local p = {preset = "report", hidden_variables = 30, random_state = 0, verbosity = false}
  for k, v in pairs(params or {}) do p[k] = v end
  local o = {rounds_number = 5, eval_set = {Xte, yte}}
  for k, v in pairs(opts or {}) do o[k] = v end
  return idl.IDLModel(p):fit(Xtr, ytr, o)
end

local function errmsg(f)
  local ok, err = pcall(f)
  assert.is_false(ok)
  return (tostring(err):gsub("^.-:%d+: ", ""))
end

describe("idl.IDLModel", function()
  local est = fit()

  it("recovers the predictions of a known implicit model", function()
    local yhat = est:predict(Xte)
    assert.are.equal(100, yhat:rows()); assert.are.equal(2, yhat:cols())
    local spread = math.sqrt(metrics.mse(yte, idl.ones(100, 1) * (ytr:sum(1) / 400)))
    local rmse = metrics.rmse(yte, yhat)
    assert.is_true(rmse < 0.1 * spread, "rmse " .. rmse .. " spread " .. spread)
    assert.is_true(est:score(Xte, yte) > 0.99)
    local lr = idl.LinearRegression():fit(Xtr, ytr)
    assert.is_true(rmse < 0.5 * metrics.rmse(yte, lr:predict(Xte)))
    assert.is_true(est.predict_info.converged)
  end)

  it("is deterministic for a random_state, and the state matters", function()
    local again = fit()
    assert.is_true(idl.equal(est:predict(Xte), again:predict(Xte), 0))
    local other = fit({random_state = 1})
    assert.is_false(idl.equal(est:predict(Xte), other:predict(Xte), 1e-6))
  end)

  it("keeps a history whose losses match independent computations", function()
    local h = est.history
    assert.is_true(#h >= 2, "history of " .. #h .. " entries")
    assert.are.equal(0, h[1].round)
    -- early_stopping (the default) with an eval set restores the best round's model,
    -- so its predictions have that round's eval loss: L = mse * p / 2 with p = 2
    assert.is_near(metrics.mse(yte, est:predict(Xte)), h[est.best_round + 1].eval_l2, 1e-6)
    assert.is_near(metrics.mse(ytr, est:predict(Xtr)), h[est.best_round + 1].train_l2, 1e-6)
    for _, e in ipairs(h) do
      for _, k in ipairs{"G", "relaxed_l2", "train_l2", "eval_l2", "lambda_l1", "residual", "seconds"} do
        assert.is_number(e[k], k)
      end
    end
  end)

  it("restores the best eval model under early stopping", function()
    -- tol_fenchel small and short inner loops: two_loops neither converges nor
    -- settles, so early stopping ends the run, after a best round that is
    -- neither the initialization nor the last round (the restore matters)
    local e2 = fit({early_stopping = true, patience = 2, tol_fenchel = 1e-6, inner_tol = 1e-12,
      inner_max_iter = 5},
      {rounds_number = 30})
    assert.are.equal("early_stopping", e2.stop_reason)
    local last = #e2.history - 1
    assert.is_true(last < 30, "ran all " .. last .. " rounds")
    assert.are.equal(last - 2, e2.best_round) -- patience 2
    assert.is_true(e2.best_round >= 1, "the best is the initialization")
    local best = e2.history[e2.best_round + 1]
    for _, e in ipairs(e2.history) do assert.is_true(best.eval_l2 <= e.eval_l2) end
    local L = metrics.mse(yte, e2:predict(Xte)) -- = 2 L / p with p = 2
    assert.is_near(best.eval_l2, L, 1e-6 * math.max(L, 1))
    local final = e2.history[last + 1].eval_l2
    assert.is_true(final - best.eval_l2 > 1e-5,
      string.format("the last round (eval L %.9g) is as good as the best (%.9g)", final, best.eval_l2))
  end)

  it("saves and loads to identical predictions", function()
    local path = os.tmpname()
    est:save(path)
    local back = idl.IDLModel.load(path)
    assert.is_true(idl.equal(est:predict(Xte), back:predict(Xte), 0))
    assert.are.equal(30, back:get_params().hidden_variables)
    est.model:save(path)
    local m = idl.load(path)
    os.remove(path)
    local yh = m:predict_u(Xte:t(), {tol = est.params.tol, max_iter = 10000})
    assert.is_true(idl.equal(yh:t(), est:predict(Xte), 0))
  end)

  it("accepts Lua tables and vectors, and never modifies its inputs", function()
    local Xt, yt = {}, {}
    for i = 1, 60 do
      local x = (i - 30) / 10
      Xt[i] = {x}
      yt[i] = math.abs(x)
    end
    local e = idl.IDLModel{preset = "report", hidden_variables = 10, verbosity = false}
      :fit(Xt, yt, {rounds_number = 3})
    assert.are.equal(1, e:predict({{0.5}, {-1}}):cols())
    assert.is_true(e:score(Xt, yt) > 0.9)
    assert.are.same({0.1}, Xt[31]); assert.are.equal(0.1, yt[31])
    local X0, y0 = Xtr:copy(), ytr:copy()
    local theta = {A = idl.zeros(2, 4), B = idl.zeros(2, 3), c = idl.zeros(2, 1), D = idl.full(4, 4, 1),
      E = idl.ones(4, 3), f = idl.ones(4, 1)}
    local lam = idl.full(4, 1, 0.2)
    idl.IDLModel{preset = "report", hidden_variables = 4, initialization_theta = theta, starting_lambda = lam,
      verbosity = false}:fit(Xtr, ytr, {rounds_number = 2})
    assert.is_true(idl.equal(Xtr, X0) and idl.equal(ytr, y0))
    assert.are.equal(4, theta.D:norm("inf") / 1) -- untouched (the copy was projected)
    assert.are.equal(0.2, lam:get(4, 1))
  end)

  it("trains with each trainer and each constraint set", function()
    for _, tt in ipairs{"two_loops", "one_loop", "bcd"} do
      for _, c in ipairs{{kind = "inf", kappa = 0.8}, {kind = "spectral", kappa = 0.8}, {kind = "lmi"}} do
        local e = fit({hidden_variables = 6, constraint = c}, {rounds_number = 2, type_of_training = tt})
        assert.is_true(e.model:wellposed().in_constraint, tt .. " " .. c.kind)
        assert.is_true(e:predict(Xte):all_finite())
      end
    end
  end)

  it("get_params and set_params copy and check", function()
    local e = idl.IDLModel{hidden_variables = 3}
    local p = e:get_params()
    assert.are.equal(3, p.hidden_variables); assert.are.equal(0.1, p.dual_learning_rate)
    assert.are.equal(0.1, p.tol_fenchel); assert.are.equal(1e-3, p.inner_tol)
    assert.are.equal(0, p.random_state); assert.is_true(p.early_stopping); assert.is_true(p.verbosity)
    assert.are.same({kind = "inf", kappa = 0.9}, p.constraint)
    p.hidden_variables = 99
    assert.are.equal(3, e:get_params().hidden_variables)
    assert.are.equal(e, e:set_params{hidden_variables = 7, tol_fenchel = 0.5})
    assert.are.equal(7, e:get_params().hidden_variables)
    assert.are.equal("idl.IDLModel:set_params: unknown option 'hiden_variables' in parameters "
      .. "(did you mean 'hidden_variables'?)",
      errmsg(function() e:set_params{hiden_variables = 1} end))
    assert.are.equal("idl.IDLModel:set_params: inner_tol must be > 0, got 0",
      errmsg(function() e:set_params{inner_tol = 0} end))
  end)
end)

describe("idl.IDLModel parameter schema", function()
  local trainers = require "idl.trainers"
  -- a trainer that changes nothing: the eval loss never improves, so early
  -- stopping ends the run after exactly `patience` rounds
  setup(function()
    trainers.register("idle_spec", function() return false end, {relaxed = false,
      fit_defaults = {patience = 40}})
  end)
  teardown(function() trainers.registry.idle_spec = nil end)

  local function rounds_run(params)
    local p = {hidden_variables = 2, verbosity = false}
    for k, v in pairs(params) do p[k] = v end
    local e = idl.IDLModel(p):fit(Xtr, ytr, {rounds_number = 100, type_of_training = "idle_spec",
      eval_set = {Xte, yte}})
    assert.are.equal("early_stopping", e.stop_reason)
    return #e.history - 1, e
  end

  it("an explicit value equal to the default is not taken for unset", function()
    assert.are.equal(10, (rounds_run{patience = 10}))
    assert.are.equal(7, (rounds_run{patience = 7}))
    local n, e = rounds_run{}
    assert.are.equal(40, n) -- the trainer's declared default
    assert.is_nil(e:get_params().patience)
    -- set_params and a clone through get_params keep the distinction
    assert.are.equal(10, (rounds_run(e:set_params{patience = 10}:get_params())))
    assert.are.equal(40, (rounds_run(idl.IDLModel{verbosity = false}:get_params())))
  end)

  it("monitor_train_every is per-trainer: implicit measures the train loss every 20th round", function()
    local function implicit_fit(params)
      local p = {hidden_variables = 4, random_state = 0, verbosity = false}
      for k, v in pairs(params) do p[k] = v end
      return idl.IDLModel(p):fit(Xtr, ytr, {rounds_number = 22, type_of_training = "implicit"})
    end
    local sparse, dense = implicit_fit{}, implicit_fit{monitor_train_every = 1}
    assert.is_nil(sparse:get_params().monitor_train_every)
    assert.are.equal(23, #sparse.history) -- the initialization and 22 rounds
    for i, e in ipairs(sparse.history) do
      local measured = e.round % 20 == 0 or i == #sparse.history
      assert.are.equal(measured, e.train_l2 ~= nil, "round " .. e.round)
      assert.is_not_nil(e.eval_l2) -- early stopping reads it every round
      assert.is_not_nil(dense.history[i].train_l2)
      assert.are.equal(dense.history[i].eval_l2, e.eval_l2) -- monitoring only: the same training
    end
    assert.are.same(dense.model.theta.D:totable(), sparse.model.theta.D:totable())
  end)

  it("two_loops measures the true train loss every 10th round too; G and the eval loss every round",
    function()
    local function two_loops_fit(params)
      local p = {hidden_variables = 4, random_state = 0, verbosity = false, preset = "report",
        early_stopping = false, tol_fenchel = 1e-6}
      for k, v in pairs(params) do p[k] = v end
      return idl.IDLModel(p):fit(Xtr, ytr, {rounds_number = 12, eval_set = {Xte, yte}})
    end
    local sparse, dense = two_loops_fit{}, two_loops_fit{monitor_train_every = 1}
    assert.are.equal(13, #sparse.history)
    for i, e in ipairs(sparse.history) do
      assert.are.equal(e.round % 10 == 0 or i == #sparse.history, e.train_l2 ~= nil, "round " .. e.round)
      assert.is_not_nil(e.G)
      assert.are.equal(dense.history[i].eval_l2, e.eval_l2)
    end
    assert.are.same(dense.model.theta.D:totable(), sparse.model.theta.D:totable())
  end)

  it("preset = \"report\" gives the report's settings; values given explicitly win", function()
    local est = require "idl.estimator"
    -- the report's section 4 and 6 settings: h = 1, alpha = eps = 0.1, inner
    -- tolerance 1e-3, the Picard least-squares start, the two-loop trainer,
    -- raw input coordinates
    local report = {hidden_variables = 1, dual_learning_rate = 0.1, tol_fenchel = 0.1, inner_tol = 1e-3,
      initialization = "picard_ls", centre_inputs = false, ensemble_size = 1}
    assert.are.same(report, est.SCHEMA:preset("report"))
    assert.are.same({type_of_training = "two_loops"}, est.FIT_SCHEMA:preset("report"))
    local e = idl.IDLModel{preset = "report", hidden_variables = 3, tol_fenchel = 0.25, verbosity = false}
    local p = e:get_params()
    assert.are.equal(3, p.hidden_variables)
    assert.are.equal(0.25, p.tol_fenchel)
    assert.are.equal(0.1, p.dual_learning_rate)
    assert.are.equal("report", p.preset)
    -- set_params with the preset resets the others to it, except those given
    e:set_params{dual_learning_rate = 0.5}
    assert.are.equal(0.5, e:get_params().dual_learning_rate)
    e:set_params{preset = "report", inner_tol = 1e-4}
    p = e:get_params()
    assert.are.same({0.1, 0.1, 1, 1e-4},
      {p.dual_learning_rate, p.tol_fenchel, p.hidden_variables, p.inner_tol})
    -- fit trains two_loops (a relaxed trainer: its history has relaxed losses)
    -- unless told otherwise
    e:fit(Xtr, ytr, {rounds_number = 1})
    assert.is_number(e.history[2].relaxed_l2)
    e:fit(Xtr, ytr, {rounds_number = 1, type_of_training = "implicit"})
    assert.is_nil(e.history[2].relaxed_l2)
    assert.truthy(est.docs():find("| `hidden_variables` | `[^|]*; preset report: 1` |"))
    assert.truthy(errmsg(function() idl.IDLModel{preset = "paper"} end):find("preset", 1, true))
  end)

  it("derives the defaults, resume list and docs from one declaration", function()
    local est = require "idl.estimator"
    local p = idl.IDLModel{}:get_params()
    for _, name in ipairs(est.PARAM_NAMES) do
      local entry = est.SCHEMA:info(name)
      if not entry.per_trainer then assert.are.same(entry.default, p[name], name) end
    end
    local doc = est.docs()
    for _, name in ipairs(est.PARAM_NAMES) do
      assert.truthy(doc:find("| `" .. name .. "` |", 1, true), name)
    end
    -- the implicit trainer's declared patience shows beside the default
    assert.truthy(doc:match("\n| `patience` | `10;[^|]* implicit: 15[^|]*` |"))
    -- fit's options likewise: the schema is what fit accepts
    local fit_doc = est.fit_docs()
    for _, name in ipairs(est.FIT_SCHEMA.names) do
      assert.truthy(fit_doc:find("| `" .. name .. "` |", 1, true), name)
    end
    assert.truthy(errmsg(function() idl.IDLModel{}:fit(Xtr, ytr, {on_stepp = print}) end)
      :find("unknown option 'on_stepp' in options (did you mean 'on_step'?)", 1, true))
    assert.are.same({"hidden_variables", "dual_learning_rate", "tol_fenchel", "inner_tol", "random_state",
      "early_stopping", "inner_max_iter", "patience", "min_improvement", "loss", "monitor_tol",
      "monitor_precision", "monitor_train_every", "centre_inputs"}, est.SCHEMA:flagged("resume"))
  end)
end)

describe("idl.IDLModel bad input", function()
  local e = idl.IDLModel{hidden_variables = 2, verbosity = false}
  local nanX = Xtr:copy(); nanX:set(7, 2, 0 / 0)
  local infy = ytr:copy(); infy:set(3, 1, math.huge)
  local cases = {
    {function() idl.IDLModel{hidden_variable = 2} end,
      "idl.IDLModel: unknown option 'hidden_variable' in parameters (did you mean 'hidden_variables'?)"},
    {function() idl.IDLModel{hidden_variables = 0} end, "idl.IDLModel: hidden_variables must be >= 1, got 0"},
    {function() idl.IDLModel{hidden_variables = 2.5} end,
      "idl.IDLModel: hidden_variables must be an integer, got 2.5"},
    {function() idl.IDLModel{dual_learning_rate = -1} end,
      "idl.IDLModel: dual_learning_rate must be >= 0, got -1"},
    {function() idl.IDLModel{tol_fenchel = "big"} end,
      'idl.IDLModel: tol_fenchel must be a number >= 0, got "big"'},
    {function() idl.IDLModel{early_stopping = "yes"} end,
      'idl.IDLModel: early_stopping must be a boolean, got "yes"'},
    {function() idl.IDLModel{random_state = -3} end, "idl.IDLModel: random_state must be >= 0, got -3"},
    {function() idl.IDLModel{starting_lambda = -1} end,
      "idl.IDLModel: starting_lambda must be >= 0, got -1"},
    {function() idl.IDLModel{constraint = {kind = "inf", kappa = 2}} end,
      "idl.IDLModel: constraint.kappa must be < 1 for a well-posed model, got 2"},
    {function() idl.IDLModel{initialization = "zeros"} end,
      'idl.IDLModel: initialization must be one of "linear", "picard_ls", "random", "subproblems", '
        .. '"user", got "zeros"'},
    {function() idl.IDLModel{initialization_theta = {A = idl.ones(1, 1)}} end,
      "idl.IDLModel: theta.B is missing"},
    {function() e:fit(nanX, ytr) end, "idl.IDLModel:fit: X has a NaN or infinite entry at (7, 2)"},
    {function() e:fit(Xtr, infy) end, "idl.IDLModel:fit: y has a NaN or infinite entry at (3, 1)"},
    {function() e:fit(Xtr, yte) end,
      "idl.IDLModel:fit: X has 400 rows (samples), y has 100: one target row per sample"},
    {function() e:fit({}, {}) end, "idl.IDLModel:fit: X is empty"},
    {function() e:fit(idl.zeros(0, 3), idl.zeros(0, 1)) end, "idl.IDLModel:fit: X is empty (0x3)"},
    {function() e:fit("data", ytr) end, "idl.IDLModel:fit: X must be a matrix or a Lua table, got string"},
    {function() e:fit(Xtr, 5) end, "idl.IDLModel:fit: y must be a matrix or a Lua table, got number"},
    {function() e:fit(nil, ytr) end, "idl.IDLModel:fit: X is missing"},
    {function() e:fit({{1, 2}, {3}}, {1, 2}) end, "idl.IDLModel:fit: X: row 2 has 1 entries, row 1 has 2"},
    {function() e:fit({{1}, {"a"}}, {1, 2}) end,
      "idl.IDLModel:fit: X: entry (2, 1) must be a number, got string"},
    {function() e:fit(Xtr, ytr, {round_number = 5}) end,
      "idl.IDLModel:fit: unknown option 'round_number' in options (did you mean 'rounds_number'?)"},
    {function() e:fit(Xtr, ytr, {rounds_number = -1}) end,
      "idl.IDLModel:fit: rounds_number must be >= 0, got -1"},
    {function() e:fit(Xtr, ytr, {verbose = 1}) end, "idl.IDLModel:fit: verbose must be a boolean, got 1"},
    {function() e:fit(Xtr, ytr, {eval_set = {Xte}}) end,
      "idl.IDLModel:fit: eval_set must be a table {X_eval, y_eval}, got table"},
    {function() e:fit(Xtr, ytr, {eval_set = {Xte:sub(1, 100, 1, 2), yte}}) end,
      "idl.IDLModel:fit: eval_set[1] has 2 columns (features), X has 3"},
    {function() e:fit(Xtr, ytr, {eval_set = {Xte, ytr}}) end,
      "idl.IDLModel:fit: eval_set[1] has 100 rows (samples), eval_set[2] has 400: one target row per sample"},
    {function() e:fit(Xtr, ytr, {callbacks = {1}}) end,
      "idl.IDLModel:fit: callbacks[1] must be a function, got 1"},
    {function() idl.IDLModel{preset = "report", starting_lambda = idl.ones(3, 1)}:fit(Xtr, ytr) end,
      "idl.IDLModel:fit: starting_lambda is 3x1, expected 1x1 (hidden_variables = 1)"},
    {function() idl.IDLModel{loss = "softmax_xent"}:fit(Xtr, ytr, {type_of_training = "two_loops"}) end,
      "idl.IDLModel:fit: type_of_training 'two_loops' trains the relaxed problem, which needs the squared "
      .. "loss; "
      .. "the model's loss is 'softmax_xent'"},
    {function() idl.IDLModel{}:predict(Xte) end,
      "idl.IDLModel:predict: the model is not fitted: call fit(X, y) first"},
  }
  for i, case in ipairs(cases) do
    it("case " .. i .. ": " .. case[2], function()
      assert.are.equal(case[2], errmsg(case[1]))
    end)
  end

  it("names an unknown trainer with the registered ones", function()
    local msg = errmsg(function() e:fit(Xtr, ytr, {type_of_training = "three_loops"}) end)
    assert.matches('^idl.IDLModel:fit: type_of_training must be one of .*"two_loops".*, got "three_loops"$',
      msg)
  end)

  it("checks predict's input and options", function()
    local f = fit({hidden_variables = 3}, {rounds_number = 1})
    assert.are.equal("idl.IDLModel:predict: X has 2 columns (features), the model was fitted on 3",
      errmsg(function() f:predict(idl.zeros(4, 2)) end))
    assert.are.equal("idl.IDLModel:predict: unknown option 'k_iteration' in options "
      .. "(did you mean 'k_iterations'?)",
      errmsg(function() f:predict(Xte, {k_iteration = 5}) end))
    assert.are.equal("idl.IDLModel:score: X has 100 rows (samples), y has 400: one target row per sample",
      errmsg(function() f:score(Xte, ytr) end))
  end)
end)

describe("idl.progress", function()
  local function sink()
    local t = {parts = {}}
    function t.write(self, ...) for _, s in ipairs{...} do self.parts[#self.parts + 1] = s end end
    function t.text(self) return table.concat(self.parts) end
    return t
  end

  it("shows round, figures and rate on a terminal, rewriting one line", function()
    local out = sink()
    local bar = progress.new{total = 10, label = "fit", stream = out, force = true, fields = {"G", "eval_l2"}}
    bar:update(1, {G = 0.5, eval_l2 = 1.25e-3, other = 3})
    bar:update(2, {G = 0.25, eval_l2 = 1e-3})
    bar:finish("done")
    local text = out:text()
    assert.matches("^\rfit  1/10  G 5%.000e%-01  eval_l2 1%.250e%-03  [%d.]+ r/s  eta %S+", text)
    assert.matches("\rfit  2/10  G 2%.500e%-01", text)
    assert.is_nil(text:find("other", 1, true))
    assert.matches("\ndone\n$", text)
  end)

  it("stays quiet off a terminal, or when disabled", function()
    local real = progress.is_terminal
    local out = sink()
    progress.is_terminal = function() return false end
    local est = idl.IDLModel{preset = "report", hidden_variables = 2}
    local saved = io.stderr
    io.stderr = out -- luacheck: ignore 122
    local ok, err = pcall(est.fit, est, Xtr, ytr, {rounds_number = 2, verbose = true})
    progress.is_terminal = function() return true end
    local ok2, err2 = pcall(est.fit, est, Xtr, ytr, {rounds_number = 2, verbose = false})
    local ok3, err3 = pcall(est.fit, est, Xtr, ytr, {rounds_number = 2, verbose = true})
    io.stderr = saved -- luacheck: ignore 122
    progress.is_terminal = real
    assert.is_true(ok, err); assert.is_true(ok2, err2); assert.is_true(ok3, err3)
    local text = out:text()
    -- only the third fit (terminal and verbose) wrote: two rounds and a summary
    assert.matches("^\rtwo_loops  1/2", text)
    assert.matches("stopped by", text)
    local _, rounds = text:gsub("\rtwo_loops", "")
    assert.is_true(rounds >= 1 and rounds <= 2)
  end)
end)
