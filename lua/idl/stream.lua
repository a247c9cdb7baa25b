--- idl.stream: data sources that read mini-batches from a file as they are
-- needed, for data larger than memory. Re-exported as idl.data.stream_csv.
--
--     local src = idl.data.stream_csv("big.csv", {target = "price", batch_size = 4096})
--     for X, y in src:batches() do ... end    -- one pass: X batch x features, y batch x 1
--     local st = src:stats()                  -- one streaming pass: means and scales
--
-- Memory stays flat whatever the file's size: the reader (engine/core/csvstream.c)
-- holds one buffer, and each batch is a new matrix that the collector reclaims.
-- Rows are samples, as in idl.read_csv and the estimators.
-- @module idl.stream

local core = require "idl.core"
local api = require "idl._api"

local stream = {}

local CSVSource = {}
CSVSource.__index = CSVSource

local function check_open(self)
  if self._closed then api.fail("the source is closed") end
end

local OPTIONS = {target = true, batch_size = true, shard = true, delimiter = true, header = true}
local MAX_SHARDS = 1 << 20

-- {rank, size} (rank 0-based, as idl.mpi numbers ranks), "mpi" for this
-- process's rank in its MPI job, nil for the whole file.
local function check_shard(shard)
  if shard == nil then return 0, 1 end
  if shard == "mpi" then
    local mpi = require "idl.mpi"
    return mpi.rank(), mpi.size()
  end
  if type(shard) ~= "table" or core.is_matrix(shard) then
    api.fail("shard must be {rank, size} or \"mpi\", got " .. api.describe(shard))
  end
  local size = api.check(shard[2], {"number", integer = true, min = 1, max = MAX_SHARDS},
    "shard size (shard[2])")
  local rank = api.check(shard[1], {"number", integer = true, min = 0, max = size - 1},
    "shard rank (shard[1])")
  return rank, size
end

local function check_delimiter(d)
  if type(d) ~= "string" or #d ~= 1 or d:find("[\n\r%.%-]") then
    api.fail("delimiter must be one character (not a newline, '.' or '-'), got " .. api.describe(d))
  end
  return d
end

-- The 1-based column of the targets (0: none) from a name, an index or "last".
local function resolve_target(target, handle)
  local cols = handle:cols()
  if target == nil then return 0 end
  local j
  if target == "last" then
    j = cols
  elseif type(target) == "string" then
    local names = handle:names()
    if not names then
      api.failf("target %q: the file has no header to find the name in", target)
    end
    for k, name in ipairs(names) do
      if name == target then j = k break end
    end
    if not j then
      local list = table.concat(names, ", ")
      api.failf("target %q is not a column (columns: %s)", target, list)
    end
  else
    j = api.check(target, {"number", integer = true, min = 1, max = cols},
      "target (a column name, index or \"last\")")
  end
  if cols == 1 then
    api.fail("the file has one column: no features are left beside the target")
  end
  return j
end

--- data.stream_csv(path [, {target = nil, batch_size = 1024, shard = nil,
-- delimiter = ",", header = "auto"}]) -> a CSV source that reads the file a
-- batch at a time, never whole.
--
-- target: the column of the targets, by header name, 1-based index or "last";
-- without it every column is a feature and batches have no y. The header is
-- detected as idl.read_csv detects it (header = true/false forces it).
-- shard = {rank, size} (rank 0-based) keeps the data rows whose 0-based index
-- i has i % size == rank (round-robin: shards differ by at most one row, and
-- error line numbers are exact); shard = "mpi" takes {mpi.rank(), mpi.size()}.
-- Every shard reads the whole file but parses only its own rows.
-- A file that cannot be opened or has no data raises here; a malformed line
-- raises when a batch reaches it, with its line number.
stream.stream_csv = api.public("idl.data.stream_csv", function(path, opts)
  api.check(path, "string", "path")
  opts = api.options(opts, OPTIONS, "options")
  local batch = opts.batch_size == nil and 1024
    or api.check(opts.batch_size, {"number", integer = true, min = 1, max = 1 << 24}, "batch_size")
  local delimiter = opts.delimiter == nil and "," or check_delimiter(opts.delimiter)
  local header = opts.header == nil and "auto" or opts.header
  if header ~= "auto" and type(header) ~= "boolean" then
    api.fail("header must be true, false or \"auto\", got " .. api.describe(header))
  end
  local rank, size = check_shard(opts.shard)
  local handle, err = core._csv_stream(path, delimiter, header, rank, size)
  if not handle then api.fail(err) end
  local target = resolve_target(opts.target, handle)
  return setmetatable({_handle = handle, _open = {path, delimiter, header, rank, size}, _cols = handle:cols(),
    _names = handle:names(),
    path = path, n_features = handle:cols() - (target > 0 and 1 or 0),
    batch_size = batch, target = target > 0 and target or nil, shard = {rank, size}}, CSVSource)
end)

