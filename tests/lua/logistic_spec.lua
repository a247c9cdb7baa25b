-- logistic_spec.lua: multinomial logistic regression (idl.logistic), the
-- classifier's linear model. The reference is the optimality condition of
-- the objective, written out here sample by sample in plain Lua:
--   J(B, c) = 1/m sum_i -log softmax(B u_i + c)[y_i] + ridge/2 sum_jk (B_jk sd_k)^2
-- (sd_k the standard deviation of feature k: the penalty is on the
-- coefficients of the standardized inputs), whose gradient vanishes at the
-- minimum and nowhere else (J is strictly convex).
local idl = require "idl"
local logistic = require "idl.logistic"

-- Three overlapping classes in 4 features, one of them on a scale 100 times
-- the others (the standardization must undo it); labels 1..3.
local function problem(m, seed)
  local g = idl.rng(seed)
  local X, labels = idl.zeros(m, 4), {}
  for i = 1, m do
    local x = {g:normal(0, 1), g:normal(0, 100), g:normal(0, 1), g:normal(0, 1)}
    local z = {x[1] + g:normal(0, 0.5), -x[1] + 0.01 * x[2] + g:normal(0, 0.7), 0.3 * x[3]}
    local best = 1
    for k = 2, 3 do if z[k] > z[best] then best = k end end
    for j = 1, 4 do X:set(i, j, x[j]) end
    labels[i] = best
  end
  return X, labels
end

-- J and its gradient (as Lua tables) at coefficients coef (n x k) and
-- intercept (1 x k), samples the rows of X.
local function objective(X, labels, coef, intercept, ridge)
  local m, n, k = X:rows(), X:cols(), coef:cols()
  local gB, gc, value = {}, {}, 0
  for a = 1, k do
    gc[a] = 0
    gB[a] = {}
    for j = 1, n do gB[a][j] = 0 end
  end
  for i = 1, m do
    local z, zmax = {}, -math.huge
    for a = 1, k do
      z[a] = intercept:get(1, a)
      for j = 1, n do z[a] = z[a] + X:get(i, j) * coef:get(j, a) end
      zmax = math.max(zmax, z[a])
    end
    local total = 0
    for a = 1, k do total = total + math.exp(z[a] - zmax) end
    value = value - (z[labels[i]] - zmax - math.log(total)) / m
    for a = 1, k do
      local r = math.exp(z[a] - zmax) / total - (labels[i] == a and 1 or 0)
      gc[a] = gc[a] + r / m
      for j = 1, n do gB[a][j] = gB[a][j] + r * X:get(i, j) / m end
    end
  end
  for j = 1, n do
    local mean, var = 0, 0
    for i = 1, m do mean = mean + X:get(i, j) / m end
    for i = 1, m do var = var + (X:get(i, j) - mean) ^ 2 / m end
    for a = 1, k do
      local b = coef:get(j, a)
      value = value + ridge / 2 * b * b * var
      gB[a][j] = gB[a][j] + ridge * b * var
    end
  end
  return value, gB, gc
end

-- the largest |gradient| entry, each relative to its feature's scale
local function gradient_size(X, labels, lr, ridge)
  local _, gB, gc = objective(X, labels, lr.coef, lr.intercept, ridge)
  local worst = 0
  for a = 1, #gc do
    worst = math.max(worst, math.abs(gc[a]))
    for j = 1, X:cols() do
      local sd = X:sub(1, X:rows(), j, j):norm("fro") / math.sqrt(X:rows())
      worst = math.max(worst, math.abs(gB[a][j]) / sd)
    end
  end
  return worst
end

