-- stream_fit_spec.lua: est:fit(source) and est:predict(source, {output})
-- (idl.estimator.stream_fit, idl.train.implicit_stream) against the in-memory
-- fit and predict on the same rows; the streamed statistics, normal
-- equations and sample against direct computations on the rows read whole;
-- the hold-out and warm-start budgets; malformed lines and bad arguments.

local idl = require "idl"
local initializers = require "idl.initializers"

local TMP = os.tmpname()
os.remove(TMP)
assert(os.execute("mkdir -p " .. TMP))

local read = require("idl._util").read_file

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(msg)
end

-- m rows of y = sin(2 x1) + x2^2 / 2 + noise, with n features; the file
-- (header x1..xn, y) and the matrices.
local function problem(name, m, n, seed)
  local g = idl.rng(seed or 1)
  local X = idl.randn(m, n, g)
  local y = idl.zeros(m, 1)
  for i = 1, m do
    local a, b = X:get(i, 1), X:get(i, 2)
    y:set(i, 1, math.sin(2 * a) + 0.5 * b * b + 0.05 * g:normal())
  end
  local names = {}
  for j = 1, n do names[j] = "x" .. j end
  names[n + 1] = "y"
  local path = TMP .. "/" .. name
  idl.write_csv(path, X:hcat(y), names)
  return path, X, y
end

local function max_diff(a, b) return (a - b):norm("max") end