--- stream.is_source(v) -> whether v is a data source of this module (what
-- idl.IDLModel:fit and predict accept in place of a matrix).
stream.is_source = api.public("idl.stream.is_source", function(v) return getmetatable(v) == CSVSource end)

--- src:next() -> X (rows x features), y (rows x 1, nil without a target): the
-- next batch of batch_size rows (fewer at the end), or nil when the pass is over.
-- A malformed line raises "CSVSource:next: <path>:<line>: ..."; the source
-- then raises the same until src:reset().
CSVSource.next = api.method(CSVSource, "idl.data.CSVSource:next", function(self)
  check_open(self)
  if self._failed then api.fail(self._failed .. " (src:reset() reads from the start again)") end
  local X, y = self._handle:next(self.batch_size, self.target or 0)
  if X == nil and y ~= nil then
    self._failed = y
    api.fail(y)
  end
  return X, y
end)

--- src:reset() -> src: the next batch is the first one again.
CSVSource.reset = api.method(CSVSource, "idl.data.CSVSource:reset", function(self)
  check_open(self)
  local ok, err = self._handle:rewind()
  if not ok then api.fail(err) end
  self._failed = nil
  return self
end)

--- src:batches() -> an iterator over one pass, from the first batch:
-- `for X, y in src:batches() do ... end`.
CSVSource.batches = api.method(CSVSource, "idl.data.CSVSource:batches", function(self)
  check_open(self)
  self:reset()
  return function() return self:next() end
end)

--- src:columns() -> the header names of the file (a table), or nil without a header.
CSVSource.columns = api.method(CSVSource, "idl.data.CSVSource:columns", function(self)
  return self._names and {table.unpack(self._names)} or nil
end)

--- src:close(): releases the file now (the collector does it otherwise);
-- next, reset and batches then raise. stats still works (it opens its own).
CSVSource.close = api.method(CSVSource, "idl.data.CSVSource:close", function(self)
  self._handle:close()
  self._closed = true
end)


-- Moments of the rows of M (b x k): column means and centred sums of
-- squares (full: the k x k centred sums of cross products), two passes
-- within the batch.
local function batch_moments(M, full)
  local b = M:rows()
  local mean = M:sum(1) / b
  local C = M - core.ones(b, 1) * mean
  if full then return mean, C:t() * C end
  return mean, C:hadamard(C):sum(1)
end

-- Adds a batch's moments to acc {n, mean, m2} (Chan, Golub and LeVeque's
-- pairwise update: stable where a running sum of squares is not; with full
-- moments the outer product of the means' difference, the diagonal of which
-- is the per-column update).
local function merge(acc, n, mean, m2)
  if acc.n == 0 then
    acc.n, acc.mean, acc.m2 = n, mean, m2
    return
  end
  local total = acc.n + n
  local delta = mean - acc.mean
  acc.mean = acc.mean + delta * (n / total)
  local spread = acc.full and delta:t() * delta or delta:hadamard(delta)
  acc.m2 = acc.m2 + m2 + spread * (acc.n * n / total)
  acc.n = total
end

-- The diagonal of a k x k matrix as a 1 x k matrix.
local function diagonal(M)
  local d = core.zeros(1, M:cols())
  for j = 1, M:cols() do d:set(1, j, M:get(j, j)) end
  return d
end

local function scales(n, m2)
  local scale = core.zeros(1, m2:cols())
  for j = 1, scale:cols() do
    local sd = math.sqrt(m2:get(1, j) / n)
    scale:set(1, j, sd > 0 and sd or 1)
  end
  return scale
end

-- A uniform sample of k rows of a stream (Li's reservoir algorithm L: the
-- draws count in the rows kept, not in the rows read), in rows (k x cols)
-- with their 0-based row indices in index.
local Reservoir = {}
Reservoir.__index = Reservoir

local function reservoir(k, cols, seed)
  return setmetatable({k = k, rows = core.zeros(k, cols), index = {}, seen = 0, rng = core.rng(seed)},
    Reservoir)
end

function Reservoir:draw() return 1 - self.rng:uniform() end -- in (0, 1]: its log is finite

function Reservoir:skip()
  self.w = self.w * math.exp(math.log(self:draw()) / self.k)
  self.next = self.next + 1 + math.floor(math.log(self:draw()) / math.log(1 - self.w))
end

function Reservoir:keep(M, r, slot)
  core.copy(self.rows:sub(slot, slot, 1, self.rows:cols()), M:sub(r, r, 1, M:cols()))
  self.index[slot] = self.seen + r - 1
