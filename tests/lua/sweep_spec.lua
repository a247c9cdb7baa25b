-- sweep_spec.lua: every public function of idl called with bad input.
--
-- The functions are enumerated from the module tables (the idl table with its
-- lazy submodules force-loaded, every module of lua/idl, their tables, and the
-- methods of matrices, generators, estimators, classifiers, models,
-- standardizers, linear models and progress bars, read from their metatables). COVERED below lists each one
-- with the argument "shapes" of a valid call; the spec fails when a function
-- appears that COVERED does not list (or COVERED lists one that is gone).
--
-- For each function, every argument in turn (and `self` for methods) is
-- replaced by wrong types, nil, NaN and Inf, negative and huge numbers, empty
-- and 0x0 matrices, matrices of mismatched shapes, matrices full of NaN or Inf;
-- every field of an options table and of theta likewise; and every matrix is
-- replaced by a view whose parent was dropped and collected, which must give
-- the result of the plain call. Each call must succeed or raise a Lua error
-- whose message names the function; the process must never crash (run it in
-- the sanitizer build too). KNOWN lists the Lua-side findings not fixed yet:
-- those tests are pending, and fail once the finding is gone (so the list
-- stays true).
--
-- IDL_SWEEP_TRACE=1 prints every call before it is made (to find a crash);
-- IDL_SWEEP_ONLY=<p1>,<p2>,... sweeps only the names matching one of these
-- Lua patterns (e.g. "^idl%.[%w_]+$,^matrix,^rng": the C functions);
-- IDL_SWEEP_REPORT=<file> writes every finding there, one position a line.

local idl = require "idl"

local TRACE = os.getenv("IDL_SWEEP_TRACE")
local ONLY = os.getenv("IDL_SWEEP_ONLY")
local function selected(name)
  if not ONLY then return true end
  for pattern in ONLY:gmatch("[^,]+") do
    if name:find(pattern) then return true end
  end
  return false
end
local REPORT = os.getenv("IDL_SWEEP_REPORT") and assert(io.open(os.getenv("IDL_SWEEP_REPORT"), "w"))
-- VM instructions a call may run before it is stopped: a loop bound such as
-- rounds_number = 2^53 is a request to run for ever, not a crash.
local BUDGET = 2000000

local TMP = string.format("%s/idl_sweep_%d", os.getenv("TMPDIR") or "/tmp",
  math.floor(idl.clock() * 1e6) % 1000000000)
assert(os.execute("mkdir -p '" .. TMP .. "'"))
-- A path in a directory that does not exist, inside TMP: the "string" bad
-- value, so that no bad call writes a file anywhere else.
local NOWHERE = TMP .. "/no_such_dir/x"

-- Sizes of the valid calls: n features, h hidden units, p outputs, m samples.
local N, H, P, MS = 2, 3, 1, 5
local DIM = {n = N, h = H, p = P, m = MS}

-- ---------------------------------------------------------------------------
-- Valid values

local function randm(r, c, seed, sd)
  return idl.randn(r, c, idl.rng(seed or (r * 31 + c)), 0, sd or 1)
end

local function theta(seed)
  local g = idl.rng(seed or 3)
  local t = {A = idl.randn(P, H, g), B = idl.randn(P, N, g), c = idl.randn(P, 1, g),
    D = idl.randn(H, H, g, 0, 0.2), E = idl.randn(H, N, g), f = idl.randn(H, 1, g)}
  idl.project_inf_(t.D, 0.5)
  return t
end

local function new_model() return idl.model.new{theta = theta()} end

-- Rows-are-samples data for the estimators.
local function xy()
  return randm(6, N, 41), randm(6, 1, 42)
end

local function fitted_estimator()
  local X, y = xy()
  return idl.IDLModel{hidden_variables = 2, verbosity = false}:fit(X, y, {rounds_number = 1})
end

local LABELS6 = {1, 2, 1, 2, 2, 1}

local function fitted_classifier()
  local X = randm(6, N, 43)
  return idl.IDLClassifier{hidden_variables = 2, verbosity = false}:fit(X, LABELS6, {rounds_number = 1})
end

-- A results record of idl.experiment, writing into the temporary directory.
local function experiment_results()
  return {name = "sweep", size = "tiny", seed = 0, out = TMP .. "/res", section = "0", title = "sweep",
    figures = {}, notes = {}, files = {}, settings = {}, started = idl.clock()}
end

local function state()
  return idl.trainers.new_state{model = new_model(), U = randm(N, MS, 5), Y = randm(P, MS, 6)}
end

local function trained_state()
  local s = state()
  idl.trainers.run("one_loop", s, {rounds_number = 1})
  return s
end

local function config() return idl.trainers.config{rounds_number = 1, inner_max_iter = 3} end

