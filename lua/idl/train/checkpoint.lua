--- Checkpoints: the model file (idl.model's format) of the current model, with
-- the trainer state in its meta section (idl.trainers.checkpoint / resume).
-- @module idl.train.checkpoint

local core = require "idl.core"
local util = require "idl._util"
local api = require "idl._api"
local json = require "idl.json"
local model_mod = require "idl.model"
local registry = require "idl.train.registry"
local state = require "idl.train.state"

local checkpoint = {}

-- The format: the model file (idl.model's format) of the current model, with
-- the trainer state in its meta section:
--
--   meta checkpoint.format number 1
--   meta checkpoint.state string <JSON>   the state's plain values (round,
--        history, counters, best score, rng states, ...); a matrix appears in
--        it as {"$m": "<name>"}, a generator as {"$rng": "<hex of rng:state()>"}
--   meta checkpoint.<name> matrix ...     those matrices (X, best.theta.A,
--        implicit.optim.m.D, ...), %.17g: every double reads back exactly
--
-- plus the caller's checkpoint_meta fields (the estimator: its parameters and
-- fit options). idl.load reads a checkpoint as the model it holds; the file is
-- written atomically (Model:save), so an interrupted write leaves the previous
-- checkpoint intact.

local CHECKPOINT_FORMAT = 2 -- 2: exact data hashes (1: sums and norms)

-- Stop reasons with which a resumed run has nothing left to do.
local FINAL = {converged = true, early_stopping = true}

local function is_rng(v)
  local mt = type(v) == "userdata" and getmetatable(v)
  return mt and mt.__name == "idl.rng" or false
end

