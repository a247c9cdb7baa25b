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
    path = path,
    batch_size = batch, target = target > 0 and target or nil, shard = {rank, size}}, CSVSource)
end)

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


-- Moments of the rows of M (b x k): column means and sums of squared
-- deviations, two passes within the batch.
local function batch_moments(M)
  local b = M:rows()
  local mean = M:sum(1) / b
  local C = M - core.ones(b, 1) * mean
  return mean, C:hadamard(C):sum(1)
end

-- Adds a batch's moments to acc {n, mean, m2} (Chan, Golub and LeVeque's
-- pairwise update: stable where a running sum of squares is not).
local function merge(acc, n, mean, m2)
  if acc.n == 0 then
    acc.n, acc.mean, acc.m2 = n, mean, m2
    return
  end
  local total = acc.n + n
  local delta = mean - acc.mean
  acc.mean = acc.mean + delta * (n / total)
  acc.m2 = acc.m2 + m2 + delta:hadamard(delta) * (acc.n * n / total)
  acc.n = total
end

local function scales(acc)
  local scale = core.zeros(1, acc.m2:cols())
  for j = 1, scale:cols() do
    local sd = math.sqrt(acc.m2:get(1, j) / acc.n)
    scale:set(1, j, sd > 0 and sd or 1)
  end
  return scale
end

--- src:stats([{distributed = false}]) -> {rows, x_mean, x_scale, y_mean, y_scale}:
-- one streaming pass over this source's rows (the position of next() is
-- kept), giving per column the mean and the population standard deviation
-- (1 for a constant column), as 1 x k matrices like data.Standardizer's mean
-- and scale (y_mean and y_scale only with a target). With distributed = true
-- every rank of the MPI job passes its own shard and all get the statistics
-- of the union (rows counts them all).
CSVSource.stats = api.method(CSVSource, "idl.data.CSVSource:stats", function(self, opts)
  opts = api.options(opts, {distributed = true}, "options")
  local distributed = opts.distributed ~= nil and api.check(opts.distributed, "boolean", "distributed")
  local handle, err = core._csv_stream(table.unpack(self._open, 1, 5))
  if not handle then api.fail(err) end
  local acc = {n = 0}
  while true do
    local X, y = handle:next(self.batch_size, self.target or 0)
    if X == nil and y ~= nil then api.fail(y) end
    if X == nil then break end
    local M = y and X:hcat(y) or X
    merge(acc, M:rows(), batch_moments(M))
  end
  handle:close()
  local k = self._cols
  if distributed then
    local zeros = core.zeros(1, k)
    local n, mean, m2 = require("idl.distributed").moments(acc.n, acc.mean or zeros, acc.m2 or zeros)
    acc = {n = n, mean = mean, m2 = m2}
  end
  if acc.n == 0 then api.fail("the source has no rows" .. (distributed and " on any rank" or "")) end
  local scale, nx = scales(acc), k - (self.target and 1 or 0)
  local st = {rows = acc.n, x_mean = acc.mean:sub(1, 1, 1, nx), x_scale = scale:sub(1, 1, 1, nx)}
  if self.target then
    st.y_mean, st.y_scale = acc.mean:sub(1, 1, k, k):copy(), scale:sub(1, 1, k, k):copy()
  end
  st.x_mean, st.x_scale = st.x_mean:copy(), st.x_scale:copy()
  return st
end)

return stream
