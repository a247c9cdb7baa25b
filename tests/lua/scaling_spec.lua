-- scaling_spec.lua: the performance model of experiments/bench_scale.lua
-- (experiments/_scaling.lua) against answers worked out by hand, and the
-- script's bookkeeping on a tiny problem (its step count, fused bytes and the
-- allreduces it counts), alone and under `mpirun -np 2`. No timing is
-- asserted: the benchmark is a program that prints figures.

local mpi = require "idl.mpi"
local json = require "idl.json"
local support = dofile((os.getenv("IDL_SOURCE_DIR") or ".") .. "/tests/lua/support.lua")

local SOURCE = os.getenv("IDL_SOURCE_DIR") or "."
local EXE = os.getenv("IDL_EXE") or "build/bin/idl"
package.path = SOURCE .. "/experiments/?.lua;" .. package.path
local scaling = require "_scaling"

local function near(expected, got, rel)
  assert(math.abs(got - expected) <= (rel or 1e-12) * math.abs(expected),
    string.format("expected %.17g, got %.17g", expected, got))
end

describe("the ring allreduce model", function()
  local link = {bandwidth = 1e9, latency = 1e-6}

  it("P = 2: one latency each way and the bytes once", function()
    -- 2 (P-1) latency + 2 (P-1)/P bytes/bandwidth = 2e-6 + 1e6/1e9
    near(1.002e-3, scaling.ring_seconds(1e6, 2, link))
  end)

  it("P = 4 in 7 calls: the latency term per call, the bandwidth term once", function()
    -- 7 * 2 * 3 * 1e-6 + 2 * 3/4 * 1e6 / 1e9 = 42e-6 + 1.5e-3
    near(1.542e-3, scaling.ring_seconds(1e6, 4, link, 7))
  end)

  it("one rank communicates nothing", function()
    assert.are.equal(0, scaling.ring_seconds(1e6, 1, link))
  end)

  it("checks its arguments", function()
    assert.has_error(function() scaling.ring_seconds(-1, 2, link) end,
      "scaling.ring_seconds: bytes must be a finite number >= 0, got -1")
    assert.has_error(function() scaling.ring_seconds(8, 0, link) end,
      "scaling.ring_seconds: ranks must be an integer >= 1, got 0")
    assert.has_error(function() scaling.ring_seconds(8, 2, {bandwidth = 0, latency = 0}) end,
      "scaling.ring_seconds: link.bandwidth must be a positive finite number, got 0")
    assert.has_error(function() scaling.ring_seconds(8, 2, link, 0) end,
      "scaling.ring_seconds: calls must be an integer >= 1, got 0")
  end)
end)

describe("the parallel efficiency", function()
  it("P = 2, no fixed work: communication as long as the compute halves the efficiency", function()
    -- one rank: 200 samples in 2 ms; two: 1 ms compute + 1 ms allreduce -> speed-up 1, efficiency 1/2
    near(0.5, scaling.efficiency({per_sample = 1e-5, fixed = 0}, 2, 100, 1e-3))
  end)

  it("P = 2, fixed work repeated on every rank and no communication: Amdahl's law", function()
    -- one rank 2 ms + 1 ms; two ranks 1 ms + 1 ms each: speed-up 3/2, efficiency 3/4
    near(0.75, scaling.efficiency({per_sample = 1e-5, fixed = 1e-3}, 2, 100, 0))
  end)

  it("one rank is fully efficient", function()
    assert.are.equal(1, scaling.efficiency({per_sample = 1e-5, fixed = 1e-3}, 1, 64, 0))
  end)

  it("the smallest batch per rank that reaches the target", function()
    -- c = 1/4, s = 0, comm = 1: E = b/4 / (b/4 + 1) >= 3/4 <=> b >= 12 (E(12) = 3/4 exactly)
    assert.are.equal(12, scaling.min_batch({per_sample = 0.25, fixed = 0}, 2, 1, 0.75))
    -- c = 1/4, s = 1, P = 2, comm = 1: E = (b/2 + 1) / (b/2 + 4) >= 3/4 <=> b >= 16
    assert.are.equal(16, scaling.min_batch({per_sample = 0.25, fixed = 1}, 2, 1, 0.75))
    -- already there at b = 1
    assert.are.equal(1, scaling.min_batch({per_sample = 1, fixed = 0}, 8, 0, 0.9))
  end)

  it("checks its arguments", function()
    assert.has_error(function() scaling.efficiency({per_sample = 0, fixed = 0}, 2, 8, 0) end,
      "scaling.efficiency: step.per_sample must be a positive finite number, got 0")
    assert.has_error(function() scaling.efficiency({per_sample = 1, fixed = 0}, 2, 8, 0 / 0) end,
      "scaling.efficiency: comm must be a finite number >= 0, got " .. tostring(0 / 0))
    assert.has_error(function() scaling.min_batch({per_sample = 1, fixed = 0}, 2, 1, 1) end,
      "scaling.min_batch: target must be a number in (0, 1), got 1")
  end)
end)