local function to_hex(b)
  return (b:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function from_hex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

-- Plain values for JSON; matrices into mats[name], generators as hex.
local function pack(v, name, mats)
  if core.is_matrix(v) then
    mats[name] = v
    return {["$m"] = name}
  elseif is_rng(v) then
    return {["$rng"] = to_hex(v:state())}
  elseif type(v) == "table" then
    local t = {}
    for k, x in pairs(v) do t[k] = pack(x, name .. "." .. tostring(k), mats) end
    return t
  end
  return v
end

local function unpack_value(v, meta, where)
  if type(v) ~= "table" then return v end
  if v["$m"] then
    local m = meta["checkpoint" .. tostring(v["$m"])]
    if not core.is_matrix(m) then
      util.fail("resume", where .. ": matrix " .. tostring(v["$m"]) .. " is missing")
    end
    return m
  end
  if v["$rng"] then
    local g = core.rng(0)
    g:set_state(from_hex(v["$rng"]))
    return g
  end
  local t = {}
  for k, x in pairs(v) do t[k] = unpack_value(x, meta, where) end
  return t
end

-- Figures that identify a data set: a resumed run must see the same data.
-- Exact, order-sensitive hashes of the bytes (idl.hash): other labels, y
-- shuffled against X or two feature columns swapped are told apart.
local FINGERPRINT = {"rows", "cols", "outputs", "u_hash", "y_hash"}
local function fingerprint(U, Y)
  return {rows = U:rows(), cols = U:cols(), outputs = Y:rows(), u_hash = core.hash(U), y_hash = core.hash(Y)}
end

-- A trainer's own state, under its spec's state_key: the trainer that wrote
-- the checkpoint (tree.trainer), else the first spec whose key is present.
local function restore_trainer_state(s, tree)
  local spec = tree.trainer and registry.get(tree.trainer)
  if not (spec and spec.restore_state and tree[spec.state_key] ~= nil) then
    spec = nil
    for _, name in ipairs(registry.names()) do
      local other = registry.get(name)
      if other.restore_state and tree[other.state_key] ~= nil then spec = other; break end
    end
  end
  if spec then spec.restore_state(s, tree[spec.state_key]) end
  s.trainer = tree.trainer or (spec and spec.name)
end

local STATE_KEYS = {"round", "since_best", "history", "timing", "eq_iterations", "X",
  "x_eq", "x_eq_prev", "x_eq_eval", "x_eq_eval_prev", "sigma", "lipschitz_slack", "last_constants"}

--- checkpoint.write(s, path [, meta]) -> path: writes the current model and
-- the trainer state of s (round, history, best model, early-stopping counter,
-- relaxed X, warm starts, step-size bounds, and the state of a trainer with
-- one of its own, e.g. "implicit": its standardized parameters, Adam moments,
-- generator, learning rate) atomically to path, in the format above. meta is a
-- table of extra meta fields (keys of letters, digits, _ . -). checkpoint.resume
-- continues from the file exactly where s stood.
function checkpoint.write(s, path, meta)
  local fn = "checkpoint"
  if type(s) ~= "table" or getmetatable(s.model) ~= model_mod.Model then
    util.fail(fn, "s must be a trainer state (state.new), got " .. util.describe(s))
  end
  if type(path) ~= "string" or path == "" then
    util.fail(fn, "path must be a non-empty string, got " .. util.describe(path))
  end
  if meta ~= nil and type(meta) ~= "table" then
    util.fail(fn, "meta must be a table, got " .. util.describe(meta))
  end
  local tree = {format = CHECKPOINT_FORMAT, data = fingerprint(s.U, s.Y),
    eval = s.eval and fingerprint(s.eval.U, s.eval.Y) or nil, finished = s.finished, trainer = s.trainer}
  for _, k in ipairs(STATE_KEYS) do tree[k] = s[k] end
  if s.best then
    tree.best = {score = s.best.score, round = s.best.round, theta = s.best.model.theta,
      lambda = s.best.model.lambda, X = s.best.X}
  end
  local spec = s.trainer and registry.get(s.trainer)
  if spec and spec.save_state then tree[spec.state_key] = spec.save_state(s) end
  local mats = {}
  local packed = pack(tree, "", mats)
  local m = s.model:copy()
  for k, v in pairs(meta or {}) do m.meta[k] = v end
  m.meta["checkpoint.format"] = CHECKPOINT_FORMAT
  local ok, text = pcall(json.encode, packed, {allow_nan = true})
  if not ok then util.fail(fn, "the state cannot be written: " .. api.strip(text)) end
  m.meta["checkpoint.state"] = text
  for name, v in pairs(mats) do m.meta["checkpoint" .. name] = v end
  local saved, err = core.write_file_atomic(path, model_mod.serialize(m))
  if not saved then util.fail(fn, err) end
  return path
end

--- checkpoint.resume(checkpoint, {U =, Y =, eval = {U =, Y =}}) -> s: the trainer
-- state written by checkpoint.write (checkpoint: its path, or the model
-- idl.load read from it), on the data it was trained on (checked: shapes and
-- sums must match, else "resume: ... differs"). trainers.run(round, s, config)
-- then continues the run: the same config gives the same rounds, bit for bit,
-- as the run that was never stopped.
function checkpoint.resume(from, data)
  local fn = "resume"
  local m = from
  if type(m) == "string" then
    local loaded, err = model_mod.read(m)
    if not loaded then util.fail(fn, err) end
    m = loaded
  end
  if getmetatable(m) ~= model_mod.Model then
    util.fail(fn, "checkpoint must be a path or a model read from a checkpoint, got " .. util.describe(m))
  end
  local text = m.meta["checkpoint.state"]
  local format = m.meta["checkpoint.format"]
  if type(text) == "string" and type(format) == "number" and format ~= CHECKPOINT_FORMAT then
    util.fail(fn, string.format("checkpoint format %s is not supported (this build reads format %d, "
      .. "whose data fingerprints are exact hashes)", tostring(format), CHECKPOINT_FORMAT))
  end
  if type(text) ~= "string" or format ~= CHECKPOINT_FORMAT then
    util.fail(fn, "not a checkpoint (a model file without trainer state, or another checkpoint format)")
  end
  local decoded, err = json.decode(text)
  if type(decoded) ~= "table" then util.fail(fn, "the trainer state does not parse: " .. tostring(err)) end
  local tree = unpack_value(decoded, m.meta, "checkpoint")
  if type(data) ~= "table" or core.is_matrix(data) then
    util.fail(fn, "data must be a table {U =, Y =, eval =}, got " .. util.describe(data))
  end
  util.check_options(data, {U = true, Y = true, eval = true}, fn, "data")
  local ev = data.eval
  if ev ~= nil and (type(ev) ~= "table" or core.is_matrix(ev) or not core.is_matrix(ev.U)
    or not core.is_matrix(ev.Y) or ev.U:rows() ~= m.n or ev.Y:rows() ~= m.p
    or ev.U:cols() ~= ev.Y:cols()) then
    util.fail(fn, string.format("data.eval must be a table {U = %d x k, Y = %d x k}, got %s", m.n, m.p,
      util.describe(ev)))
  end
  local model = m:copy()
  for k in pairs(model.meta) do
    if tostring(k):match("^checkpoint%.") then model.meta[k] = nil end
  end
  local s = state.new{model = model, U = data.U, Y = data.Y, X = tree.X, eval = ev}
  local function same(what, want, got)
    for _, k in ipairs(FINGERPRINT) do
      if want[k] ~= got[k] then
        util.fail(fn, string.format("%s differs from the data of the checkpoint (%s: %s, "
          .. "checkpoint %s)", what, k, tostring(got[k]), tostring(want[k])))
      end
    end
  end
  same("the training data", tree.data, fingerprint(s.U, s.Y))
  if (tree.eval == nil) ~= (s.eval == nil) then
    util.fail(fn, tree.eval and "the checkpoint has an evaluation set, data.eval is missing"
      or "data.eval is given, the checkpoint was written without an evaluation set")
  end
  if tree.eval then same("the evaluation data", tree.eval, fingerprint(s.eval.U, s.eval.Y)) end
  for _, k in ipairs(STATE_KEYS) do
    if k ~= "X" then s[k] = tree[k] end
  end
  s.history = s.history or {}
  s.timing = s.timing or {rounds = 0, monitor = 0}
  s.resumed_finished = FINAL[tree.finished] and tree.finished or nil
  if tree.best then
    local b = tree.best
    s.best = {score = b.score, round = b.round, X = b.X, model = model_mod.new{theta = b.theta,
      lambda = b.lambda, constraint = model.constraint, loss = model.loss, meta = model.meta}}
  end
  restore_trainer_state(s, tree)
  local last = s.history[#s.history]
  s.start = core.clock() - (last and last.seconds or 0)
  return s
end

return checkpoint
