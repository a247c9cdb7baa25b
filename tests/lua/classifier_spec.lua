-- idl.IDLClassifier: labels of any kind, probabilities, accuracy, files, errors.
local idl = require "idl"

-- Two Gaussian blobs per class on a ring: separable, but not by one line for 3 classes.
local function blobs(m, rng, names)
  local X = idl.zeros(m, 2)
  local labels = {}
  for i = 1, m do
    local k = (i - 1) % #names + 1
    local a = 2 * math.pi * k / #names
    X:set(i, 1, 3 * math.cos(a) + 0.4 * rng:normal())
    X:set(i, 2, 3 * math.sin(a) + 0.4 * rng:normal())
    labels[i] = names[k]
  end
  return X, labels
end

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok)
  return msg
end

describe("IDLClassifier", function()
  local rng = idl.rng(3)
  local X, labels = blobs(300, rng, {"cat", "dog", "emu"})
  local Xt, lt = blobs(90, rng, {"cat", "dog", "emu"})
  local clf = idl.IDLClassifier{hidden_variables = 8, verbosity = false, random_state = 1}
  clf:fit(X, labels, {rounds_number = 30, trainer_options = {batch_size = 32, learning_rate = 1e-2}})

  it("learns string labels and keeps the classes sorted", function()
    assert.same({"cat", "dog", "emu"}, clf.classes)
    assert.is_true(clf:score(Xt, lt) >= 0.95)
    local predicted = clf:predict(Xt)
    assert.equal(90, #predicted)
    assert.is_string(predicted[1])
  end)

  it("gives probabilities that sum to one and agree with predict", function()
    local P = clf:predict_proba(Xt)
    assert.same({90, 3}, {P:size()})
    local predicted = clf:predict(Xt)
    for i = 1, 90 do
      local s, best, arg = 0, -1, 0
      for k = 1, 3 do
        local v = P:get(i, k)
        s = s + v
        if v > best then best, arg = v, k end
      end
      assert.near(1, s, 1e-12)
      assert.equal(clf.classes[arg], predicted[i])
    end
  end)

  it("counts a confusion matrix consistent with the accuracy", function()
    local C = clf:confusion(Xt, lt)
    local diag = 0
    for k = 1, 3 do diag = diag + C:get(k, k) end
    assert.equal(90, C:sum())
    assert.near(clf:score(Xt, lt), diag / 90, 1e-15)
  end)

  it("saves and loads with its classes, predicting the same", function()
    local path = os.tmpname()
    clf:save(path)
    local back = idl.IDLClassifier.load(path)
    assert.same(clf.classes, back.classes)
    assert.same(clf:predict(Xt), back:predict(Xt))
    assert.is_true(idl.equal(clf:predict_proba(Xt), back:predict_proba(Xt), 0))
    os.remove(path)
  end)

  it("accepts integer labels", function()
    local ints = {}
    for i, l in ipairs(labels) do ints[i] = ({cat = 7, dog = 2, emu = 5})[l] end
    local c2 = idl.IDLClassifier{hidden_variables = 4, verbosity = false}
    c2:fit(X, ints, {rounds_number = 5})
    assert.same({2, 5, 7}, c2.classes)
  end)

  it("rejects bad labels with clear messages", function()
    local c = idl.IDLClassifier{hidden_variables = 2, verbosity = false}
    assert.matches("fit: labels has a single class", err_of(c.fit, c, X, (function()
      local t = {} for i = 1, 300 do t[i] = 1 end return t end)()))
    assert.matches("fit: labels%[2%] is .*labels must all be numbers or all strings",
      err_of(c.fit, c, idl.zeros(2, 2), {1, "a"}))
    assert.matches("predict: the classifier is not fitted", err_of(c.predict, c, X))
    assert.matches("IDLClassifier: loss is always \"softmax_xent\"",
      err_of(idl.IDLClassifier, {loss = "squared"}))
    assert.matches("score: labels has 2 entries, X has 90 rows", err_of(clf.score, clf, Xt, {"cat", "dog"}))
  end)
end)

describe("IDLClassifier defaults", function()
  it("are the estimator's (the linear start); a value given wins", function()
    assert.are.equal("linear", idl.IDLClassifier{}:get_params().initialization)
    assert.are.equal("picard_ls", idl.IDLClassifier{initialization = "picard_ls"}:get_params().initialization)
    assert.are.equal("linear", idl.IDLModel{}:get_params().initialization)
    assert.are.equal("auto", idl.IDLClassifier{}:get_params().hidden_variables)
  end)
end)

describe("IDLClassifier on a table where linear boundaries are the best there are", function()
  -- 4 Gaussian classes with one covariance in 10 features (6 irrelevant):
  -- logistic regression is the right model, and the classifier's models,
  -- which start from it, must keep it unless training beats it on the
  -- hold-out (300 samples: the mean of three models)
  it("keeps the logistic regression in most fits and loses nothing to it on new data", function()
    local kept, members, mine, theirs = 0, 0, 0, 0
    for seed = 1, 6 do
      local g = idl.rng(seed)
      local X, labels, means = idl.data.gaussian_classes(300, g)
      local Xt, lt = idl.data.gaussian_classes(3000, g, {means = means})
      local clf = idl.IDLClassifier{verbosity = false, random_state = seed}:fit(X, labels)
      local lr = idl.LogisticRegression():fit(X, labels)
      local all_kept = true
      for _, member in ipairs(clf.members) do
        members = members + 1
        if member.best_round == 0 then kept = kept + 1 else all_kept = false end
      end
      if all_kept then
        -- the mean of three copies of the logistic regression (A = 0 in each)
        assert.is_true((clf:predict_proba(Xt) - lr:predict_proba(Xt)):norm("max") < 1e-8)
      end
      mine, theirs = mine + clf:score(Xt, lt) / 6, theirs + lr:score(Xt, lt) / 6
    end
    assert.are.equal(18, members)
    assert.is_true(kept >= 9, "kept the start in " .. kept .. " of 18 models")
    assert.is_true(mine >= theirs - 0.002, string.format("accuracy %.4f, logistic regression %.4f", mine,
      theirs))
  end)
end)
