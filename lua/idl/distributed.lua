--- idl.distributed: the reductions that keep the ranks of an MPI job
-- (idl.mpi) in agreement when each holds its own shard of the data, as
-- data-parallel training needs them:
--
--     distributed.row_scaler(U)        -- standardize.row_scaler of the union of every rank's U
--     distributed.moments(n, mean, m2) -- count, means and squared deviations of the union
--     distributed.comoments(Z)         -- count, mean and centred cross products of the union
--     distributed.sum{a, b, ...}       -- Lua numbers summed over the ranks, one allreduce
--     distributed.max{a, b, ...}       -- their maxima (e.g. the number of batches of an epoch)
--     distributed.union(values)        -- the sorted distinct values of every rank's array
--                                      -- (e.g. the class labels of a classifier's shards)
--     distributed.bcast_string(s, root) -- root's string on every rank
--
-- and idl.mpi.allreduce{A, B, c, D, E, f} sums six gradient blocks in one
-- fused collective. Every rank must call these in the same order; alone (a job
-- of size 1) each gives the statistics of its own data.
-- @module idl.distributed

local core = require "idl.core"
local api = require "idl._api"
local json = require "idl.json"
local mpi = require "idl.mpi"

local distributed = {}

local function check_numbers(values)
  api.check(values, "table", "values")
  local n = rawlen(values)
  if n == 0 or n > api.MAX_DIM then api.fail("values must be a non-empty array of numbers") end
  local M = core.zeros(1, n)
  for i = 1, n do M:set(1, i, api.check(rawget(values, i), "number", "values[" .. i .. "]")) end
  return M
end

local function reduce(values, op)
  local M = mpi.allreduce(check_numbers(values), op)
  local out = {}
  for i = 1, M:cols() do
    local v = M:get(1, i)
    out[i] = math.type(rawget(values, i)) == "integer" and math.tointeger(v) or v
  end
  return out
end

--- distributed.sum(values) -> an array: values[i] summed over the ranks
-- (values an array of numbers, the same length on every rank).
distributed.sum = api.public("idl.distributed.sum", function(values) return reduce(values, "sum") end)

--- distributed.max(values) -> an array: the largest values[i] of the ranks.
distributed.max = api.public("idl.distributed.max", function(values) return reduce(values, "max") end)

--- distributed.bcast_string(text, root) -> root's text, on every rank (text
-- a string on root, ignored elsewhere; root a 0-based rank, the same on every
-- rank). Its length, then its bytes as the doubles of a column: for texts of
-- kilobytes (label sets, verdicts, the results of a sweep), not for bulk data.
distributed.bcast_string = api.public("idl.distributed.bcast_string", function(text, root)
  root = api.check(root, {"number", integer = true, min = 0, max = mpi.size() - 1}, "root")
  local mine = mpi.rank() == root
  if mine then api.check(text, "string", "text") end
  local n = core.full(1, 1, mine and #text or 0)
  mpi.bcast(n, root)
  local bytes = core.zeros(math.tointeger(n:get(1, 1)), 1)
  if mine then
    for i = 1, #text do bytes:set(i, 1, text:byte(i)) end
  end
  mpi.bcast(bytes, root)
  local chars = {}
  for i = 1, bytes:rows() do chars[i] = string.char(math.tointeger(bytes:get(i, 1))) end
  return table.concat(chars)
end)

-- The kind of the array's values ("number", "string", nil when empty), checked.
local function kind_of(values)
  api.check(values, "table", "values")
  local n, kind = rawlen(values), nil
  for i = 1, n do
    local v = rawget(values, i)
    local t = type(v)
    if (t ~= "number" and t ~= "string") or (kind and t ~= kind) then
      api.failf("values[%d] is %s: the values must all be numbers or all strings", i, api.describe(v))
    end
    if t == "number" and (v ~= v or math.abs(v) == math.huge) then
      api.failf("values[%d] is not finite", i)
    end
    kind = t
  end
  return kind
end

-- On rank 0: the reply to the gathered arrays, {values = the sorted union} or
-- {error = why}.
local function union_of(texts)
  local kind, seen, out = nil, {}, {}
  for r, text in ipairs(texts) do
    local mine = json.decode(text)
    if mine.kind and kind and mine.kind ~= kind then
      return {error = string.format("rank %d has %s values, another rank %s values: the values must be "
        .. "of one kind on every rank", r - 1, mine.kind, kind)}
    end
    kind = kind or mine.kind
    for _, v in ipairs(mine.values) do
      if not seen[v] then seen[v], out[#out + 1] = true, v end
    end
  end
  table.sort(out)
  return {values = out}
end

--- distributed.union(values) -> the sorted distinct values (numbers
-- ascending, or strings in byte order) of the arrays of every rank, equal on
-- every rank: values is an array of numbers or of strings, of one kind on every
-- rank (checked: all ranks raise), and may be empty on some. Rank 0 gathers the
-- arrays (mpi.gather) and broadcasts the union.
distributed.union = api.public("idl.distributed.union", function(values)
  local kind = kind_of(values)
  local texts = mpi.gather(json.encode({kind = kind, values = values}), 0)
  local reply = json.decode(distributed.bcast_string(texts and json.encode(union_of(texts)), 0))
  if reply.error then api.fail(reply.error) end
  return reply.values
end)

--- distributed.moments(n, mean, m2) -> n, mean, m2 of the union of the
-- ranks' samples, given each rank's count n (>= 0), per-feature means and sums
-- of squared deviations from them (matrices of one shape on every rank; any
-- values when n is 0). Two allreduces: one of [n, n mean], one of
-- m2 + n (mean - global mean)^2 (the parallel form of Chan, Golub and
-- LeVeque's update: no sum of squares of raw values, so a large offset costs
-- no accuracy). The results are new matrices, equal bit for bit on every rank.
distributed.moments = api.public("idl.distributed.moments", function(n, mean, m2)
  n = api.check(n, {"number", integer = true, min = 0}, "n")
  api.check(mean, {"matrix", finite = n > 0}, "mean")
  api.check(m2, {"matrix", rows = mean:rows(), cols = mean:cols(), finite = n > 0}, "m2")
  if n == 0 then mean, m2 = core.zeros(mean:rows(), mean:cols()), core.zeros(m2:rows(), m2:cols()) end
  local sums = {core.full(1, 1, n), mean * n}
  mpi.allreduce(sums)
  local total = sums[1]:get(1, 1)
  if total == 0 then return 0, sums[2], sums[2]:copy() end
  local global = sums[2] / total
  local d = mean - global
  local spread = m2 + d:hadamard(d) * n
  mpi.allreduce(spread)
  return math.tointeger(total) or total, global, spread
end)

--- distributed.comoments(Z) -> n, mean, C: for the columns (samples) of
-- every rank's Z (k x m_r, the same k everywhere; m_r may be 0 on some ranks,
-- not on all) together: their count, mean (k x 1) and centred sums of cross
-- products C = sum_i (z_i - mean)(z_i - mean)^T (k x k), equal bit for bit on
-- every rank: the normal equations of a least-squares fit on the union. Two
-- allreduces, the second of C_r + m_r (mean_r - mean)(mean_r - mean)^T (the
-- parallel form of Chan et al.'s update, as moments).
distributed.comoments = api.public("idl.distributed.comoments", function(Z)
  api.check(Z, {"matrix", finite = true}, "Z")
  local k, m = Z:rows(), Z:cols()
  local mean, C = core.zeros(k, 1), core.zeros(k, k)
  if m > 0 then
    mean = Z:sum(2) / m
    local centred = Z:copy()
    core.add_col(centred, -1, mean)
    core.gemm(C, centred, centred, 1, 0, false, true)
  end
  local sums = {core.full(1, 1, m), mean * m}
  mpi.allreduce(sums)
  local total = sums[1]:get(1, 1)
  if total == 0 then api.fail("Z has no columns (samples) on any rank") end
  local global = sums[2] / total
  local d = mean - global
  core.gemm(C, d, d, m, 1, false, true)
  mpi.allreduce(C)
  return math.tointeger(total) or total, global, C
end)

--- distributed.row_scaler(M) -> mean, scale: what idl.standardize.row_scaler
-- gives for the columns of every rank's M together (M is k x m_r on rank r,
-- columns are samples; m_r may be 0 on some ranks, not on all), as k x 1
-- matrices equal on every rank.
distributed.row_scaler = api.public("idl.distributed.row_scaler", function(M)
  api.check(M, "matrix", "M")
  local m, k = M:cols(), M:rows()
  local mean, m2 = core.zeros(k, 1), core.zeros(k, 1)
  if m > 0 then
    mean = M:sum(2) / m
    local C = M:copy()
    core.add_col(C, -1, mean)
    m2 = C:hadamard(C):sum(2)
  end
  local n, gmean, gm2 = distributed.moments(m, mean, m2)
  if n == 0 then api.fail("M has no columns (samples) on any rank") end
  local scale = core.zeros(k, 1)
  for i = 1, k do
    local sd = math.sqrt(gm2:get(i, 1) / n)
    scale:set(i, 1, sd > 0 and sd or 1)
  end
  return gmean, scale
end)

return distributed