describe("fitting the ring model to measured allreduce times", function()
  it("recovers the latency and bandwidth of exact times", function()
    for _, p in ipairs{2, 4} do
      local bytes, seconds = {8, 65536, 1e6, 8e6}, {}
      for i, b in ipairs(bytes) do seconds[i] = 2 * (p - 1) * 5e-6 + 2 * (p - 1) / p * b / 2e9 end
      local link = scaling.fit_link(bytes, seconds, p)
      near(5e-6, link.latency, 1e-9)
      near(2e9, link.bandwidth, 1e-9)
    end
  end)

  it("refuses what cannot be fitted", function()
    assert.has_error(function() scaling.fit_link({8, 8}, {1, 2}, 2) end,
      "scaling.fit_link: bytes must hold at least two different sizes")
    assert.has_error(function() scaling.fit_link({8, 16}, {1, 2}, 1) end,
      "scaling.fit_link: the ring model needs p >= 2 ranks, got 1")
    assert.has_error(function() scaling.fit_link({8}, {1}, 2) end,
      "scaling.fit_link: bytes and seconds must be arrays of the same length >= 2")
  end)
end)

-- bench_scale on 2,000 samples, h = 20, n = 10, batch 256: the fused buffer is
-- A (1x20), B (1x10), c (1), D (20x20), E (20x10), f (20) and 3 numbers = 654
-- doubles; alone 8 steps of 256 (the last short); on 2 ranks 128 each, 1,000
-- samples a rank: 8 steps, each one fused allreduce (the script raises if it
-- counts another number).
describe("experiments/bench_scale.lua on a tiny problem", function()
  local function run(np)
    local out = os.tmpname()
    local code, stdout, stderr = support.mpirun(np, EXE, SOURCE .. "/experiments/bench_scale.lua",
      "--rows 2000 --hidden 20 --epochs 2 --reps 3 --out " .. support.sh_quote(out), 120)
    local figures = support.exists(out) and json.read(out)
    os.remove(out)
    assert(code == 0 and figures, "bench_scale failed: " .. tostring(stdout) .. tostring(stderr))
    return figures, stdout
  end

  it("alone: the steps and bytes of the trainer, no communication", function()
    local f, stdout = run(nil)
    assert.are.equal(1, f.ranks)
    assert.are.equal(8, f.steps)
    assert.are.equal(256, f.batch_per_rank)
    assert.are.equal(654 * 8, f.bytes)
    assert.are.equal(0, f.comm_wall)
    assert.truthy(f.per_sample > 0 and f.fixed > 0)
    assert.truthy(stdout:find("b for 90%", 1, true))
  end)

  it("under mpirun -np 2: one fused allreduce per step, timed", function()
    if not mpi.available() then return end
    local f = run(2)
    assert.are.equal(2, f.ranks)
    assert.are.equal(8, f.steps)
    assert.are.equal(128, f.batch_per_rank)
    assert.truthy(f.comm_wall > 0 and f.comm_cpu > 0)
    assert.are.equal(4, #f.alone.best)
    assert.are.equal(654 * 8, f.alone.bytes[3])
  end)
end)