local function write_text(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

local CSV = write_text(TMP .. "/data.csv", "a,b\n1,2\n3,4\n")
local MODEL_FILE = TMP .. "/model.idl"
new_model():save(MODEL_FILE)
local JSON_FILE = write_text(TMP .. "/job.json", '{"x": 1}')
local CLASSIFIER_FILE = TMP .. "/classifier.idl"
fitted_classifier():save(CLASSIFIER_FILE)
assert(os.execute("mkdir -p '" .. TMP .. "/res'"))
local WORKER = "tests/lua/fixtures/parallel_worker.lua"

-- ---------------------------------------------------------------------------
-- Argument descriptors: make() returns a fresh valid value; `matrix = {r, c}`
-- marks a matrix (its bad variants have other shapes); `fields` marks a table
-- whose fields are replaced one at a time; `fixed` is never replaced (a name a
-- helper puts in its messages, a loop bound).

local function V(make) return {make = make} end
local function K(value) return {make = function() return value end} end
local function F(make) return {make = make, fields = true} end
local function FIXED(value) return {make = function() return value end, fixed = true} end
-- A file to write. Lua turns a number into a file name ("-1", "inf"), so
-- numbers are not tried there: they would create files in the working directory.
local function OUT(name) return {make = function() return TMP .. "/" .. name end, path = true} end
local ABSENT = K(nil)

local function dim(x) return type(x) == "number" and x or DIM[x] end

-- A matrix argument r x c (numbers or the letters n, h, p, m); fill "pos"
-- gives entries in [0.5, 1.5), "small" a contraction-sized D.
local function M(r, c, fill)
  r, c = dim(r), dim(c)
  return {matrix = {r, c}, make = function()
    if fill == "pos" then return idl.rand(r, c, idl.rng(r + c), 0.5, 1.5) end
    if fill == "small" then return randm(r, c, nil, 0.1) end
    if fill == "onehot" then
      local Y = idl.zeros(r, c)
      for j = 1, c do Y:set((j - 1) % r + 1, j, 1) end
      return Y
    end
    return randm(r, c)
  end}
end

local THETA = {make = theta, fields = true, theta = true}
local RNG = V(function() return idl.rng(7) end)
local STATE = V(state)
-- A relaxed workspace, and one holding the forward pass of the matrix WS_X.
local WS = V(function() return idl.relaxed_workspace(H, N, P, MS) end)
local WS_X = idl.ones(H, MS)
local function forward_ws(X)
  local ws = idl.relaxed_workspace(H, N, P, MS)
  idl.relaxed_forward(ws, theta(), X, randm(N, MS), randm(P, MS))
  return ws
end
local CONFIG = F(config)
local NUM = K(0.5)
local INT = K(2)
local STR = K("text")

-- ---------------------------------------------------------------------------
-- Bad values, built fresh for every call

local BAD = {
  {"nil", function() return nil end},
  {"false", function() return false end},
  {"true", function() return true end},
  {"string", function() return NOWHERE end},
  {"empty table", function() return {} end},
  {"array", function() return {1, 2} end},
  {"table whose __len is -1", function() return setmetatable({}, {__len = function() return -1 end}) end},
  {"function", function() return function() end end},
  {"thread", function() return coroutine.create(function() end) end},
  {"generator", function() return idl.rng(1) end},
  {"NaN", function() return 0 / 0 end},
  {"inf", function() return math.huge end},
  {"-inf", function() return -math.huge end},
  {"-1", function() return -1 end},
  {"0", function() return 0 end},
  {"1.5", function() return 1.5 end},
  {"-2^31", function() return -(1 << 31) end},
  {"2^31", function() return 1 << 31 end},
  {"2^40", function() return 2.0 ^ 40 end},
  {"2^53", function() return 2.0 ^ 53 end},
  {"maxinteger", function() return math.maxinteger end},
  {"mininteger", function() return math.mininteger end},
  {"1e308", function() return 1e308 end},
  {"0x0 matrix", function() return idl.zeros(0, 0) end},
  {"1x1 matrix", function() return idl.ones(1, 1) end},
  {"7x4 matrix", function() return randm(7, 4) end},
}

local function filled(r, c, v) return idl.full(r, c, v) end

-- A view of a fresh parent holding the values of m; the parent is dropped here
-- and collected before the call (the view must keep it alive).
local function orphan_view(m)
  local r, c = m:size()
  local parent = idl.zeros(r + 2, c + 3)
  local view = parent:sub(2, r + 1, 3, c + 2)
  idl.copy(view, m)
  return view
end

-- Variants of a matrix argument r x c.
local function matrix_variants(r, c)
  local v = {
    {"0x0", function() return idl.zeros(0, 0) end},
    {r .. "x0", function() return idl.zeros(r, 0) end},
    {"0x" .. c, function() return idl.zeros(0, c) end},
    {(r + 1) .. "x" .. c, function() return randm(r + 1, c) end},
    {r .. "x" .. (c + 1), function() return randm(r, c + 1) end},
    {"NaN " .. r .. "x" .. c, function() return filled(r, c, 0 / 0) end},
    {"Inf " .. r .. "x" .. c, function() return filled(r, c, math.huge) end},
  }
  if r ~= c then v[#v + 1] = {c .. "x" .. r, function() return randm(c, r) end} end
  return v
end

-- ---------------------------------------------------------------------------
-- Enumeration

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- The names of the lazy entries of lua/idl/init.lua, read from its source.
local function lazy_names()
  local path = assert(package.searchpath("idl", package.path))
  local f = assert(io.open(path))
  local src = f:read("a")
  f:close()
  local block = assert(src:match("local lazy = (%b{})"), "init.lua has no lazy table")
  local names = {}
  for k in block:gmatch("\n%s*([%w_]+)%s*=%s*function") do names[#names + 1] = k end
  return names
end

-- The public modules of lua/idl (file names not starting with "_").
local function module_names()
  local dir = assert(package.searchpath("idl", package.path)):gsub("init%.lua$", "")
  local names, p = {}, io.popen("ls '" .. dir .. "'")
  for file in p:lines() do
    local mod = file:match("^(%a[%w_]*)%.lua$")
    if mod and mod ~= "init" then names[#names + 1] = mod end
  end
  p:close()
  table.sort(names)
  return names
end

-- The kinds of objects whose methods are public, with a way to make one.
local OBJECTS = {
  {"matrix", function() return idl.zeros(1, 1) end},
  {"rng", function() return idl.rng(0) end},
  {"IDLModel", function() return idl.IDLModel{} end},
  {"IDLClassifier", function() return idl.IDLClassifier{} end},
  {"Model", new_model},
  {"Standardizer", function() return idl.data.Standardizer() end},
  {"CSVSource", function() return idl.data.stream_csv(CSV, {target = "b"}) end},
  {"csvstream", function() return idl._csv_stream(CSV, ",", "auto", 0, 1) end},
  {"csvwriter", function() return idl._csv_writer(TMP .. "/writer.csv", {"a", "b"}) end},
  {"LinearRegression", function() return idl.LinearRegression{} end},
  {"LogisticRegression", function() return idl.LogisticRegression{} end},
  {"Bar", function() return idl.progress.new{enabled = false} end},
  {"Schema", function() return require("idl.params").training end},
  {"KFold", function() return idl.model_selection.KFold{} end},
  {"StratifiedKFold", function() return idl.model_selection.StratifiedKFold{} end},
}

-- Every public function: name -> {fn, owner (the table it is read from), key,
-- kind = "function" | "method" | "meta" | "callable"}. A function reachable
-- under several names is listed once, under the first name found (methods
-- first, then breadth-first from idl with sorted keys).
local function enumerate()
  for _, k in ipairs(lazy_names()) do assert(idl[k] ~= nil, "lazy entry " .. k .. " is nil") end
  local found, seen = {}, {}
  local function add(name, fn, owner, key, kind)
    if seen[fn] then return end
    seen[fn] = name
    found[name] = {fn = fn, owner = owner, key = key, kind = kind, name = name}
  end
  for _, o in ipairs(OBJECTS) do
    local mt = getmetatable(o[2]())
    local methods = type(mt.__index) == "table" and mt.__index or mt.__fields
    for _, k in ipairs(sorted_keys(methods)) do
      if type(methods[k]) == "function" and not tostring(k):match("^__") then
        add(o[1] .. ":" .. k, methods[k], methods, k, "method")
      end
    end
    for _, k in ipairs(sorted_keys(mt)) do
      if type(mt[k]) == "function" then add(o[1] .. "." .. k, mt[k], mt, k, "meta") end
    end
  end
  local stdlib = {}
  for k, v in pairs(package.loaded) do
    if type(v) == "table" and not tostring(k):match("^idl") then stdlib[v] = true end
  end
  local visited = {[idl] = true}
  local queue, head = {{"idl", idl, 0}}, 1
  -- modules of lua/idl that no lazy entry reaches are public through require
  for _, mod in ipairs(module_names()) do
    if rawget(idl, mod) == nil then
      local t = require("idl." .. mod)
      if type(t) == "table" then
        visited[t] = true
        queue[#queue + 1] = {"idl." .. mod, t, 1}
      end
    end
  end
  while queue[head] do
    local prefix, t, depth = table.unpack(queue[head])
    head = head + 1
    for _, k in ipairs(sorted_keys(t)) do
      local v = rawget(t, k)
      local name = prefix .. "." .. tostring(k)
      if type(v) == "function" then
        add(name, v, t, k, "function")
      elseif type(v) == "table" and not visited[v] and not stdlib[v] and depth < 4 then
        visited[v] = true
        local mt = getmetatable(v)
        if mt and type(mt.__call) == "function" then add(name, mt.__call, t, k, "callable") end
        queue[#queue + 1] = {name, v, depth + 1}
      end
    end
  end
  return found
end

-- ---------------------------------------------------------------------------
-- COVERED: name -> {args = {descriptors...}, self = make-function for methods,
-- names = {...} (the words a message may name it by; default: the last part
-- of the name), exits = true (the function ends the process by design),
-- quiet = true (its output is sent to a file), after = a function run after
-- each call (to undo a side effect),
-- nocompare = true (the result is not a function of the arguments alone),
-- without_mpi = true (not swept in a build without MPI, where it always raises).

local Mo = function() return new_model() end
local function fitted_linear() return idl.LinearRegression{}:fit(randm(5, 2), randm(5, 1)) end
local function fitted_logistic() return idl.LogisticRegression{}:fit(randm(6, 2), LABELS6) end
local function problem() return {U = randm(N, MS), Y = randm(P, MS), h = H} end
local function cli_spec() return {name = "s", options = {{"seed", "integer", 0, "seed"}}} end

local function history() return {{round = 0, G = 2}, {round = 1, G = 1}, {round = 2, G = 0 / 0}} end

-- An feval for the optimizers: fx = 1 and gradients equal to the parameters.
local function copy_grads(params)
  local g = {}
  for k, v in pairs(params) do
    if idl.is_matrix(v) then g[k] = v:copy() end
  end
  return 1, g
end

local function SCHEMA() return require("idl.params").training end

local COVERED = {
  -- matrix methods
  ["matrix:rows"] = {self = function() return randm(2, 3) end, args = {}},
  ["matrix:cols"] = {self = function() return randm(2, 3) end, args = {}},
  ["matrix:size"] = {self = function() return randm(2, 3) end, args = {}},
  ["matrix:get"] = {self = function() return randm(2, 3) end, args = {INT, INT}},
  ["matrix:set"] = {self = function() return randm(2, 3) end, args = {INT, INT, NUM}},
  ["matrix:copy"] = {self = function() return randm(2, 3) end, args = {}},
  ["matrix:t"] = {self = function() return randm(2, 3) end, args = {}},
  ["matrix:totable"] = {self = function() return randm(2, 3) end, args = {}},
  ["matrix:sum"] = {self = function() return randm(2, 3) end, args = {INT}},
  ["matrix:relu"] = {self = function() return randm(2, 3) end, args = {}},
  ["matrix:norm"] = {self = function() return randm(2, 3) end, args = {K("2")}},
  ["matrix:hadamard"] = {self = function() return randm(2, 3) end, args = {M(2, 3)}},
  ["matrix:sub"] = {self = function() return randm(4, 5) end, args = {INT, K(3), INT, K(4)}},
  ["matrix:col"] = {self = function() return randm(2, 3) end, args = {INT}},
  ["matrix:row"] = {self = function() return randm(2, 3) end, args = {INT}},
  -- the same C functions as idl.hcat and idl.vcat
  ["matrix:hcat"] = {self = function() return randm(2, 3) end, args = {M(2, 2), M(2, 1)}},
  ["matrix:vcat"] = {self = function() return randm(2, 3) end, args = {M(1, 3), M(2, 3)}},
  ["matrix:select_cols"] = {self = function() return randm(2, 3) end, args = {K({3, 1})}},
  ["matrix:is_view"] = {self = function() return randm(2, 3) end, args = {}},
  ["matrix:all_finite"] = {self = function() return randm(2, 3) end, args = {}},
  ["matrix.__add"] = {op = "+", args = {M(2, 3), M(2, 3)}, names = {"add"}},
  ["matrix.__sub"] = {op = "-", args = {M(2, 3), M(2, 3)}, names = {"subtract"}},
  ["matrix.__mul"] = {op = "*", args = {M(2, 3), M(3, 2)}, names = {"matmul", "scale"}},
  ["matrix.__div"] = {op = "/", args = {M(2, 3), NUM}, names = {"divide"}},
  ["matrix.__unm"] = {op = "unm", args = {M(2, 3)}, names = {"unm"}},
  ["matrix.__tostring"] = {op = "tostring", args = {M(2, 3)}, names = {"tostring"}, nocompare = true},
  ["matrix.__eq"] = {op = "==", args = {M(2, 3), M(2, 3)}, names = {"eq"}},
  ["matrix.__len"] = {op = "len", args = {M(2, 3)}, names = {"len"}},
  ["matrix.__index"] = {op = "index", args = {M(2, 3), INT}, names = {"m[i]"}},
  -- generator methods
  ["rng:uniform"] = {self = RNG.make, args = {K(-1), K(1)}},
  ["rng:normal"] = {self = RNG.make, args = {K(0), K(2)}},
  ["rng:integer"] = {self = RNG.make, args = {K(6)}},
  ["rng:permutation"] = {self = RNG.make, args = {K(6)}},
  ["rng:shuffle"] = {self = RNG.make, args = {V(function() return {1, 2, 3} end)}},
  ["rng:state"] = {self = RNG.make, args = {}},
  ["rng:set_state"] = {self = RNG.make, args = {V(function() return idl.rng(3):state() end)}},
  ["rng.__tostring"] = {op = "tostring", args = {RNG}, names = {"tostring"}},
  -- parameter schemas (idl.params)
  ["Schema:check"] = {self = SCHEMA, args = {K("patience"), K(3)}},
  ["Schema:check_overrides"] = {self = SCHEMA, args = {F(function() return {patience = 4} end), STR}},
  ["Schema:check_table"] = {self = SCHEMA, args = {F(function() return {patience = 4} end), STR}},
  ["Schema:test_table"] = {self = SCHEMA, args = {F(function() return {patience = 4} end), STR}},
  ["Schema:defaults"] = {self = SCHEMA, args = {}},
  ["Schema:entry"] = {self = SCHEMA, args = {K("patience"), F(function() return {default = 3} end)}},
  ["Schema:flagged"] = {self = SCHEMA, args = {K("resume")}},
  ["Schema:info"] = {self = SCHEMA, args = {K("patience")}},
  ["Schema:preset"] = {self = SCHEMA, args = {K("report")}},
  ["Schema:markdown"] = {self = SCHEMA, args = {F(function() return {implicit = {patience = 40}} end)}},
  ["Schema:resolve"] = {self = SCHEMA, args = {F(function() return {patience = 4} end),
    F(function() return {patience = 40} end)}},
  -- estimator methods
  ["IDLModel:fit"] = {self = function() return idl.IDLModel{hidden_variables = 2, verbosity = false} end,
    args = {M(6, "n"), M(6, 1), F(function() return {rounds_number = 1} end)}, nocompare = true},
  ["IDLModel:get_params"] = {self = fitted_estimator, args = {}},
  ["IDLModel:set_params"] = {self = fitted_estimator, args = {F(function() return {patience = 3} end)}},
  ["IDLModel:plot_history"] = {self = fitted_estimator, args = {OUT("history.png"),
    F(function() return {title = "t", logy = true} end)}, quiet = true, nocompare = true},
  ["IDLModel:predict"] = {self = fitted_estimator, args = {M(4, "n"), F(function() return {tol = 1e-8} end)}},
  ["IDLModel:score"] = {self = fitted_estimator, args = {M(4, "n"), M(4, 1)}},
  ["IDLModel:save"] = {self = fitted_estimator, args = {OUT("est.idl")}},
  -- classifier methods (the others are IDLModel's)
  ["IDLClassifier:fit"] = {self = function() return idl.IDLClassifier{hidden_variables = 2,
    verbosity = false} end,
    args = {M(6, "n"), K(LABELS6), F(function() return {rounds_number = 1} end)}, nocompare = true},
  ["IDLClassifier:predict_proba"] = {self = fitted_classifier, args = {M(4, "n"),
    F(function() return {tol = 1e-8} end)}},
  ["IDLClassifier:predict"] = {self = fitted_classifier, args = {M(4, "n"),
    F(function() return {tol = 1e-8} end)}},
  ["IDLClassifier:score"] = {self = fitted_classifier, args = {M(4, "n"), K({1, 2, 2, 1})}},
  ["IDLClassifier:confusion"] = {self = fitted_classifier, args = {M(4, "n"), K({1, 2, 2, 1})}},
  ["IDLClassifier:save"] = {self = fitted_classifier, args = {OUT("clf.idl")}},
  -- model methods
  ["Model:copy"] = {self = Mo, args = {}},
  ["Model:hidden"] = {self = Mo, args = {M("n", "m"), F(function() return {tol = 1e-9} end)}},
  ["Model:output"] = {self = Mo, args = {M("h", "m"), M("n", "m")}},
  ["Model:predict_u"] = {self = Mo, args = {M("n", "m"), F(function() return {max_iter = 50} end)}},
  ["Model:wellposed"] = {self = Mo, args = {}},
  ["Model:project"] = {self = Mo, args = {}},
  ["Model:loss_value"] = {self = Mo, args = {M("p", "m"), M("p", "m")}},
  ["Model:save"] = {self = Mo, args = {OUT("model2.idl")}},
  ["Model.__tostring"] = {op = "tostring", args = {V(new_model)}, names = {"tostring"}},
  -- standardizer, linear regression, progress bar
  ["CSVSource:next"] = {self = function() return idl.data.stream_csv(CSV, {target = "b"}) end, args = {}},
  ["CSVSource:reset"] = {self = function() return idl.data.stream_csv(CSV, {target = "b"}) end, args = {}},
  ["CSVSource:batches"] = {self = function() return idl.data.stream_csv(CSV, {target = "b"}) end, args = {},
    nocompare = true},
  ["CSVSource:columns"] = {self = function() return idl.data.stream_csv(CSV, {target = "b"}) end, args = {}},
  ["CSVSource:close"] = {self = function() return idl.data.stream_csv(CSV, {target = "b"}) end, args = {}},
  ["CSVSource:stats"] = {self = function() return idl.data.stream_csv(CSV, {target = "b"}) end,
    args = {F(function() return {distributed = false, comoments = true, sample = 2, seed = 1} end)}},
  ["csvstream:cols"] = {self = function() return idl._csv_stream(CSV, ",", "auto", 0, 1) end, args = {}},
  ["csvstream:names"] = {self = function() return idl._csv_stream(CSV, ",", "auto", 0, 1) end, args = {}},
  ["csvstream:next"] = {self = function() return idl._csv_stream(CSV, ",", "auto", 0, 1) end,
    args = {K(2), K(2)}},
  ["csvstream:rewind"] = {self = function() return idl._csv_stream(CSV, ",", "auto", 0, 1) end, args = {}},
  ["csvstream:close"] = {self = function() return idl._csv_stream(CSV, ",", "auto", 0, 1) end, args = {}},
  ["csvwriter:write"] = {self = function() return idl._csv_writer(TMP .. "/writer.csv", {"a", "b"}) end,
    args = {M(2, 2)}, nocompare = true},
  ["csvwriter:commit"] = {self = function() return idl._csv_writer(TMP .. "/writer.csv", {"a", "b"}) end,
    args = {}, nocompare = true},
  ["csvwriter:abort"] = {self = function() return idl._csv_writer(TMP .. "/writer.csv", {"a", "b"}) end,
    args = {}, nocompare = true},
  ["Standardizer:fit"] = {self = function() return idl.data.Standardizer() end, args = {M(4, 2)}},
  ["Standardizer:transform"] = {self = function() return idl.data.Standardizer():fit(randm(4, 2)) end,
    args = {M(3, 2)}},
  ["Standardizer:inverse_transform"] = {self = function() return idl.data.Standardizer():fit(randm(4, 2)) end,
    args = {M(3, 2)}},
  ["Standardizer:fit_transform"] = {self = function() return idl.data.Standardizer() end, args = {M(4, 2)},
    names = {"fit", "transform"}},
  ["LinearRegression:fit"] = {self = function() return idl.LinearRegression{} end, args = {M(5, 2), M(5, 1)}},
  ["LinearRegression:predict"] = {self = fitted_linear,
    args = {M(3, 2)}},
  ["LinearRegression:score"] = {self = fitted_linear,
    args = {M(3, 2), M(3, 1)}},
  ["LogisticRegression:fit"] = {self = function() return idl.LogisticRegression{} end,
    args = {M(6, 2), K(LABELS6)}},
  ["LogisticRegression:predict_proba"] = {self = fitted_logistic, args = {M(4, 2)}},
  ["LogisticRegression:predict"] = {self = fitted_logistic, args = {M(4, 2)}},
  ["LogisticRegression:score"] = {self = fitted_logistic, args = {M(4, 2), K({1, 2, 2, 1})}},
  ["Bar:text"] = {self = function() return idl.progress.new{total = 10, enabled = false} end,
    args = {INT, F(function() return {G = 1.5} end)}, nocompare = true},
  ["Bar:update"] = {self = function() return idl.progress.new{total = 10, force = true,
    stream = io.open(TMP .. "/bar.txt", "w")} end, args = {INT, F(function() return {G = 1.5} end)},
    nocompare = true},
  ["Bar:finish"] = {self = function() return idl.progress.new{total = 10, force = true,
    stream = io.open(TMP .. "/bar.txt", "w")} end, args = {STR}, nocompare = true},

  -- idl.core: constructors, kernels, solvers
  ["idl.zeros"] = {args = {INT, K(3)}},
  ["idl.ones"] = {args = {INT, K(3)}},
  ["idl.full"] = {args = {INT, K(3), NUM}},
  ["idl.eye"] = {args = {K(3), INT}},
  ["idl.from_table"] = {args = {V(function() return {{1, 2}, {3, 4}} end)}},
  ["idl.rand"] = {args = {INT, K(3), RNG, K(-1), K(1)}},
  ["idl.randn"] = {args = {INT, K(3), RNG, K(1), K(2)}},
  ["idl.equal"] = {args = {M(2, 3), M(2, 3), NUM}},
  ["idl.is_matrix"] = {args = {M(2, 3)}},
  ["idl.gemm"] = {args = {M(2, 4), M(2, 3), M(3, 4), NUM, NUM, ABSENT, ABSENT}},
  ["idl.axpy"] = {args = {M(2, 3), NUM, M(2, 3)}},
  ["idl.copy"] = {args = {M(2, 3), M(2, 3)}},
  ["idl.scale"] = {args = {M(2, 3), NUM}},
  ["idl.scale_rows"] = {args = {M(2, 3), M(2, 1)}},
  ["idl.scale_cols"] = {args = {M(2, 3), M(3, 1)}},
  ["idl.fill"] = {args = {M(2, 3), NUM}},
  ["idl.relu"] = {args = {M(2, 3), M(2, 3)}},
  ["idl.hadamard"] = {args = {M(2, 3), M(2, 3), M(2, 3)}},
  ["idl.relu_grad"] = {args = {M(2, 3), M(2, 3), M(2, 3)}},
  ["idl.add_col"] = {args = {M(2, 3), NUM, M(2, 1)}},
  ["idl.transpose"] = {args = {M(3, 2), M(2, 3)}},
  ["idl.gather_cols"] = {args = {M(2, 2), M(2, 3), K({3, 1})}},
  ["idl.scatter_cols"] = {args = {M(2, 3), K({3, 1}), M(2, 2)}},
  ["idl.rng"] = {args = {K(42)}},
  ["idl.read_csv"] = {args = {K(CSV), F(function() return {header = true, delimiter = ","} end)}},
  ["idl.write_csv"] = {args = {OUT("out.csv"), M(2, 3), K({"a", "b", "c"}), K(";")}},
  ["idl.write_file_atomic"] = {args = {OUT("atomic.txt"), K("one "), K("two\n")}},
  ["idl.hash"] = {args = {M(2, 3)}},
  ["idl.set_threads"] = {args = {K(1)}},
  ["idl.get_threads"] = {args = {}},
  ["idl.clock"] = {args = {}, nocompare = true},
  ["idl.executable"] = {args = {}},
  ["idl.peak_rss"] = {args = {}, nocompare = true},
  ["idl.stream.stream_csv"] = {args = {K(CSV), F(function()
    return {target = "b", batch_size = 2, shard = {0, 1}, delimiter = ",", header = "auto"} end)},
    nocompare = true},
  ["idl._csv_stream"] = {args = {K(CSV), K(","), K("auto"), K(0), K(1)}, nocompare = true},
  ["idl._csv_writer"] = {args = {K(TMP .. "/writer.csv"), F(function() return {"a", "b"} end), K(",")},
    nocompare = true},
  ["idl.stream.is_source"] = {args = {V(function() return idl.data.stream_csv(CSV) end)}},
  ["idl._time_dgemm"] = {args = {M(2, 4), M(2, 3), M(3, 4), K(2)}, nocompare = true},
  ["idl._time_sgemm"] = {args = {M(2, 4), M(2, 3), M(3, 4), K(2)}, nocompare = true},
  ["idl._interrupt_begin"] = {args = {}, after = function() idl._interrupt_end() end},
  ["idl._interrupt_end"] = {args = {}},
  ["idl._interrupted"] = {args = {}},
  -- idl.mpi at size 1; built without MPI they raise by design (mpi_spec checks that)
  ["idl.mpi.rank"] = {args = {}, without_mpi = true},
  ["idl.mpi.size"] = {args = {}, without_mpi = true},
  ["idl.mpi.barrier"] = {args = {}, without_mpi = true},
  ["idl.mpi.available"] = {args = {}},
  ["idl.mpi.fused_buffer"] = {args = {K({{2, 3}, {1, 1}})}},
  ["idl.mpi.allreduce"] = {args = {M(2, 3), K("max")}, without_mpi = true},
  ["idl.distributed.sum"] = {args = {K({1, 2.5})}},
  ["idl.distributed.max"] = {args = {K({1, 2.5})}},
  ["idl.distributed.moments"] = {args = {K(3), M(2, 1), M(2, 1)}},
  ["idl.distributed.row_scaler"] = {args = {M(2, 5)}},
  ["idl.distributed.comoments"] = {args = {M(2, 5)}},
  ["idl.mpi.bcast"] = {args = {M(2, 3), K(0)}, without_mpi = true},
  ["idl.mpi.gather"] = {args = {M(2, 3), K(0)}, without_mpi = true},
  ["idl.distributed.union"] = {args = {K({3, 1, 3})}, without_mpi = true},
  ["idl.distributed.bcast_string"] = {args = {K("text"), K(0)}, without_mpi = true},
  ["idl.adam_step"] = {args = {M(2, 3), M(2, 3), M(2, 3), M(2, 3, "pos"), K(1e-3), K(0.9), K(0.999), K(1e-8),
    K(0), K(1)}},
  ["idl.sgd_step"] = {args = {M(2, 3), M(2, 3), M(2, 3), K(0.1), K(0.9), K(0)}},
  ["idl.squared_loss"] = {args = {M(2, 3), M(2, 3), M(2, 3)}},
  ["idl.softmax_xent"] = {args = {M(2, 3), M(2, 3, "onehot"), M(2, 3)}},
  ["idl.softmax"] = {args = {M(2, 3)}},
  ["idl.lstsq"] = {args = {M(5, 2), M(5, 1), NUM}},
  ["idl.solve"] = {args = {M(3, 3), M(3, 2)}},
  ["idl.fenchel"] = {args = {M("h", "m", "pos"), M("h", "m")}},
  ["idl.objective"] = {args = {THETA, M("h", "m", "pos"), M("n", "m"), M("p", "m"), M("h", 1, "pos")}},
  ["idl.gradients"] = {args = {THETA, M("h", "m", "pos"), M("n", "m"), M("p", "m"), M("h", 1, "pos")}},
  ["idl.lipschitz"] = {args = {THETA, M("h", "m", "pos"), M("n", "m"), M("h", 1, "pos")}},
  ["idl.dual_update"] = {args = {M("h", 1, "pos"), M("h", 1, "pos"), NUM, K(0.1)}},
  ["idl.relaxed_workspace"] = {args = {K(H), K(N), K(P), K(MS)}, nocompare = true},
  ["idl.relaxed_forward"] = {args = {WS, THETA, M("h", "m", "pos"), M("n", "m"), M("p", "m")}},
  ["idl.relaxed_value"] = {args = {V(function() return forward_ws(WS_X) end), K(WS_X),
    M("h", 1, "pos"), M("h", 1)}},
  ["idl.relaxed_grads"] = {args = {V(function() return forward_ws(WS_X) end), K(WS_X),
    M("h", 1, "pos"), THETA, M("h", "m")}},
  ["idl.lipschitz_theta"] = {args = {WS, M("h", "m", "pos"), M("n", "m"), M("h", 1, "pos")}},
  ["idl.lipschitz_x"] = {args = {WS, THETA, M("h", 1, "pos")}},
  ["idl.lipschitz_x_carried"] = {args = {WS, THETA, M("h", 1, "pos"), M("h", "h"), M("h", "h"), K(2), K(1),
    K(1.1)}},
  ["idl.relaxed_x_update"] = {args = {M("h", "m"), M("h", "m"), K(0.5)}},
  ["idl.readout"] = {args = {THETA, M("h", "m", "pos"), M("n", "m"), M("p", "m"), K(1e-8)}},
  ["idl.readout_loo"] = {args = {THETA, M("h", "m", "pos"), M("n", "m"), M("p", "m"),
    F(function() return {1e-6, 1e-2, 1} end)}},
  ["idl.readout_normal"] = {args = {THETA, V(function()
    local Z = randm(H + N, MS)
    return Z * Z:t() + idl.eye(H + N)
  end), M(H + N, P), M(H + N, 1), M(P, 1), K(1e-8)}},
  ["idl.project_inf"] = {args = {M(3, 3), NUM}},
  ["idl.project_inf_"] = {args = {M(3, 3), NUM}},
  ["idl.project_spectral"] = {args = {M(3, 3), NUM}},
  ["idl.project_spectral_"] = {args = {M(3, 3), NUM}},
  ["idl.project_lmi"] = {args = {M(3, 3), M(3, 1, "pos"), M(2, 3)}},
  ["idl.project_lmi_"] = {args = {M(3, 3), M(3, 1, "pos"), M(2, 3)}},
  ["idl.project_nonneg"] = {args = {M(2, 3)}},
  ["idl.project_nonneg_"] = {args = {M(2, 3)}},
  ["idl.equilibrium"] = {args = {M(3, 3, "small"), M(3, 4), F(function() return {tol = 1e-9, max_iter = 200,
    method = "anderson", memory = 3, force = false, x0 = idl.zeros(3, 4)} end)}},
  ["idl.implicit_backward"] = {args = {M(3, 3, "small"), M(3, 4), M(3, 4), F(function()
    return {tol = 1e-5, max_iter = 200, steps = 50, precision = "single"} end)}},
  ["idl.wellposed"] = {args = {M(3, 3, "small")}},
  ["idl.diagonal_blocks"] = {args = {M(3, 3, "small")}},
  -- entry points of the Lua modules
  ["idl.IDLModel"] = {args = {F(function() return {hidden_variables = 2, random_state = 1} end)},
    nocompare = true},
  ["idl.IDLModel.load"] = {args = {K(MODEL_FILE)}, nocompare = true},
  ["idl.IDLClassifier"] = {args = {F(function() return {hidden_variables = 2} end)}, nocompare = true},
  ["idl.IDLClassifier.load"] = {args = {K(CLASSIFIER_FILE)}, nocompare = true},
  ["idl.LinearRegression"] = {args = {F(function() return {ridge = 0.1} end)}, nocompare = true},
  ["idl.LogisticRegression"] = {args = {F(function() return {ridge = 0.1} end)}, nocompare = true},
  ["idl.logistic.readout"] = {args = {M(3, 2), M(3, 1), M(2, 6), M(3, 6, "onehot"), NUM}},
  ["idl.load"] = {args = {K(MODEL_FILE)}, nocompare = true},

  ["idl.help"] = {args = {V(function() return idl.randn end)}, quiet = true, nocompare = true},
  ["idl.timing"] = {args = {K(false)}, after = function() idl.timing(false) end},
  ["idl.repl.repr"] = {args = {V(function() return {1, {a = "x"}, idl.zeros(2, 2)} end)}},
  ["idl.repl.show"] = {args = {V(function() return {1, {a = "x"}} end)}},
  ["idl.repl.summary"] = {args = {V(function() return idl.IDLModel{hidden_variables = 2} end)}},
  ["idl.cli.cores"] = {args = {}},
  ["idl.cli.exit"] = {args = {STR, K(2), FIXED(nil)}, exits = true},
  ["idl.cli.parse"] = {args = {K({"--seed", "3"}), F(cli_spec)}, exits = true},
  ["idl.cli.try_parse"] = {args = {K({"--seed", "3"}), F(cli_spec)}},
  ["idl.cli.usage"] = {args = {F(cli_spec),
    K("s.lua")}},

  ["idl.csvload.load_csv"] = {args = {K(CSV), F(function() return {target = "b", impute = "mean"} end)},
    names = {"load_csv"}},
  ["idl.data.implicit"] = {args = {K(6), RNG, F(function() return {n = 2, h = 4, p = 1, density = 0.5} end)}},
  ["idl.data.linear"] = {args = {K(6), RNG, F(function() return {a = 2, noise = 0.1} end)}},
  ["idl.data.gaussian_classes"] = {args = {K(6), RNG, F(function() return {classes = 3, n = 4,
    informative = 2, means = idl.zeros(3, 2)} end)}},
  ["idl.data.select_rows"] = {args = {M(4, 2), K({2, 1})}},
  ["idl.data.sin"] = {args = {K(6), RNG, F(function() return {noise = 0.1} end)}},
  ["idl.data.sparse_random"] = {args = {INT, K(3), NUM, RNG}},
  ["idl.data.train_test_split"] = {args = {M(6, 2), M(6, 1), F(function() return {test_size = 0.5,
    shuffle = true, rng = idl.rng(1)} end)}},

  ["idl.experiment.csv_text"] = {args = {K({"a", "b"}), V(function() return {{a = 1, b = "x,y"}} end)}},
  ["idl.experiment.figure"] = {args = {V(experiment_results), K("lines"), K("f.png"), STR,
    F(function() return {series = {{y = {1, 2}}}} end)}, quiet = true, nocompare = true},
  ["idl.experiment.file"] = {args = {V(experiment_results), K("a.csv")}},
  ["idl.experiment.finish"] = {args = {F(experiment_results)}, quiet = true, nocompare = true},
  ["idl.experiment.fmt"] = {args = {NUM, INT}},
  ["idl.experiment.fmt_pm"] = {args = {NUM, NUM, INT}},
  ["idl.experiment.markdown_table"] = {args = {K({"a", "b"}), V(function() return {{a = 1, b = "|"}} end),
    K({"A", "B"})}},
  ["idl.experiment.mean_std"] = {args = {K({1, 2, 4})}},
  ["idl.experiment.mkdir"] = {args = {OUT("made/dir")}},
  ["idl.experiment.note"] = {args = {V(experiment_results), STR}},
  ["idl.experiment.parse"] = {args = {K({"--tiny"}), F(function() return {name = "sweep"} end)},
    exits = true},
  ["idl.experiment.pick"] = {args = {K("tiny"), K({tiny = 1})}},
  ["idl.experiment.positive_series"] = {args = {V(history), K("G")}},
  ["idl.experiment.read_csv"] = {args = {K(CSV)}},
  ["idl.experiment.results"] = {args = {F(function() return {out = TMP .. "/res2", size = "tiny", seed = 0,
    name = "sweep"} end), F(function() return {name = "sweep", section = "0", title = "sweep"} end)},
    nocompare = true},
  ["idl.experiment.series"] = {args = {V(history), K("G")}},
  ["idl.experiment.step_series"] = {args = {V(function() return {{step = 1, G = 2}, {step = 2, G = 1}} end),
    K("G")}},
  ["idl.experiment.text_table"] = {args = {K({"a", "b"}), V(function() return {{a = 1, b = "x"}} end),
    K({"A", "B"})}},
  ["idl.experiment.trace_steps"] = {args = {INT}, nocompare = true},
  ["idl.experiment.write_csv"] = {args = {OUT("w.csv"), K({"a", "b"}),
    V(function() return {{a = 1, b = 2}} end)}},
  ["idl.experiment.write_json"] = {args = {OUT("w.json"), V(function() return {a = {1, 2}} end)}},

  ["idl.implicit.evaluate"] = {args = {THETA, M("n", "m"), M("p", "m"), F(function() return {tol = 1e-8} end),
    M("h", "m")}},
  ["idl.implicit.loss_and_grad"] = {args = {THETA, M("n", "m"), M("p", "m"),
    F(function() return {tol = 1e-8} end)}},
  ["idl.implicit.predict"] = {args = {THETA, M("n", "m"), F(function() return {tol = 1e-8} end)}},
  ["idl.implicit.project"] = {args = {THETA, K("inf"), NUM}},
  ["idl.implicit.round"] = {args = {STATE, CONFIG}, nocompare = true,
    names = {"round", "idl.trainers.implicit"}},
  ["idl.standardize.row_scaler"] = {args = {M(3, 4)}},
  ["idl.standardize.standardize"] = {args = {M(3, 4), M(3, 1), M(3, 1, "pos")}},
  ["idl.standardize.to_standardized"] = {args = {THETA, F(function() return {u_mean = randm(N, 1),
    u_scale = idl.ones(N, 1), y_mean = randm(P, 1), y_scale = idl.ones(P, 1)} end)}},
  ["idl.standardize.from_standardized"] = {args = {THETA, F(function() return {u_mean = randm(N, 1),
    u_scale = idl.ones(N, 1), y_mean = randm(P, 1), y_scale = idl.ones(P, 1)} end), THETA}},
  ["idl.standardize.input_layer"] = {args = {THETA, M("n", "m")}},
  ["idl.standardize.input_layer_from"] = {args = {THETA, M("n", 1), M("n", 1, "pos")}},
  ["idl.standardize.new"] = {args = {}, nocompare = true},
  ["idl.implicit.save_state"] = {args = {V(function() local s = state(); idl.implicit.round(s, config())
    return s end)}, nocompare = true},
  ["idl.implicit.restore_state"] = {args = {STATE, F(function() local s = state()
    idl.implicit.round(s, config()); return idl.implicit.save_state(s) end)}, nocompare = true},
  ["idl.trainers.registry.bcd.save_state"] = {args = {V(function() local s = state()
    idl.trainers.registry.bcd.round(s, config()); return s end)}, nocompare = true},
  ["idl.trainers.registry.bcd.restore_state"] = {args = {STATE, F(function() local s = state()
    local bcd = idl.trainers.registry.bcd; bcd.round(s, config()); return bcd.save_state(s) end)},
    nocompare = true},
  ["idl.trainers.registry.hybrid.save_state"] = {args = {V(function() local s = state()
    idl.trainers.registry.hybrid.round(s, config()); return s end)}, nocompare = true},
  ["idl.trainers.registry.hybrid.restore_state"] = {args = {STATE, F(function() local s = state()
    local hybrid = idl.trainers.registry.hybrid; hybrid.round(s, config()); return hybrid.save_state(s) end)},
    nocompare = true},
  ["idl.implicit.train"] = {args = {THETA, M("n", "m"), M("p", "m"), F(function() return {epochs = 1,
    batch_size = 2} end)}, nocompare = true},

  ["idl.initializers.least_squares_abc"] = {args = {THETA, M("h", "m", "pos"), M("n", "m"), M("p", "m"),
    K(1e-8)}},
  ["idl.initializers.names"] = {args = {}},
  ["idl.initializers.accepted"] = {args = {K("linear"), F(function() return {ridge = 1e-4} end)}},
  ["idl.initializers.linear"] = {args = {F(problem), RNG, F(function() return {ridge = 1e-4} end)}},
  ["idl.initializers.linear_from_moments"] = {args = {F(function()
    local Z = randm(MS, N + P)
    local C = Z - idl.ones(MS, 1) * (Z:sum(1) / MS)
    return {x_mean = randm(1, N), x_scale = idl.ones(1, N), y_mean = randm(1, P), comoments = C:t() * C}
  end), K(H), RNG, F(function() return {ridge = 1e-4} end)}},
  ["idl.initializers.picard_ls"] = {args = {F(problem),
    RNG, F(function() return {kappa = 0.5} end)}},
  ["idl.initializers.random"] = {args = {F(problem),
    RNG, F(function() return {density = 0.5} end)}},
  ["idl.initializers.subproblems"] = {args = {F(problem),
    RNG, F(function() return {abc_iterations = 2, def_iterations = 2} end)}},
  ["idl.initializers.user"] = {args = {F(problem),
    RNG, F(function() return {theta = theta()} end)}},
  ["idl.initializers.register"] = {args = {K("sweep_init"), V(function() return function() end end)}},

  ["idl.json.decode"] = {args = {K('{"a": [1, 2.5, null]}'), F(function() return {null = 0} end)}},
  ["idl.json.encode"] = {args = {V(function() return {a = {1, 2.5}, b = "x"} end), F(function()
    return {indent = true, allow_nan = true} end)}},
  ["idl.json.try_encode"] = {args = {V(function() return {a = {1, 2.5}, b = "x"} end), F(function()
    return {indent = true, allow_nan = true} end)}},
  ["idl.json.read"] = {args = {K(JSON_FILE), F(function() return {null = 0} end)}},
  ["idl.json.write"] = {args = {OUT("out.json"), V(function() return {a = 1} end),
    F(function() return {indent = true} end)}},

  ["idl.losses.get"] = {args = {K("squared")}, nocompare = true},
  ["idl.losses.names"] = {args = {}},
  ["idl.losses.register"] = {args = {K("sweep_loss"), F(function() return {value = function() return 0 end,
    gradient = function() end} end)}, nocompare = true},

  ["KFold:split"] = {self = function() return idl.model_selection.KFold{n_splits = 2} end, args = {M(4, 2)}},
  ["StratifiedKFold:split"] = {self = function() return idl.model_selection.StratifiedKFold{n_splits = 2} end,
    args = {M(4, 2), K({1, 2, 1, 2})}},
  ["LinearRegression:get_params"] = {self = fitted_linear, args = {}},
  ["LogisticRegression:get_params"] = {self = fitted_logistic, args = {}},
  ["idl.model_selection.KFold"] = {args = {F(function() return {n_splits = 3, shuffle = true, seed = 1} end)},
    nocompare = true},
  ["idl.model_selection.StratifiedKFold"] = {args = {F(function() return {n_splits = 3, shuffle = true,
    rng = idl.rng(1)} end)}, nocompare = true},
  ["idl.model_selection.clone"] = {args = {V(function() return idl.LinearRegression{ridge = 1} end)},
    nocompare = true},
  ["idl.model_selection.cross_val_score"] = {args = {V(function() return idl.LinearRegression{} end), M(6, 2),
    M(6, 1), F(function() return {cv = 2, scoring = "neg_mse"} end)}},
  ["idl.model_selection.grid_search"] = {args = {V(function() return idl.LinearRegression{} end),
    K({ridge = {0, 1}}), M(6, 2), M(6, 1), F(function() return {cv = 2} end)}, nocompare = true},
  ["idl.model_selection.permutation_importance"] = {args = {V(fitted_linear), M(5, 2), M(5, 1),
    F(function() return {n_repeats = 2, rng = idl.rng(3)} end)}},
  ["idl.metrics.accuracy"] = {args = {K({"a", "b", "a"}), K({"a", "a", "a"})}},
  ["idl.metrics.confusion_matrix"] = {args = {K({"a", "b", "a"}), K({"a", "a", "b"}),
    F(function() return {labels = {"b", "a"}} end)}},
  ["idl.metrics.f1"] = {args = {K({1, 2, 1}), K({1, 1, 2}), F(function() return {average = "none"} end)}},
  ["idl.metrics.log_loss"] = {args = {K({"a", "b"}),
    V(function() return idl.from_table{{0.5, 0.5}, {0.2, 0.8}} end), K({"a", "b"}),
    F(function() return {eps = 1e-9} end)}},
  ["idl.metrics.precision"] = {args = {K({1, 2, 1}), K({1, 1, 2}),
    F(function() return {average = "macro"} end)}},
  ["idl.metrics.recall"] = {args = {K({1, 2, 1}), K({1, 1, 2}), F(function() return {labels = {2, 1}} end)}},
  ["idl.metrics.mae"] = {args = {M(4, 2), M(4, 2)}},
  ["idl.metrics.mse"] = {args = {M(4, 2), M(4, 2)}},
  ["idl.metrics.r2"] = {args = {M(4, 2), M(4, 2)}},
  ["idl.metrics.rmse"] = {args = {M(4, 2), M(4, 2)}},

  ["idl.model._checksum"] = {args = {STR}},
  ["idl.model.constraint_value"] = {args = {F(function() return {kind = "spectral", kappa = 0.5} end)}},
  ["idl.model.theta_problem"] = {args = {THETA}},
  ["idl.params.schema"] = {args = {V(function() return {{"a", 1, {"number", min = 0}, "a number"},
    {"b", nil, "boolean", "a flag", resume = true}} end)}},
  ["idl.estimator.docs"] = {args = {}},
  ["idl.estimator.fit_docs"] = {args = {}},
  ["idl.model.check_constraint"] = {args = {F(function() return {kind = "spectral", kappa = 0.5} end),
    FIXED("check_constraint"), FIXED(nil)}},
  ["idl.model.check_theta"] = {args = {THETA, FIXED("check_theta"), FIXED(nil)}},
  ["idl.model.in_set"] = {args = {M(3, 3, "small"), F(function() return {kind = "lmi", kappa = 0.9} end),
    M(3, 1, "pos"), K(1e-9)}},
  ["idl.model.average"] = {args = {F(function() return {new_model(), new_model()} end)}, nocompare = true},
  ["idl.model.new"] = {args = {F(function() return {theta = theta(), lambda = idl.ones(H, 1),
    constraint = {kind = "inf", kappa = 0.8}, loss = "squared", meta = {note = "x"}} end)}, nocompare = true},
  ["idl.model.read"] = {args = {K(MODEL_FILE)}, nocompare = true},
  ["idl.model.parse"] = {args = {V(function() return idl.model.serialize(new_model()) end), STR},
    nocompare = true},
  ["idl.model.project_"] = {args = {M(3, 3), F(function() return {kind = "lmi", kappa = 0.9} end),
    M(3, 1, "pos")}},
  ["idl.model.serialize"] = {args = {V(new_model)}},

  ["idl.optim.adam"] = {args = {V(function() return copy_grads end),
    F(function() return {w = randm(2, 2)} end), F(function() return {learning_rate = 0.1} end),
    V(function() return {} end)}},
  ["idl.optim.sgd"] = {args = {V(function() return copy_grads end),
    F(function() return {w = randm(2, 2)} end),
    F(function() return {learning_rate = 0.1, momentum = 0.5} end),
    V(function() return {} end)}},
  ["idl.optim.check_gradient"] = {args = {V(function() return function(params) return params.w:sum() end end),
    F(function() return {w = randm(2, 2)} end), F(function() return {w = idl.ones(2, 2)} end),
    F(function() return {eps = 1e-6, max_entries = 3} end)}},
  ["idl.optim.projected"] = {args = {V(function() return idl.optim.adam end),
    V(function() return function() end end)}, nocompare = true},
  ["idl.optim.schedule_lr"] = {args = {F(function() return {kind = "plateau", lr = 0.1, patience = 1} end),
    V(function() return {} end), INT, NUM}},

  ["idl.parallel.is_worker"] = {args = {K({"--worker"})}},
  ["idl.parallel.map"] = {args = {K(WORKER), V(function() return {{seed = 1, n = 2}} end),
    F(function() return {jobs = 1} end)}, nocompare = true},
  ["idl.parallel.serve"] = {args = {
    V(function() return {"--worker", JSON_FILE, TMP .. "/serve.json", "1"} end),
    V(function() return function(params) return {got = params.x} end end)}, nocompare = true},

  ["idl.plot.errorbars"] = {args = {F(function() return {path = TMP .. "/e.png", title = "t",
    series = {{y = {1, 2}, err = {0.1, 0.2}, label = "a"}}} end)}, nocompare = true},
  ["idl.plot.heatmap"] = {args = {F(function() return {path = TMP .. "/h.svg", matrix = {{1, 2}, {3, 4}},
    xlabels = {"a", "b"}, values = true} end)}, nocompare = true},
  ["idl.plot.lines"] = {args = {F(function() return {path = TMP .. "/l.png", logy = true, xrange = {0, 3},
    series = {{x = {1, 2}, y = {1, 2}, label = "a", style = "points"}}} end)}, nocompare = true},
  ["idl.plot.scatter"] = {args = {F(function() return {path = TMP .. "/s.png",
    points = {x = {1, 2}, y = {2, 1}},
    curves = {{x = {1, 2}, y = {1, 2}}}} end)}, nocompare = true},

  ["idl.progress.is_terminal"] = {args = {K(2)}},
  ["idl.progress.new"] = {args = {F(function() return {total = 3, label = "x", enabled = false,
    fields = {"G"}} end)}, nocompare = true},

  ["idl.trainers.abc_exact"] = {args = {STATE, K(1e-8)}, nocompare = true},
  ["idl.trainers.bcd"] = {args = {STATE, CONFIG}, nocompare = true},
  ["idl.trainers.checkpoint"] = {args = {V(trained_state), OUT("ckpt.idl"),
    F(function() return {note = "x"} end)}, nocompare = true},
  ["idl.trainers.resume"] = {args = {V(function() return idl.trainers.checkpoint(trained_state(),
    TMP .. "/c.idl") end),
    F(function() return {U = randm(N, MS, 5), Y = randm(P, MS, 6)} end)}, nocompare = true},
  ["idl.trainers.config"] = {args = {F(function() return {rounds_number = 2} end)}},
  ["idl.trainers.dual_step"] = {args = {STATE, CONFIG}},
  ["idl.trainers.def_step"] = {args = {STATE}, nocompare = true},
  ["idl.trainers.hybrid"] = {args = {STATE, CONFIG}, nocompare = true},
  ["idl.trainers.invalidate"] = {args = {STATE}},
  ["idl.trainers.measure"] = {args = {STATE, CONFIG}, nocompare = true},
  ["idl.trainers.names"] = {args = {}},
  ["idl.trainers.get"] = {args = {K("two_loops")}},
  ["idl.trainers.new_state"] = {args = {F(function() return {model = new_model(), U = randm(N, MS),
    Y = randm(P, MS), X = idl.ones(H, MS)} end)}, nocompare = true},
  ["idl.trainers.objective"] = {args = {STATE}},
  ["idl.trainers.one_loop"] = {args = {STATE, CONFIG}, nocompare = true},
  ["idl.trainers.register"] = {args = {K("sweep_trainer"), V(function() return function() end end),
    F(function() return {relaxed = false} end)}},
  ["idl.trainers.restore_best"] = {args = {V(trained_state)}, nocompare = true},
  ["idl.trainers.run"] = {args = {K("one_loop"), STATE, CONFIG}, nocompare = true},
  ["idl.trainers.theta_step"] = {args = {STATE}, nocompare = true},
  ["idl.trainers.two_loops"] = {args = {STATE, CONFIG}, nocompare = true},
  ["idl.trainers.x_step"] = {args = {STATE}, nocompare = true},
}

-- ---------------------------------------------------------------------------
-- KNOWN: findings in lua/idl not fixed yet, name -> the positions ("self",
-- "none" for no arguments, "arg<k>", "arg<k>.<field>") where a bad value gives
-- an error that does not name the function (a Lua runtime error such as
-- "attempt to index a nil value", or the name of an inner function such as
-- "equilibrium:" for Model:hidden). Their tests are pending; a listed
-- position that no longer fails makes the test fail, so the list stays true.
-- Regenerate it from IDL_SWEEP_REPORT's file after fixing some.
local KNOWN = {
}

-- ---------------------------------------------------------------------------
-- Calling

local EXIT = setmetatable({}, {__tostring = function() return "exit" end})
local STOPPED = "sweep: instruction budget exceeded"

local function budget_hook() error(STOPPED) end

-- The function that makes one call: f(self, ...) -> the callee's results,
-- with the callee named as a user would name it (so argument errors read
-- "bad argument #1 to 'get'", not "to '?'").
local function caller_of(entry, spec, bad_self)
  local key = string.format("%q", tostring(entry.key))
  if spec.op then
    local ops = {
      ["+"] = function(_, a, b) return a + b end, ["-"] = function(_, a, b) return a - b end,
      ["*"] = function(_, a, b) return a * b end, ["/"] = function(_, a, b) return a / b end,
      unm = function(_, a) return -a end, tostring = function(_, a) return tostring(a) end,
      ["=="] = function(_, a, b) return a == b end, len = function(_, a) return #a end,
      index = function(_, a, i) return a[i] end,
    }
    return assert(ops[spec.op])
  end
  if entry.kind == "method" and not bad_self then
    return assert(load("return function(o, ...) return o[" .. key .. "](o, ...) end"))()
  end
  if entry.kind == "method" then
    local chunk = "local t = ...; return function(o, ...) return t[" .. key .. "](o, ...) end"
    return assert(load(chunk))(entry.owner)
  end
  return assert(load("local t = ...; return function(_, ...) return t[" .. key .. "](...) end"))(entry.owner)
end

local saved_threads = idl.get_threads()
local real_exit = os.exit

-- Calls f(call.self, call.args[1..call.nargs]) under the instruction budget; returns ok, err
-- or ok, results (a packed table).
-- luacheck: push ignore 122 (os.exit, io.stdout and io.stderr are swapped and restored)
local function run_call(entry, spec, f, call)
  local out, err
  if spec.exits then
    -- the functions that end the process by design are called with os.exit
    -- raising instead
    ---@diagnostic disable-next-line: duplicate-set-field
    os.exit = function(code)
      if code ~= nil and type(code) ~= "boolean" and not math.tointeger(code) then
        error("bad argument #1 to 'exit' (number has no integer representation)")
      end
      error(EXIT)
    end
  end
  if spec.exits or spec.quiet then
    -- their output goes to a file
    out, err = io.stdout, io.stderr
    local sink = io.open(TMP .. "/output.txt", "w")
    io.stdout, io.stderr = sink, sink
  end
  debug.sethook(budget_hook, "", BUDGET)
  local res = table.pack(pcall(f, call.self, table.unpack(call.args, 1, call.nargs)))
  debug.sethook()
  if spec.exits or spec.quiet then
    io.stdout:close()
    io.stdout, io.stderr = out, err
    os.exit = real_exit
  end
  if spec.after then spec.after() end
  if entry.name == "idl.set_threads" then idl.set_threads(saved_threads) end
  if res[1] then return true, res end
  return false, res[2]
end
-- luacheck: pop

-- ---------------------------------------------------------------------------
-- Variants of a call: {where = position, label, apply = function(call)}
-- where call = {self =, args =, nargs =} is a fresh valid call to change.

local function build(spec)
  local call = {args = {}, nargs = #spec.args}
  for i, d in ipairs(spec.args) do call.args[i] = d.make() end
  if spec.self then call.self = spec.self() end
  return call
end

local function variants(spec)
  local list = {}
  local function add(where, label, apply, view)
    list[#list + 1] = {where = where, label = label, apply = apply, view = view}
  end
  add("none", "no arguments", function(call) call.args, call.nargs = {}, 0 end)
  if spec.self then
    for _, b in ipairs(BAD) do
      add("self", b[1], function(call) call.self = b[2]() end)
    end
  end
  if #spec.args == 0 then
    for _, b in ipairs(BAD) do
      add("arg1", "extra " .. b[1], function(call) call.args[1], call.nargs = b[2](), 1 end)
    end
  end
  for i, d in ipairs(spec.args) do
    local where = "arg" .. i
    if not d.fixed then
      for _, b in ipairs(BAD) do
        if not (d.path and type(b[2]()) == "number") then
          add(where, b[1], function(call) call.args[i] = b[2]() end)
        end
      end
    end
    if d.matrix then
      for _, mv in ipairs(matrix_variants(d.matrix[1], d.matrix[2])) do
        add(where, mv[1], function(call) call.args[i] = mv[2]() end)
      end
      add(where, "orphaned view", function(call) call.args[i] = orphan_view(call.args[i]) end, true)
    end
    local sample = d.fields and d.make()
    if type(sample) == "table" then
      for _, key in ipairs(sorted_keys(sample)) do
        local fwhere = where .. "." .. tostring(key)
        for _, b in ipairs(BAD) do
          add(fwhere, b[1], function(call) call.args[i][key] = b[2]() end)
        end
        if d.theta then
          local r, c = sample[key]:size()
          for _, mv in ipairs(matrix_variants(r, c)) do
            add(fwhere, mv[1], function(call) call.args[i][key] = mv[2]() end)
          end
          add(fwhere, "orphaned view", function(call) call.args[i][key] = orphan_view(call.args[i][key]) end,
            true)
        end
      end
      add(where, "unknown field", function(call) call.args[i].sweep_unknown_field = 1 end)
    end
  end
  return list
end

-- The results of two calls agree (matrices to rounding, numbers, strings, booleans).
local function same(a, b)
  if idl.is_matrix(a) and idl.is_matrix(b) then
    if a:rows() ~= b:rows() or a:cols() ~= b:cols() then return false end
    if a:rows() == 0 or a:cols() == 0 then return true end
    local scale = math.max(1, a:norm("max"))
    return scale ~= scale or idl.equal(a, b, 1e-12 * scale)
  end
  if type(a) == "number" and type(b) == "number" then
    return a == b or (a ~= a and b ~= b) or math.abs(a - b) <= 1e-12 * math.max(1, math.abs(a))
  end
  if type(a) ~= type(b) then return false end
  if type(a) == "table" then
    for k, v in pairs(a) do
      if (idl.is_matrix(v) or type(v) == "number") and not same(v, b[k]) then return false end
    end
    return true
  end
  return type(a) ~= "string" and type(a) ~= "boolean" or a == b
end

-- ---------------------------------------------------------------------------
-- The sweep of one function: returns its record {calls, raised, succeeded,
-- stopped, failures = {{where, label, message}}}.

local function names_of(entry, spec)
  if spec.names then return spec.names end
  local last = entry.name:match("[.:]([^.:]+)$")
  return {last}
end

local function mentions(msg, names)
  for _, n in ipairs(names) do
    if msg:find(n, 1, true) then return true end
  end
  return false
end

local function sweep_one(entry, spec)
  local rec = {calls = 0, raised = 0, succeeded = 0, stopped = 0, failures = {}, notes = {}}
  local names = names_of(entry, spec)
  local good = caller_of(entry, spec, false)
  local bad_self = spec.self and caller_of(entry, spec, true)
  -- the valid call first: it must succeed
  local call = build(spec)
  if TRACE then io.stderr:write(entry.name, " valid\n") end
  local ok, res = run_call(entry, spec, good, call)
  if not ok and res ~= EXIT then
    rec.failures[#rec.failures + 1] = {where = "valid", label = "valid call", message = tostring(res)}
  end
  local valid_ok, valid_res = ok, res
  for _, v in ipairs(variants(spec)) do
    call = build(spec)
    v.apply(call)
    local f = v.where == "self" and bad_self or good
    if spec.op and not (idl.is_matrix(call.args[1]) or idl.is_matrix(call.args[2])) then
      goto continue -- Lua's own arithmetic error: the metamethod is not called
    end
    if v.view then
      collectgarbage()
      collectgarbage()
    end
    if TRACE then io.stderr:write(entry.name, " ", v.where, " ", v.label, "\n") end
    ok, res = run_call(entry, spec, f, call)
    rec.calls = rec.calls + 1
    if ok then
      rec.succeeded = rec.succeeded + 1
      if v.view and valid_ok and not spec.nocompare and valid_res ~= EXIT then
        for k = 2, math.max(valid_res.n, 2) do
          if not same(valid_res[k], res[k]) then
            rec.failures[#rec.failures + 1] = {where = v.where, label = v.label,
              message = "result " .. (k - 1) .. " differs from the call with the plain matrix"}
          end
        end
      end
    elseif res == EXIT then
      rec.succeeded = rec.succeeded + 1
    elseif v.view and valid_ok then
      rec.failures[#rec.failures + 1] = {where = v.where, label = v.label,
        message = "the valid call succeeds, with an orphaned view it fails: " .. tostring(res)}
    else
      rec.raised = rec.raised + 1
      local msg = tostring(res)
      if msg:find(STOPPED, 1, true) then
        rec.stopped = rec.stopped + 1
        rec.notes[#rec.notes + 1] = v.where .. " = " .. v.label .. ": still running after " .. BUDGET ..
          " instructions"
      elseif type(res) ~= "string" or not mentions(msg, names) then
        rec.failures[#rec.failures + 1] = {where = v.where, label = v.label, message = msg}
      end
    end
    ::continue::
  end
  return rec
end

-- ---------------------------------------------------------------------------
-- The spec

local found = enumerate()

-- The working directory's entries, to check that no bad value became a file name.
local function cwd_entries()
  local set, p = {}, io.popen("ls -A")
  for name in p:lines() do set[name] = true end
  p:close()
  return set
end
local cwd_before = cwd_entries()
local TOTAL = {functions = 0, calls = 0, raised = 0, succeeded = 0, stopped = 0, pending = 0, notes = {}}

describe("the sweep covers", function()
  it("every public function, and lists no function that is gone", function()
    local missing, stale = {}, {}
    for name in pairs(found) do
      if not COVERED[name] then missing[#missing + 1] = name end
    end
    for name in pairs(COVERED) do
      if not found[name] then stale[#stale + 1] = name end
    end
    table.sort(missing)
    table.sort(stale)
    assert.are.same({}, missing, "public functions the sweep does not cover: add them to COVERED")
    assert.are.same({}, stale, "COVERED lists functions that no longer exist")
  end)
end)

local plot_mod = idl.plot
local saved_gnuplot

describe("bad input to", function()
  setup(function()
    -- no figure is rendered: the sweep is about arguments
    saved_gnuplot = plot_mod.gnuplot
    plot_mod.gnuplot = TMP .. "/no_gnuplot"
  end)

  teardown(function()
    plot_mod.gnuplot = saved_gnuplot
    idl.set_threads(saved_threads)
    idl.initializers.registry.sweep_init = nil
    idl.initializers.sweep_init = nil
    idl.trainers.registry.sweep_trainer = nil
    print(string.format("\nsweep: %d functions, %d bad inputs (%d raised an error naming the function, "
      .. "%d succeeded, %d stopped by the instruction budget), %d functions pending (KNOWN)",
      TOTAL.functions, TOTAL.calls, TOTAL.raised - TOTAL.stopped, TOTAL.succeeded, TOTAL.stopped,
      TOTAL.pending))
    for _, note in ipairs(TOTAL.notes) do print("  " .. note) end
  end)

  local names = sorted_keys(COVERED)
  for _, name in ipairs(names) do
    local entry, spec = found[name], COVERED[name]
    if entry and selected(name) and not (spec.without_mpi and not idl.mpi.available()) then
      it(name, function()
        local t0 = idl.clock()
        local rec = sweep_one(entry, spec)
        if os.getenv("IDL_SWEEP_TIMES") then
          io.stderr:write(string.format("%8.3f %s\n", idl.clock() - t0, name))
        end
        TOTAL.functions = TOTAL.functions + 1
        TOTAL.calls = TOTAL.calls + rec.calls
        TOTAL.raised = TOTAL.raised + rec.raised
        TOTAL.succeeded = TOTAL.succeeded + rec.succeeded
        TOTAL.stopped = TOTAL.stopped + rec.stopped
        for _, note in ipairs(rec.notes) do TOTAL.notes[#TOTAL.notes + 1] = name .. ": " .. note end
        if REPORT then
          local by_where, order = {}, {}
          for _, f in ipairs(rec.failures) do
            if not by_where[f.where] then
              by_where[f.where] = {labels = {}, message = f.message}
              order[#order + 1] = f.where
            end
            table.insert(by_where[f.where].labels, f.label)
          end
          for _, w in ipairs(order) do
            REPORT:write(string.format("%s\t%s\t%s\t%s\n", name, w, table.concat(by_where[w].labels, ","),
              (by_where[w].message:gsub("\n", " "))))
          end
          REPORT:flush()
        end
        local known = {}
        for _, w in ipairs(KNOWN[name] or {}) do known[w] = true end
        local unexpected, expected, seen_where = {}, {}, {}
        for _, f in ipairs(rec.failures) do
          local line = string.format("%s = %s: %s", f.where, f.label, f.message)
          if known[f.where] then
            if not seen_where[f.where] then expected[#expected + 1] = line end
          else
            unexpected[#unexpected + 1] = line
          end
          seen_where[f.where] = true
        end
        assert(#unexpected == 0, name .. ": " .. #unexpected .. " calls did not raise an error naming it:\n  "
          .. table.concat(unexpected, "\n  ", 1, math.min(#unexpected, 40)))
        if KNOWN[name] then
          local fixed = {}
          for _, w in ipairs(KNOWN[name]) do
            if not seen_where[w] then fixed[#fixed + 1] = w end
          end
          assert(#fixed == 0, name .. ": KNOWN lists " .. table.concat(fixed, ", ")
            .. " but the sweep finds no problem there any more: update KNOWN")
          TOTAL.pending = TOTAL.pending + 1
          pending(name .. " (lua/idl finding, KNOWN): " .. table.concat(expected, "; "))
        end
      end)
    end
  end
end)

describe("orphaned views", function()
  it("keep their parent's values after the parent is collected", function()
    local views, copies = {}, {}
    for k = 1, 20 do
      local parent = randm(6, 7, k)
      views[k] = parent:sub(2, 5, 3, 6)
      copies[k] = views[k]:copy()
    end
    collectgarbage()
    collectgarbage()
    for k = 1, 20 do
      -- churn the allocator so a freed parent would be overwritten
      local _ = idl.full(6, 7, 0 / 0)
      assert.is_true(idl.equal(views[k], copies[k]))
      assert.is_true(views[k]:is_view())
    end
  end)
end)

describe("crafted input", function()
  it("a generator state with a bad index or bad words is refused, the generator unchanged", function()
    local r = idl.rng(5)
    local good = r:state()
    local words = #good - 8 -- 624 words, then the index mti (an int) and padding
    local function with_mti(mti)
      return good:sub(1, words) .. string.pack("<i4", mti) .. good:sub(words + 5)
    end
    local expected = idl.rng(5):uniform()
    for _, mti in ipairs{-1, -2147483648, 625, 2147483647} do
      local ok, err = pcall(r.set_state, r, with_mti(mti))
      assert.is_false(ok)
      assert.matches("set_state: not a state of this generator", err, 1, true)
    end
    local big_word = string.pack("<I8", 1 << 32) .. good:sub(9)
    assert.has_error(function() r:set_state(big_word) end)
    assert.are.equal(expected, r:uniform())
    -- the index at its bounds is valid (624: the next draw regenerates the block)
    r:set_state(with_mti(624))
    local x = r:uniform()
    assert.is_true(x >= 0 and x < 1)
  end)

  it("two generators of one seed have the same state bytes (no uninitialised padding)", function()
    for _, seed in ipairs{0, 1, 4294967295} do
      local a, b = idl.rng(seed), idl.rng(seed)
      assert.are.equal(a:state(), b:state())
      a:uniform()
      b:set_state(a:state())
      assert.are.equal(a:state(), b:state())
    end
  end)

  it("a matrix larger than the machine's memory is refused by name, not by the allocator", function()
    for _, f in ipairs{"zeros", "ones"} do
      local ok, err = pcall(idl[f], 1 << 20, 1 << 16)
      assert.is_false(ok)
      assert.matches(f .. ": a 1048576x65536 matrix is too large", err, 1, true)
    end
  end)

  it("write_csv refuses header names that would not read back; read_csv ends lines at any \\r", function()
    local path = TMP .. "/names.csv"
    local m = idl.ones(2, 2)
    for _, names in ipairs{{"a,b", "c"}, {"a", "b\nc"}, {"a", "b\r"}} do
      local ok, err = pcall(idl.write_csv, path, m, names)
      assert.is_false(ok)
      assert.matches("write_csv: name %d would not read back", err)
    end
    idl.write_csv(path, idl.ones(2, 1), {" "}) -- a lone blank name is written quoted: it reads back
    local _, lone = idl.read_csv(path, {header = true})
    assert.are.same({" "}, lone)
    idl.write_csv(path, m, {"a\rb", " c "})
    local back, names = idl.read_csv(path, {header = true})
    assert.are.same({"a\rb", " c "}, names)
    assert.is_true(idl.equal(back, m))
    write_text(path, "a,b\r\r\n1,2\r\r\n")
    back, names = idl.read_csv(path)
    assert.are.same({"a", "b"}, names)
    assert.is_true(idl.equal(back, idl.from_table{{1, 2}}))
  end)

  it("no bad value became a file in the working directory", function()
    local after = cwd_entries()
    local leaked = {}
    for _, b in ipairs(BAD) do
      local name = tostring(b[2]())
      if after[name] and not cwd_before[name] then leaked[#leaked + 1] = name end
    end
    assert.are.same({}, leaked)
  end)
end)

teardown(function()
  os.execute("rm -rf '" .. TMP .. "'")
end)
