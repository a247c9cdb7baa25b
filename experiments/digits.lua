--- Handwritten digits (UCI, 8x8 images, 10 classes) with idl.IDLClassifier.
--
--     idl experiments/digits.lua [--seed S] [--out DIR] [--hidden H] [--ensemble K] [--tiny]
--
-- Data: experiments/data/digits.csv (1797 images; see experiments/data/README.md
-- for its source and licence), split 80/20 stratified by class (seeded).
-- The classifier uses its defaults (implicit training of the softmax
-- cross-entropy, a hold-out of the training part for early stopping: 10% of
-- its 1,437 samples; below 2,000 samples the mean of three fits), only
-- hidden_variables is set (and ensemble_size with --ensemble K > 0). Prints
-- the test accuracy and the confusion matrix; writes results.json,
-- summary.csv, confusion.csv, history.csv and the figures confusion.png and
-- training_curve.png into --out.
local idl = require "idl"
local ex = require "idl.experiment"

local opts = ex.parse(arg, {
  name = "digits",
  description = "IDLClassifier on the UCI handwritten digits (stratified 80/20 split)",
  options = {{"hidden", "integer", 100, "hidden units"},
             {"ensemble", "integer", 0, "ensemble_size (0: the default, \"auto\")"}},
})

local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local path = here .. "/data/digits.csv"
local D = idl.read_csv(path, {header = false})
local m = opts.size == "tiny" and 300 or D:rows()
local X = D:sub(1, m, 1, 64):copy()
local labels = {}
for i = 1, m do labels[i] = math.floor(D:get(i, 65)) end

-- Stratified split: within each class, a seeded shuffle, the first 80% train.
local function stratified(rng)
  local by = {}
  for i, l in ipairs(labels) do
    by[l] = by[l] or {}
    table.insert(by[l], i)
  end
  local train, test = {}, {}
  for l = 0, 9 do
    local idx = by[l] or {}
    rng:shuffle(idx)
    local k = math.floor(#idx * 0.8 + 0.5)
    for j, i in ipairs(idx) do table.insert(j <= k and train or test, i) end
  end
  return train, test
end

local train, test = stratified(idl.rng(opts.seed))
local function rows(idx) return idl.data.select_rows(X, idx) end
local function pick(idx)
  local t = {}
  for i, j in ipairs(idx) do t[i] = labels[j] end
  return t
end
local Xtr, Xte, ytr, yte = rows(train), rows(test), pick(train), pick(test)

local res = ex.results(opts, {name = "digits", section = "classification",
  title = string.format("UCI digits, IDLClassifier h = %d, implicit training (defaults)", opts.hidden)})
res.settings = {hidden_variables = opts.hidden, ensemble = opts.ensemble, train = #train, test = #test,
  data = path}

local clf = idl.IDLClassifier{hidden_variables = opts.hidden, random_state = opts.seed, verbosity = false,
  ensemble_size = opts.ensemble > 0 and opts.ensemble or nil}
local t0 = idl.clock()
clf:fit(Xtr, ytr, opts.size == "tiny" and {rounds_number = 3} or nil)
local seconds = idl.clock() - t0
local acc_train, acc_test = clf:score(Xtr, ytr), clf:score(Xte, yte)
local C = clf:confusion(Xte, yte)

-- Training curve: cross-entropy on the training part and on the held-out part.
local xs, train_loss, eval_loss = {}, {}, {}
for _, e in ipairs(clf.history) do
  xs[#xs + 1] = e.round
  train_loss[#train_loss + 1] = e.train_l2 or (0 / 0)
  eval_loss[#eval_loss + 1] = e.eval_l2 or (0 / 0)
end
ex.write_csv(ex.file(res, "history.csv"), {"round", "train_loss", "eval_loss"}, (function()
  local t = {}
  for i = 1, #xs do t[i] = {xs[i], train_loss[i], eval_loss[i]} end
  return t
end)())
ex.write_csv(ex.file(res, "confusion.csv"), {"class", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
  (function()
    local t = {}
    for i = 1, C:rows() do
      local r = {clf.classes[i]}
      for j = 1, C:cols() do r[#r + 1] = C:get(i, j) end
      t[i] = r
    end
    return t
  end)())
ex.figure(res, "lines", "training_curve.png",
  "Cross-entropy of the true model (equilibrium X) per epoch: training part and held-out part",
  {title = "digits: training curve", xlabel = "epoch", ylabel = "cross-entropy", logy = true,
   series = {{x = xs, y = train_loss, label = "train"}, {x = xs, y = eval_loss, label = "held out"}}})
local names = {}
for i, c in ipairs(clf.classes) do names[i] = tostring(c) end
ex.figure(res, "heatmap", "confusion.png",
  string.format("Confusion matrix on the test set (rows: true class, columns: predicted); accuracy %.1f%%",
    100 * acc_test),
  {title = "digits: confusion matrix (test)", matrix = C, xlabels = names, ylabels = names,
   xlabel = "predicted class", ylabel = "true class"})

res.accuracy = {train = acc_train, test = acc_test}
res.fit_seconds = seconds
res.confusion = C:totable()
res.summary = {columns = {"what", "value"}, rows = {
  {what = "train accuracy", value = string.format("%.2f%%", 100 * acc_train)},
  {what = "test accuracy", value = string.format("%.2f%%", 100 * acc_test)},
  {what = "fit seconds", value = string.format("%.1f", seconds)},
  {what = "models (ensemble_size)", value = tostring(#clf.members)},
  {what = "epochs of the first (best restored)",
   value = string.format("%d (%s)", #clf.history - 1, tostring(clf.best_round))},
}}
print("confusion matrix (rows: true class 0-9, columns: predicted):")
print(C)
ex.finish(res)