describe("idl.LogisticRegression", function()
  local X, labels = problem(400, 7)

  it("minimizes the penalized cross-entropy: the gradient vanishes (ridge 1/m and 0.1)", function()
    for _, ridge in ipairs{false, 0.1} do
      local lr = idl.LogisticRegression{ridge = ridge or nil}:fit(X, labels)
      assert.is_true(gradient_size(X, labels, lr, ridge or 1 / 400) < 1e-6)
      assert.is_true(lr.iterations < 500)
      assert.is_true(lr.converged)
    end
  end)

  it("no nearby coefficients do better", function()
    local lr = idl.LogisticRegression():fit(X, labels)
    local best = objective(X, labels, lr.coef, lr.intercept, 1 / 400)
    local g = idl.rng(3)
    for _ = 1, 10 do
      local coef = lr.coef + idl.randn(4, 3, g, 0, 1e-3)
      local intercept = lr.intercept + idl.randn(1, 3, g, 0, 1e-3)
      assert.is_true(objective(X, labels, coef, intercept, 1 / 400) > best)
    end
  end)

  it("predicts the most probable class; probabilities sum to 1; string labels", function()
    local names = {"cat", "dog", "eel"}
    local text = {}
    for i, l in ipairs(labels) do text[i] = names[l] end
    local lr = idl.LogisticRegression():fit(X, text)
    assert.are.same(names, lr.classes)
    local P, predicted = lr:predict_proba(X), lr:predict(X)
    local right = 0
    for i = 1, X:rows() do
      local best, sum = 1, 0
      for a = 1, 3 do
        sum = sum + P:get(i, a)
        if P:get(i, a) > P:get(i, best) then best = a end
      end
      assert.is_near(1, sum, 1e-12)
      assert.are.equal(names[best], predicted[i])
      if predicted[i] == text[i] then right = right + 1 end
    end
    assert.are.equal(right / X:rows(), lr:score(X, text))
    assert.is_true(lr:score(X, text) > 0.7)
  end)

  it("rejects bad input, naming the function", function()
    local lr = idl.LogisticRegression()
    local function err(f, ...)
      local ok, e = pcall(f, ...)
      assert.is_false(ok)
      return e
    end
    assert.matches("idl.LogisticRegression: ridge must be > 0", err(idl.LogisticRegression, {ridge = 0}))
    assert.matches("LogisticRegression:predict: the model is not fitted", err(lr.predict, lr, X))
    assert.matches("fit: X has 400 rows %(samples%), labels has 2 entries", err(lr.fit, lr, X, {1, 2}))
    local one = {}
    for i = 1, 400 do one[i] = 1 end
    assert.matches("fit: labels has a single class", err(lr.fit, lr, X, one))
    lr:fit(X, labels)
    assert.matches("predict: X has 2 columns %(features%), the model was fitted on 4",
      err(lr.predict, lr, idl.zeros(3, 2)))
    assert.matches("idl.logistic.readout: B is 2x2, expected 3x4",
      err(logistic.readout, idl.zeros(2, 2), idl.zeros(3, 1), X:t(), idl.zeros(3, 400)))
    -- a given scale must be positive (a zero would divide the inputs by it)
    local scale = idl.ones(4, 1):set(2, 1, 0)
    assert.matches("idl.logistic.readout: scale has a non%-positive entry at row 2",
      err(logistic.readout, idl.zeros(3, 4), idl.zeros(3, 1), X:t(), idl.zeros(3, 400), nil, idl.zeros(4, 1),
        scale))
  end)
end)

describe("the classifier's linear start", function()
  it("is the logistic regression of the training samples (A = 0, D = 0)", function()
    local X, labels = problem(300, 9)
    local clf = idl.IDLClassifier{verbosity = false, early_stopping = false}
    clf:fit(X, labels, {rounds_number = 0})
    local theta = clf.model.theta
    assert.are.equal(0, theta.A:norm("max"))
    assert.are.equal(0, theta.D:norm("max"))
    local lr = idl.LogisticRegression():fit(X, labels)
    assert.is_true((theta.B - lr.coef:t()):norm("max") < 1e-9)
    assert.is_true((theta.c - lr.intercept:t()):norm("max") < 1e-9)
  end)
end)
