--- The performance model of experiments/bench_scale.lua: the time of one
-- data-parallel step on P ranks and the parallel efficiency it gives. Not a
-- module of the library: an experiment's helper, loaded with
--     package.path = here .. "/?.lua;" .. package.path
--     local scaling = require "_scaling"
--
-- One step of data-parallel training with b samples on each of P ranks:
--
--     t_step(P, b) = c b + s + t_ar(P)
--     t_ar(P)      = k * 2 (P - 1) latency + 2 (P - 1) / P * bytes / bandwidth
--
-- c: compute seconds per sample (forward, backward, gradients); s: the
-- per-step work that does not shrink with the batch (the optimizer step and
-- the projection of D, repeated on every rank); t_ar: a ring allreduce of the
-- step's gradient bytes in k calls (k = 1 fused; the ring's bandwidth term
-- depends on the total bytes only, its latency term is paid per call). The
-- sum itself (bytes / 8 additions) is left out: at memory speed it is small
-- beside the transfer. One rank would take c P b + s for the same global
-- batch, so the efficiency (speed-up / P) is
--
--     E(P, b) = (c P b + s) / (P (c b + s + t_ar(P)))
--
-- and E = 1 at P = 1.
local scaling = {}

local function positive(v, what, fname)
  if type(v) ~= "number" or v ~= v or v <= 0 or v == math.huge then
    error(string.format("%s: %s must be a positive finite number, got %s", fname, what, tostring(v)), 3)
  end
  return v
end

local function nonnegative(v, what, fname)
  if type(v) ~= "number" or v ~= v or v < 0 or v == math.huge then
    error(string.format("%s: %s must be a finite number >= 0, got %s", fname, what, tostring(v)), 3)
  end
  return v
end

local function ranks(p, fname)
  if math.type(p) ~= "integer" or p < 1 then
    error(string.format("%s: ranks must be an integer >= 1, got %s", fname, tostring(p)), 3)
  end
  return p
end

--- scaling.ring_seconds(bytes, ranks, link [, calls]) -> seconds of a ring
-- allreduce of bytes over ranks processes, in calls collectives (default 1)
-- sharing those bytes; link = {bandwidth = bytes per second, latency =
-- seconds per message}.
function scaling.ring_seconds(bytes, p, link, calls)
  local fname = "scaling.ring_seconds"
  nonnegative(bytes, "bytes", fname)
  p = ranks(p, fname)
  if type(link) ~= "table" then error(fname .. ": link must be a table {bandwidth =, latency =}", 2) end
  local bw = positive(link.bandwidth, "link.bandwidth", fname)
  local lat = nonnegative(link.latency, "link.latency", fname)
  calls = calls or 1
  if math.type(calls) ~= "integer" or calls < 1 then
    error(fname .. ": calls must be an integer >= 1, got " .. tostring(calls), 2)
  end
  return calls * 2 * (p - 1) * lat + 2 * (p - 1) / p * bytes / bw
end

--- scaling.efficiency(step, p, b, comm) -> the parallel efficiency (speed-up
-- / p) of steps of b samples on each of p ranks taking comm seconds of
-- allreduce; step = {per_sample = c, fixed = s} (seconds).
function scaling.efficiency(step, p, b, comm)
  local fname = "scaling.efficiency"
  if type(step) ~= "table" then error(fname .. ": step must be a table {per_sample =, fixed =}", 2) end
  local c = positive(step.per_sample, "step.per_sample", fname)
  local s = nonnegative(step.fixed, "step.fixed", fname)
  p = ranks(p, fname)
  positive(b, "the batch per rank", fname)
  nonnegative(comm, "comm", fname)
  return (c * p * b + s) / (p * (c * b + s + comm))
end

--- scaling.min_batch(step, p, comm, target) -> the smallest integer batch per
-- rank b whose efficiency (scaling.efficiency) reaches target (0 < target <
-- 1). It exists: as b grows, E tends to 1.
function scaling.min_batch(step, p, comm, target)
  local fname = "scaling.min_batch"
  if type(target) ~= "number" or not (target > 0 and target < 1) then
    error(fname .. ": target must be a number in (0, 1), got " .. tostring(target), 2)
  end
  local e1 = scaling.efficiency(step, ranks(p, fname), 1, nonnegative(comm, "comm", fname))
  if e1 >= target then return 1 end
  -- E >= target  <=>  c P b + s >= target P (c b + s + comm)  <=>
  -- c P b (1 - target) >= target P (s + comm) - s
  local c, s = step.per_sample, step.fixed
  local b = math.ceil((target * p * (s + comm) - s) / (c * p * (1 - target)))
  -- rounding of the division: settle on the exact integer
  while b > 1 and scaling.efficiency(step, p, b - 1, comm) >= target do b = b - 1 end
  while scaling.efficiency(step, p, b, comm) < target do b = b + 1 end
  return b
end

--- scaling.fit_link(bytes, seconds, p) -> link {bandwidth =, latency =}: the
-- ring model t = 2 (p - 1) latency + 2 (p - 1) / p bytes / bandwidth fitted to
-- allreduce times measured at several message sizes on p >= 2 ranks (arrays of
-- equal length >= 2, at least two different sizes), by least squares of the
-- relative residuals (t - model) / t: the sizes span orders of magnitude, and
-- plain least squares would let the largest decide the latency. A fitted slope
-- or intercept that is not positive (noise) is reported as is in link.slope and
-- link.intercept, and bandwidth or latency is then nil.
function scaling.fit_link(bytes, seconds, p)
  local fname = "scaling.fit_link"
  if type(bytes) ~= "table" or type(seconds) ~= "table" or #bytes ~= #seconds or #bytes < 2 then
    error(fname .. ": bytes and seconds must be arrays of the same length >= 2", 2)
  end
  p = ranks(p, fname)
  if p < 2 then error(fname .. ": the ring model needs p >= 2 ranks, got " .. p, 2) end
  -- weighted normal equations of t = intercept + slope x, weights 1 / t^2
  local sw, sx, sy, sxx, sxy = 0, 0, 0, 0, 0
  for i = 1, #bytes do
    local x = 2 * (p - 1) / p * nonnegative(bytes[i], "bytes[" .. i .. "]", fname)
    local y = positive(seconds[i], "seconds[" .. i .. "]", fname)
    local w = 1 / (y * y)
    sw, sx, sy, sxx, sxy = sw + w, sx + w * x, sy + w * y, sxx + w * x * x, sxy + w * x * y
  end
  local det = sw * sxx - sx * sx
  if det <= 1e-12 * sw * sxx then error(fname .. ": bytes must hold at least two different sizes", 2) end
  local slope = (sw * sxy - sx * sy) / det
  local intercept = (sy - slope * sx) / sw
  return {slope = slope, intercept = intercept, bandwidth = slope > 0 and 1 / slope or nil,
    latency = intercept > 0 and intercept / (2 * (p - 1)) or nil}
end

--- scaling.timed(f, reps) -> best, median seconds of reps calls of f, each
-- after an MPI barrier (so that every rank enters together and the time is
-- the collective's, not a wait for a late rank).
function scaling.timed(f, reps)
  local mpi, clock = require "idl.mpi", require("idl").clock
  local t = {}
  for r = 1, reps do
    mpi.barrier()
    local t0 = clock()
    f()
    t[r] = clock() - t0
  end
  table.sort(t)
  return t[1], t[(reps + 1) // 2]
end

return scaling