describe("est:fit(source)", function()
  it("trains to the in-memory fit's parameters to rounding with one batch of every row", function()
    -- The same computation up to the order of sums: the statistics and the
    -- linear start's normal equations are merged batch by batch instead of
    -- summed at once (the same Cholesky solve, idl.readout_normal), the one
    -- batch holds the rows in file order instead of a permutation (the
    -- gradient's sums reordered), and the first epoch's warm start does not
    -- matter: the linear start has D = 0, so one Picard step from any x0 gives
    -- X = (E u + f)_+. Rounding differences (1e-16) grow through 15 epochs of
    -- Adam to ~1e-10 (measured); 1e-7 of the parameters' size bounds them,
    -- while a different batch, start or standardization moves them by 1e-3 and more.
    -- In double: single precision's dL/dD sums the reordered columns in float
    -- (differences of 1e-7 to begin with).
    local path, X, y = problem("full.csv", 200, 3)
    local src = idl.data.stream_csv(path, {target = "y", batch_size = 1000})
    local a = idl.IDLModel{hidden_variables = 8, verbosity = false, early_stopping = false, ensemble_size = 1}
    -- 3 epochs of the MLP phase (D held at 0), then 12 with D trained
    a:fit(src, nil, {rounds_number = 15, trainer_options = {warmup_epochs = 3, precision = "double"}})
    local b = idl.IDLModel{hidden_variables = 8, verbosity = false, early_stopping = false, ensemble_size = 1}
    b:fit(X, y, {rounds_number = 15,
      trainer_options = {batch_size = 0, warmup_epochs = 3, precision = "double"}})
    for _, k in ipairs{"A", "B", "c", "D", "E", "f"} do
      local scale = math.max(b.model.theta[k]:norm("max"), 1e-3)
      assert.is_true(max_diff(a.model.theta[k], b.model.theta[k]) < 1e-7 * scale, k)
    end
    assert.is_true(max_diff(a.model.theta.D, idl.zeros(8, 8)) > 1e-3, "training moved D")
    assert.are.equal(16, #a.history)
  end)

  it("with mini-batches and a hold-out, scores as the in-memory fit does (within noise)", function()
    -- not the same steps (file order and the source's batches against
    -- shuffled ones; a sampled hold-out against a permuted one): the same
    -- problem learned as well, on held-out test rows
    local path, X, y = problem("mini.csv", 2000, 4, 2)
    local _, Xt, yt = problem("mini_test.csv", 1000, 4, 3)
    local est = idl.IDLModel{hidden_variables = 20, verbosity = false}
    est:fit(idl.data.stream_csv(path, {target = "y", batch_size = 64}), nil, {rounds_number = 25})
    local mem = idl.IDLModel{hidden_variables = 20, verbosity = false, ensemble_size = 1}
    mem:fit(X, y, {rounds_number = 25, trainer_options = {batch_size = 64}})
    local r2, r2_mem = est:score(Xt, yt), mem:score(Xt, yt)
    assert.is_true(r2_mem > 0.9, "the in-memory fit learns the problem: " .. r2_mem)
    assert.is_true(r2 > r2_mem - 0.03, string.format("streamed R^2 %.4f, in memory %.4f", r2, r2_mem))
    assert.is_true(est.history[#est.history].eval_l2 < est.history[1].eval_l2, "the hold-out loss fell")
  end)

  it("holds out a sample of the rows, never trained on, and standardizes on the others", function()
    local path, X, y = problem("holdout.csv", 600, 3, 4)
    local est = idl.IDLModel{hidden_variables = 5, verbosity = false}
    est:fit(idl.data.stream_csv(path, {target = "y", batch_size = 50}), nil, {rounds_number = 2})
    local plan = est.state.trainer_state.plan
    local held = plan.held
    assert.are.equal(120, #held) -- 20% of 600 rows (the implicit trainer's holdout)
    local is_held = {}
    for i, r in ipairs(held) do
      is_held[r + 1] = true
      if i > 1 then assert.is_true(r > held[i - 1]) end
      -- the eval columns are the file's rows at those indices
      assert.are.equal(X:get(r + 1, 2), est.state.eval.U:get(2, i))
      assert.are.equal(y:get(r + 1, 1), est.state.eval.Y:get(1, i))
    end
    -- the standardization is that of the 480 other rows, computed directly
    local keep = {}
    for i = 1, 600 do if not is_held[i] then keep[#keep + 1] = i end end
    local Tr = X:hcat(y):t():select_cols(keep)
    local mean, scale = require("idl.standardize").row_scaler(Tr)
    assert.is_true(max_diff(plan.sc.u_mean, mean:sub(1, 3, 1, 1)) < 1e-12)
    assert.is_true(max_diff(plan.sc.u_scale, scale:sub(1, 3, 1, 1)) < 1e-12)
    assert.is_true(max_diff(plan.sc.y_mean, mean:sub(4, 4, 1, 1)) < 1e-12)
    assert.is_true(max_diff(plan.sc.y_scale, scale:sub(4, 4, 1, 1)) < 1e-12)
  end)

  it("caps the hold-out at holdout_max_rows and the warm starts at warm_start_memory", function()
    local path = problem("caps.csv", 400, 3, 5)
    local est = idl.IDLModel{hidden_variables = 6, verbosity = false}
    est:fit(idl.data.stream_csv(path, {target = "y", batch_size = 32}), nil, {rounds_number = 2,
      trainer_options = {holdout_max_rows = 25, warm_start_memory = 8 * 6 * 100}})
    assert.are.equal(25, est.state.eval.U:cols())
    assert.are.equal(100, est.state.trainer_state.st.xcache:cols()) -- 100 rows of h = 6 doubles
    local cold = idl.IDLModel{hidden_variables = 6, verbosity = false, ensemble_size = 1}
    cold:fit(idl.data.stream_csv(path, {target = "y", batch_size = 32}), nil, {rounds_number = 2,
      trainer_options = {warm_start_memory = 0}})
    assert.are.equal(0, cold.state.trainer_state.st.xcache:cols())
    local last = cold.history[#cold.history]
    assert.is_true(last.eval_l2 == last.eval_l2 and last.eval_l2 < cold.history[1].eval_l2 * 1.5)
  end)

  it("reports a malformed line deep in the file with its line number", function()
    local _, X, y = problem("good.csv", 300, 2, 6)
    local lines = {"x1,x2,y"}
    for i = 1, 300 do
      lines[#lines + 1] = string.format("%.17g,%.17g,%.17g", X:get(i, 1), X:get(i, 2), y:get(i, 1))
    end
    lines[251] = "0.5,oops,1"
    local path = TMP .. "/bad.csv"
    local f = assert(io.open(path, "wb"))
    f:write(table.concat(lines, "\n"), "\n")
    f:close()
    local est = idl.IDLModel{hidden_variables = 4, verbosity = false}
    local msg = err_of(est.fit, est, idl.data.stream_csv(path, {target = "y"}), nil, {rounds_number = 1})
    assert.matches("bad.csv:251:", msg, 1, true)
  end)

  it("checks its arguments", function()
    local path = problem("args.csv", 50, 2, 7)
    local src = idl.data.stream_csv(path, {target = "y"})
    local est = idl.IDLModel{hidden_variables = 3, verbosity = false}
    assert.matches("idl.IDLModel:fit: y must be nil when X is a data source",
      err_of(est.fit, est, src, idl.zeros(50, 1)), 1, true)
    assert.matches("the source has no target column",
      err_of(est.fit, est, idl.data.stream_csv(path)), 1, true)
    assert.matches("type_of_training 'implicit' only, not 'two_loops'",
      err_of(est.fit, est, src, nil, {type_of_training = "two_loops"}), 1, true)
    assert.matches("checkpoint_path cannot be combined with a data source",
      err_of(est.fit, est, src, nil, {checkpoint_path = TMP .. "/ck.idl"}), 1, true)
    assert.matches("one step per batch of the source",
      err_of(est.fit, est, src, nil, {trainer_options = {batch_size = 10}}), 1, true)
    assert.matches("warm_start_memory",
      err_of(est.fit, est, src, nil, {trainer_options = {warm_start_memory = -1}}), 1, true)
    if require("idl.mpi").available() then -- (without MPI, distributed = true says it needs MPI)
      assert.matches("distributed cannot be combined with a data source",
        err_of(est.fit, est, src, nil, {distributed = true}), 1, true)
    end
    assert.matches("idl.IDLModel:score: X is a data source",
      err_of(est.score, est, src, idl.zeros(50, 1)), 1, true)
    local clf = idl.IDLClassifier{verbosity = false}
    assert.matches("idl.IDLClassifier:fit: X is a data source", err_of(clf.fit, clf, src, {1, 2}), 1, true)
  end)
end)

describe("est:predict(source, {output})", function()
  local path, X, y = problem("pred_train.csv", 300, 3, 8)
  local est = idl.IDLModel{hidden_variables = 6, verbosity = false}
  est:fit(X, y, {rounds_number = 5})

  it("writes the predictions of every row, as predict(X) gives them", function()
    local out = TMP .. "/pred.csv"
    -- one batch of every row: the equilibria are those of predict(X), bit for bit
    local p, rows = est:predict(idl.data.stream_csv(path, {target = "y", batch_size = 1000}), {output = out})
    assert.are.equal(out, p)
    assert.are.equal(300, rows)
    local P, names = idl.read_csv(out)
    assert.are.same({"prediction"}, names)
    assert.is_true(idl.equal(P, est:predict(X)))
    -- in batches of 7 rows (the target column is not read): each batch's
    -- solve stops at tol on its own residual, so rows agree to the solver's tolerance
    est:predict(idl.data.stream_csv(path, {target = "y", batch_size = 7}), {output = out})
    assert.is_true(max_diff(idl.read_csv(out), est:predict(X)) < 1e-6)
    assert.is_true(est.predict_info.converged)
  end)

  it("keeps the old file when a line deep in the source is malformed", function()
    local out = TMP .. "/kept.csv"
    local f = assert(io.open(out, "wb"))
    f:write("old contents\n")
    f:close()
    -- a malformed row after 250 good ones, in a file without the target column
    local lines = {}
    for i = 1, 300 do
      lines[i] = string.format("%.17g,%.17g,%.17g", X:get(i, 1), X:get(i, 2), X:get(i, 3))
    end
    lines[251] = "1,2"
    local bad = TMP .. "/pred_bad.csv"
    f = assert(io.open(bad, "wb"))
    f:write(table.concat(lines, "\n"), "\n")
    f:close()
    local msg = err_of(est.predict, est, idl.data.stream_csv(bad, {batch_size = 16}), {output = out})
    assert.matches("pred_bad.csv:251:", msg, 1, true)
    assert.matches("nothing was written", msg, 1, true)
    assert.are.equal("old contents\n", read(out))
    local leftovers = io.popen("ls -a " .. TMP .. " | grep -c idl-tmp"):read("a")
    assert.are.equal("0", leftovers:match("%d+"))
  end)

  it("checks its arguments", function()
    local src = idl.data.stream_csv(path, {target = "y"})
    assert.matches("output", err_of(est.predict, est, src), 1, true)
    local nowhere = TMP .. "/no/such/dir.csv"
    assert.matches("cannot write", err_of(est.predict, est, src, {output = nowhere}), 1, true)
    assert.matches("the source has 4 feature columns, the model was fitted on 3",
      err_of(est.predict, est, idl.data.stream_csv(path), {output = TMP .. "/x.csv"}), 1, true)
    assert.matches("unknown", err_of(est.predict, est, src, {output = TMP .. "/x.csv", outptu = 1}), 1, true)
  end)
end)

describe("the streamed pass", function()
  it("gives the centred cross products and a sample of the file's rows", function()
    local path, X, y = problem("stats.csv", 500, 3, 9)
    local st = idl.data.stream_csv(path, {target = "y", batch_size = 37}):stats{comoments = true,
      sample = 40, seed = 2}
    local M = X:hcat(y)
    local C = M - idl.ones(500, 1) * (M:sum(1) / 500)
    assert.is_true(max_diff(st.comoments, C:t() * C) < 1e-9 * (C:t() * C):norm("max"))
    assert.are.equal(40, #st.sample.rows)
    for i, r in ipairs(st.sample.rows) do
      if i > 1 then assert.is_true(r > st.sample.rows[i - 1]) end
      assert.are.equal(M:get(r + 1, 1), st.sample.X:get(i, 1))
      assert.are.equal(M:get(r + 1, 4), st.sample.y:get(i, 1))
    end
    -- a sample of more rows than the file holds is the whole file
    local all = idl.data.stream_csv(path, {target = "y"}):stats{sample = 600}
    assert.are.equal(500, #all.sample.rows)
    assert.is_true(idl.equal(all.sample.X, X))
  end)

  it("gives the linear start of the rows in memory (initializers.linear_from_moments)", function()
    local path, X, y = problem("linear.csv", 300, 3, 10)
    local st = idl.data.stream_csv(path, {target = "y", batch_size = 29}):stats{comoments = true}
    local a = initializers.linear({U = X:t(), Y = y:t(), h = 4}, idl.rng(3), {ridge = 1e-4})
    local b = initializers.linear_from_moments(st, 4, idl.rng(3), {ridge = 1e-4})
    for _, k in ipairs{"A", "B", "c", "D", "E", "f"} do
      assert.is_true(max_diff(a[k], b[k]) < 1e-12 * math.max(1, a[k]:norm("max")), k)
    end
    assert.matches("moments.comoments", err_of(initializers.linear_from_moments,
      {x_mean = st.x_mean, x_scale = st.x_scale, y_mean = st.y_mean}, 4, idl.rng(1)), 1, true)
  end)
end)
