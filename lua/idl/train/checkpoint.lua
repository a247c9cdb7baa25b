--- Checkpoints: the model file (idl.model's format) of the current model, with
-- the trainer state in its meta section (idl.trainers.checkpoint / resume).
-- @module idl.train.checkpoint

local core = require "idl.core"
local api = require "idl._api"
local json = require "idl.json"
local model_mod = require "idl.model"
local mpi = require "idl.mpi"
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
--
-- A data-parallel run (idl.mpi, N > 1 ranks, each training on its own shard):
-- the ranks hold the same parameters, optimizer moments, schedule, history and
-- best model, but each has state of its own shard: the fingerprints of its
-- training and hold-out data, its warm starts (X, x_eq, x_eq_eval, the best
-- round's X, the implicit trainer's xcache), its shuffling generator (a
-- trainer declares such entries of its state in its spec's shard_state) and
-- its counters. Rank 0 gathers every rank's shard state (mpi.gather) and
-- alone writes ONE file, atomically: the shared state once, as above, with
-- "ranks" = N in it, and per rank r
--
--   meta checkpoint.shard<r> string <JSON>   rank r's shard state, packed as above
--   meta checkpoint.shard<r>.<name> matrix   its matrices
--
-- One file written by one process is never half old and half new, as a file
-- per rank could be. Resuming takes the same number of ranks, each with its
-- own shard (checked against its fingerprints); every rank reads the file (a
-- file system all ranks see, as the script itself) and takes its own section,
-- so the run continues bit for bit as if it had never stopped.

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
      api.fail(where .. ": matrix " .. tostring(v["$m"]) .. " is missing")
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

local STATE_KEYS = {"round", "since_best", "patience_score", "history", "timing", "eq_iterations", "X",
  "x_eq", "x_eq_prev", "x_eq_eval", "x_eq_eval_prev", "sigma", "lipschitz_x", "lipschitz_slack",
  "last_constants"}

-- The entries of the state (STATE_KEYS and the checkpoint tree) that belong to
-- a rank's shard in a data-parallel run: its data's fingerprints, its warm
-- starts and its own counters.
local SHARD_KEYS = {"data", "eval", "timing", "eq_iterations", "X", "x_eq", "x_eq_prev", "x_eq_eval",
  "x_eq_eval_prev"}

-- Moves the shard entries out of tree (the checkpoint tree of this rank) into
-- a table of their own: SHARD_KEYS, the best round's X and the entries the
-- trainer's spec declares in shard_state.
local function split_shard(tree, spec)
  local shard = {}
  for _, k in ipairs(SHARD_KEYS) do shard[k], tree[k] = tree[k], nil end
  if tree.best then shard.best_X, tree.best.X = tree.best.X, nil end
  local own = spec and tree[spec.state_key]
  if type(own) == "table" and spec.shard_state then
    local copy, mine = {}, {}
    for k, v in pairs(own) do copy[k] = v end
    for _, k in ipairs(spec.shard_state) do mine[k], copy[k] = copy[k], nil end
    tree[spec.state_key], shard.trainer = copy, mine
  end
  return shard
end

-- The inverse of split_shard: rank's shard entries back into tree.
local function merge_shard(tree, shard)
  for _, k in ipairs(SHARD_KEYS) do tree[k] = shard[k] end
  if tree.best then tree.best.X = shard.best_X end
  if type(shard.trainer) == "table" then
    local spec = tree.trainer and registry.get(tree.trainer)
    local own = spec and tree[spec.state_key]
    if type(own) ~= "table" then
      api.fail("the checkpoint's shard state has no trainer state to join")
    end
    for k, v in pairs(shard.trainer) do own[k] = v end
  end
end

-- The checkpoint tree of s: everything checkpoint.resume needs.
local function state_tree(s, spec)
  local tree = {format = CHECKPOINT_FORMAT, data = fingerprint(s.U, s.Y),
    eval = s.eval and fingerprint(s.eval.U, s.eval.Y) or nil, finished = s.finished, trainer = s.trainer}
  for _, k in ipairs(STATE_KEYS) do tree[k] = s[k] end
  if s.best then
    tree.best = {score = s.best.score, round = s.best.round, theta = s.best.model.theta,
      lambda = s.best.model.lambda, X = s.best.X}
  end
  if spec and spec.save_state then tree[spec.state_key] = spec.save_state(s) end
  return tree
end

-- JSON of a packed tree.
local function encode(packed)
  local text, problem = json.try_encode(packed, {allow_nan = true})
  if not text then api.fail("the state cannot be written: " .. problem) end
  return text
end

-- The model file of s's current model with meta's fields, to which the state is added.
local function checkpoint_model(s, meta)
  local m = s.model:copy()
  for k, v in pairs(meta or {}) do m.meta[k] = v end
  m.meta["checkpoint.format"] = CHECKPOINT_FORMAT
  return m
end

-- tree packed into m's meta fields: its JSON under key, its matrices under
-- "checkpoint<prefix>.<path>".
local function add_packed(m, key, tree, prefix)
  local mats = {}
  m.meta[key] = encode(pack(tree, prefix, mats))
  for name, v in pairs(mats) do m.meta["checkpoint" .. name] = v end
end

local function write_model(m, path)
  local saved, err = core.write_file_atomic(path, model_mod.serialize(m))
  if not saved then api.fail(err) end
end

-- Rank r's shard state as one message for mpi.gather: a text (the JSON of
-- its matrices' names and shapes, a newline, the JSON of the packed shard)
-- and its matrices stacked in one column.
local function shard_message(shard, r)
  local mats, names = {}, {}
  local text = encode(pack(shard, ".shard" .. r, mats))
  for name in pairs(mats) do names[#names + 1] = name end
  table.sort(names)
  local layout, shapes = {}, {}
  for i, name in ipairs(names) do
    shapes[i] = {mats[name]:rows(), mats[name]:cols()}
    layout[i] = {name, shapes[i][1], shapes[i][2]}
  end
  if #names == 0 then return "[]\n" .. text, core.zeros(0, 1) end
  local flat, views = mpi.fused_buffer(shapes)
  for i, name in ipairs(names) do core.copy(views[i], mats[name]) end
  return json.encode(layout) .. "\n" .. text, flat
end

-- Rank r's gathered message (shard_message) into m's meta fields.
local function add_shard(m, r, text, flat)
  local layout_text, state_text = text:match("^(.-)\n(.*)$")
  if layout_text == "error" then error(string.format("rank %d: %s", r, state_text), 0) end
  m.meta["checkpoint.shard" .. r] = state_text
  local layout = json.decode(layout_text)
  if #layout == 0 then return end
  local shapes = {}
  for i, e in ipairs(layout) do shapes[i] = {e[2], e[3]} end
  local own, views = mpi.fused_buffer(shapes)
  core.copy(own, flat)
  for i, e in ipairs(layout) do m.meta["checkpoint" .. e[1]] = views[i] end
end

-- checkpoint.write of a data-parallel run (every rank calls it): each rank's
-- shard state is gathered on rank 0, which alone writes the file; its verdict
-- is broadcast, so that every rank returns, or raises, alike.
local function write_distributed(s, path, meta, spec)
  local rank, size = mpi.rank(), mpi.size()
  local tree, text, flat
  local ok, err = pcall(function()
    tree = state_tree(s, spec)
    text, flat = shard_message(split_shard(tree, spec), rank)
  end)
  if not ok then text, flat = "error\n" .. api.strip(err), core.zeros(0, 1) end
  local texts, flats = mpi.gather(text, 0), mpi.gather(flat, 0)
  local verdict, problem = core.zeros(1, 1), nil
  if rank == 0 then
    ok, problem = pcall(function()
      local m = checkpoint_model(s, meta)
      for r = 1, size do add_shard(m, r - 1, texts[r], flats[r]) end
      tree.ranks = size
      add_packed(m, "checkpoint.state", tree, "")
      write_model(m, path)
    end)
    verdict:set(1, 1, ok and 1 or 0)
  end
  mpi.bcast(verdict, 0)
  if verdict:get(1, 1) == 0 then
    api.fail(problem and api.strip(problem) or "rank 0 could not write the checkpoint")
  end
  return path
end

--- checkpoint.write(s, path [, meta [, {distributed = false}]]) -> path:
-- writes the current model and the trainer state of s (round, history, best
-- model, early-stopping counter, relaxed X, warm starts, step-size bounds, and
-- the state of a trainer with one of its own, e.g. "implicit": its
-- standardized parameters, Adam moments, generator, learning rate) atomically
-- to path, in the format above. meta is a table of extra meta fields (keys of
-- letters, digits, _ . -). checkpoint.resume continues from the file exactly
-- where s stood. distributed = true in a job of several ranks (a data-parallel
-- run): a collective, every rank calls it, rank 0 alone writes (above).
function checkpoint.write(s, path, meta, opts)
  if type(s) ~= "table" or getmetatable(s.model) ~= model_mod.Model then
    api.fail("s must be a trainer state (state.new), got " .. api.describe(s))
  end
  if type(path) ~= "string" or path == "" then
    api.fail("path must be a non-empty string, got " .. api.describe(path))
  end
  if meta ~= nil and type(meta) ~= "table" then
    api.fail("meta must be a table, got " .. api.describe(meta))
  end
  if opts ~= nil then
    api.options(opts, {distributed = true}, "opts")
    if opts.distributed ~= nil and type(opts.distributed) ~= "boolean" then
      api.fail("opts.distributed must be a boolean, got " .. api.describe(opts.distributed))
    end
  end
  local spec = s.trainer and registry.get(s.trainer)
  if opts and opts.distributed and mpi.size() > 1 then return write_distributed(s, path, meta, spec) end
  local m = checkpoint_model(s, meta)
  add_packed(m, "checkpoint.state", state_tree(s, spec), "")
  write_model(m, path)
  return path
end

-- A data-parallel checkpoint (tree.ranks = N > 1) resumed by a job of N
-- ranks (distributed): this rank's shard state joined into tree. A checkpoint
-- of one process resumes in one process only, and the other way round.
local function join_shard(tree, meta, distributed)
  local ranks, size = tree.ranks or 1, distributed and mpi.size() or 1
  if ranks ~= size then
    api.fail(ranks > 1
      and string.format("the checkpoint was written by a data-parallel job of %d ranks: resume it with "
        .. "distributed = true under mpirun -np %d%s", ranks, ranks,
        size > 1 and string.format(" (this job has %d ranks)", size) or "")
      or string.format("the checkpoint was written by one process, not by a data-parallel job of %d ranks",
        size))
  end
  if ranks == 1 then return end
  local key = "checkpoint.shard" .. mpi.rank()
  local decoded = type(meta[key]) == "string" and json.decode(meta[key])
  if type(decoded) ~= "table" then
    api.fail("the checkpoint has no state for rank " .. mpi.rank())
  end
  merge_shard(tree, unpack_value(decoded, meta, key))
end

--- checkpoint.resume(checkpoint, {U =, Y =, eval = {U =, Y =}, distributed =
-- false}) -> s: the trainer state written by checkpoint.write (checkpoint: its
-- path, or the model idl.load read from it), on the data it was trained on
-- (checked: shapes and hashes must match, else "resume: ... differs").
-- trainers.run(round, s, config) then continues the run: the same config gives
-- the same rounds, bit for bit, as the run that was never stopped.
-- distributed = true: each rank of a data-parallel job resumes with its own
-- shard from a checkpoint written with distributed = true by a job of as many
-- ranks (checked), taking its own shard state from the file.
function checkpoint.resume(from, data)
  local m = from
  if type(m) == "string" then
    local loaded, err = model_mod.read(m)
    if not loaded then api.fail(err) end
    m = loaded
  end
  if getmetatable(m) ~= model_mod.Model then
    api.fail("checkpoint must be a path or a model read from a checkpoint, got " .. api.describe(m))
  end
  local text = m.meta["checkpoint.state"]
  local format = m.meta["checkpoint.format"]
  if type(text) == "string" and type(format) == "number" and format ~= CHECKPOINT_FORMAT then
    api.fail(string.format("checkpoint format %s is not supported (this build reads format %d, "
      .. "whose data fingerprints are exact hashes)", tostring(format), CHECKPOINT_FORMAT))
  end
  if type(text) ~= "string" or format ~= CHECKPOINT_FORMAT then
    api.fail("not a checkpoint (a model file without trainer state, or another checkpoint format)")
  end
  local decoded, err = json.decode(text)
  if type(decoded) ~= "table" then api.fail("the trainer state does not parse: " .. tostring(err)) end
  local tree = unpack_value(decoded, m.meta, "checkpoint")
  if type(data) ~= "table" or core.is_matrix(data) then
    api.fail("data must be a table {U =, Y =, eval =}, got " .. api.describe(data))
  end
  api.options(data, {U = true, Y = true, eval = true, distributed = true}, "data")
  if data.distributed ~= nil and type(data.distributed) ~= "boolean" then
    api.fail("data.distributed must be a boolean, got " .. api.describe(data.distributed))
  end
  join_shard(tree, m.meta, data.distributed == true)
  local ev = data.eval
  if ev ~= nil and (type(ev) ~= "table" or core.is_matrix(ev) or not core.is_matrix(ev.U)
    or not core.is_matrix(ev.Y) or ev.U:rows() ~= m.n or ev.Y:rows() ~= m.p
    or ev.U:cols() ~= ev.Y:cols()) then
    api.fail(string.format("data.eval must be a table {U = %d x k, Y = %d x k}, got %s", m.n, m.p,
      api.describe(ev)))
  end
  local model = m:copy()
  for k in pairs(model.meta) do
    if tostring(k):match("^checkpoint%.") then model.meta[k] = nil end
  end
  local s = state.new{model = model, U = data.U, Y = data.Y, X = tree.X, eval = ev}
  local function same(what, want, got)
    for _, k in ipairs(FINGERPRINT) do
      if want[k] ~= got[k] then
        api.fail(string.format("%s differs from the data of the checkpoint (%s: %s, "
          .. "checkpoint %s)", what, k, tostring(got[k]), tostring(want[k])))
      end
    end
  end
  same("the training data", tree.data, fingerprint(s.U, s.Y))
  if (tree.eval == nil) ~= (s.eval == nil) then
    api.fail(tree.eval and "the checkpoint has an evaluation set, data.eval is missing"
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