end

-- Offers the rows of M (the next rows of the stream).
function Reservoir:offer(M)
  local b = M:rows()
  for r = 1, b do
    local i = self.seen + r - 1
    if i < self.k then
      self:keep(M, r, i + 1)
      if i + 1 == self.k then
        self.w, self.next = 1, self.k - 1
        self:skip()
      end
    elseif i == self.next then
      self:keep(M, r, self.rng:integer(self.k))
      self:skip()
    end
  end
  self.seen = self.seen + b
end

-- The sample in row order: {X = rows x features, y = rows x 1 or nil, rows = {0-based indices}}.
function Reservoir:result(nx, target)
  local k = math.min(self.k, self.seen)
  local order = {}
  for i = 1, k do order[i] = i end
  table.sort(order, function(a, b) return self.index[a] < self.index[b] end)
  local S = self.rows:t():select_cols(order):t()
  local index = {}
  for i, j in ipairs(order) do index[i] = self.index[j] end
  local out = {X = S:sub(1, k, 1, nx):copy(), rows = index}
  if target then out.y = S:sub(1, k, nx + 1, nx + 1):copy() end
  return out
end

local STATS_OPTIONS = {distributed = true, comoments = true, sample = true, seed = true}

-- Reads every row of the source once into acc (moments) and res (a reservoir or nil).
local function scan(self, acc, res)
  local handle, err = core._csv_stream(table.unpack(self._open, 1, 5))
  if not handle then api.fail(err) end
  while true do
    local X, y = handle:next(self.batch_size, self.target or 0)
    if X == nil and y ~= nil then api.fail(y) end
    if X == nil then break end
    local M = y and X:hcat(y) or X
    merge(acc, M:rows(), batch_moments(M, acc.full))
    if res then res:offer(M) end
  end
  handle:close()
end

--- src:stats([{distributed = false, comoments = false, sample = 0, seed = 0}])
-- -> {rows, x_mean, x_scale, y_mean, y_scale [, comoments] [, sample]}:
-- one streaming pass over this source's rows (the position of next() is
-- kept), giving per column the mean and the population standard deviation
-- (1 for a constant column), as 1 x k matrices like data.Standardizer's mean
-- and scale (y_mean and y_scale only with a target). With distributed = true
-- every rank of the MPI job passes its own shard and all get the statistics
-- of the union (rows counts them all).
-- comoments = true adds st.comoments, the k x k centred sums of cross
-- products sum_i (z_i - mean)^T (z_i - mean) of the rows z = [features,
-- target] (the normal equations of a least-squares fit, merged batch by batch
-- as the variances are; not with distributed). sample = k adds st.sample, a
-- uniform random sample of min(k, rows) rows drawn in the same pass (seeded by
-- seed): {X = k x features, y = k x 1 (with a target), rows = their 0-based
-- row indices in this source, ascending}, in memory.
CSVSource.stats = api.method(CSVSource, "idl.data.CSVSource:stats", function(self, opts)
  opts = api.options(opts, STATS_OPTIONS, "options")
  local distributed = opts.distributed ~= nil and api.check(opts.distributed, "boolean", "distributed")
  local full = opts.comoments ~= nil and api.check(opts.comoments, "boolean", "comoments")
  local k_sample = opts.sample == nil and 0 or api.check(opts.sample, {"count", max = 1 << 24}, "sample")
  local seed = opts.seed == nil and 0
    or api.check(opts.seed, {"number", integer = true, min = 0, max = 0xffffffff}, "seed")
  if full and distributed then api.fail("comoments cannot be combined with distributed (yet)") end
  local k = self._cols
  local acc = {n = 0, full = full}
  local res = k_sample > 0 and reservoir(k_sample, k, seed) or nil
  scan(self, acc, res)
  if distributed then
    local zeros = core.zeros(1, k)
    local n, mean, m2 = require("idl.distributed").moments(acc.n, acc.mean or zeros, acc.m2 or zeros)
    acc = {n = n, mean = mean, m2 = m2}
  end
  if acc.n == 0 then api.fail("the source has no rows" .. (distributed and " on any rank" or "")) end
  local scale, nx = scales(acc.n, full and diagonal(acc.m2) or acc.m2), k - (self.target and 1 or 0)
  local st = {rows = acc.n, x_mean = acc.mean:sub(1, 1, 1, nx):copy(),
    x_scale = scale:sub(1, 1, 1, nx):copy()}
  if self.target then
    st.y_mean, st.y_scale = acc.mean:sub(1, 1, k, k):copy(), scale:sub(1, 1, k, k):copy()
  end
  if full then st.comoments = acc.m2 end
  if res then st.sample = res:result(nx, self.target) end
  return st
end)

return stream
