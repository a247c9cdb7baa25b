--- Benchmark: the equilibrium solvers X = (D X + B0)_+ against a plain dgemm.
--
--     idl experiments/bench_equilibrium.lua [--quick] [--reps N] [--threads N] [--part a|b]
--
-- (a) The cost of one Picard iteration (one GEMM and one fused ReLU/residual
--     pass) over one dgemm of the same size (idl.gemm into a preallocated
--     matrix), at h = 300, m = 10000 (--quick: h = 100, m = 2000). The solve
--     is fixed at 50 iterations (tol = 0), i.e. 51 GEMMs with the final
--     residual check, and includes the call's own allocations; it is compared
--     with a run of 51 dgemms. Target: <= 1.15.
-- (b) Iterations and seconds to tol 1e-10 for Picard and Anderson (memory 5)
--     on two families of D scaled row by row to ||D||_inf = kappa: signed
--     (Gaussian entries) and nonnegative (|Gaussian|; its Perron root is then
--     exactly kappa, the hard case), B0 standard normal.
-- Times are the best of --reps runs (default 3); "rel dX" is
-- max|X_picard - X_anderson| / max(1, max|X|).
local idl = require "idl"

local quick, reps, threads, part = false, 3, nil, nil
local i = 1
while arg and arg[i] do
  if arg[i] == "--quick" then quick = true
  elseif arg[i] == "--reps" then reps = tonumber(arg[i + 1]); i = i + 1
  elseif arg[i] == "--threads" then threads = tonumber(arg[i + 1]); i = i + 1
  elseif arg[i] == "--part" then part = arg[i + 1]; i = i + 1
  else error("bench_equilibrium: unknown option " .. arg[i], 0) end
  i = i + 1
end
if threads then idl.set_threads(threads) end
local h, m = 300, 10000
if quick then h, m = 100, 2000 end

-- Each row of a Gaussian matrix rescaled to l1 norm kappa (|entries| if nonneg).
local function family(kappa, nonneg, rng)
  local d = idl.randn(h, h, rng)
  local t = d:totable()
  for r = 1, h do
    local l1 = 0
    for c = 1, h do
      if nonneg then t[r][c] = math.abs(t[r][c]) end
      l1 = l1 + math.abs(t[r][c])
    end
    for c = 1, h do t[r][c] = t[r][c] * kappa / l1 end
  end
  return idl.from_table(t)
end

-- Best wall time of reps calls of f, and f's results from the last call.
local function best_of(f)
  local best, a, b = math.huge, nil, nil
  for _ = 1, reps do
    collectgarbage()
    local t0 = idl.clock()
    a, b = f()
    best = math.min(best, idl.clock() - t0)
  end
  return best, a, b
end

local rng = idl.rng(2024)
print(string.format("threads %d, h = %d, m = %d, best of %d", idl.get_threads(), h, m, reps))

-- (a) --------------------------------------------------------------------
if part ~= "b" then
  local d, b0 = family(0.9, true, rng), idl.randn(h, m, rng)
  local c = idl.zeros(h, m)
  local steps = 50
  -- Equal runs of steps + 1 dgemms and of one solve (steps + 1 GEMMs),
  -- alternated so that machine noise hits both alike; the best of each.
  local t_gemm, t_pic, info = math.huge, math.huge, nil
  for _ = 1, reps do
    local t0 = idl.clock()
    for _ = 0, steps do idl.gemm(c, d, b0) end
    t_gemm = math.min(t_gemm, (idl.clock() - t0) / (steps + 1))
    collectgarbage()
    t0 = idl.clock()
    local _, inf = idl.equilibrium(d, b0, {tol = 0, max_iter = steps})
    t_pic, info = math.min(t_pic, idl.clock() - t0), inf
  end
  assert(info.iterations == steps, "bench_equilibrium: unexpected iteration count")
  local per_iter = t_pic / (steps + 1)
  print("")
  print("(a) one Picard iteration against one dgemm")
  print(string.format("  dgemm            %8.2f ms  (%.1f GFLOP/s)", t_gemm * 1e3,
    2 * h * h * m / t_gemm / 1e9))
  print(string.format("  Picard iteration %8.2f ms  (%d iterations + final check in %.3f s)",
    per_iter * 1e3, steps, t_pic))
  print(string.format("  ratio            %8.3f  (target <= 1.15)", per_iter / t_gemm))
end

-- (b) --------------------------------------------------------------------
if part == "a" then return end
print("")
print("(b) to tol 1e-10: iterations and seconds, Picard vs Anderson (memory 5)")
print(string.format("  %-8s %5s | %7s %8s | %7s %8s | %6s %6s | %8s",
  "family", "kappa", "Picard", "s", "Anderson", "s", "it %", "time %", "rel dX"))
for _, nonneg in ipairs({false, true}) do
  for _, kappa in ipairs({0.5, 0.9, 0.99}) do
    local d, b0 = family(kappa, nonneg, rng), idl.randn(h, m, rng)
    local opts = {tol = 1e-10, max_iter = 100000}
    local tp, xp, ip = best_of(function() return idl.equilibrium(d, b0, opts) end)
    opts.method = "anderson"
    local ta, xa, ia = best_of(function() return idl.equilibrium(d, b0, opts) end)
    assert(ip.converged and ia.converged, "bench_equilibrium: a solver did not converge")
    -- Both meet tol, so they differ by at most ~2 tol / (1 - kappa) relative.
    local rel = (xp - xa):norm("max") / math.max(1, xp:norm("max"))
    print(string.format("  %-8s %5.2f | %7d %8.3f | %7d %8.3f | %5.1f%% %5.1f%% | %8.1e",
      nonneg and "nonneg" or "signed", kappa, ip.iterations, tp, ia.iterations, ta,
      100 * ia.iterations / ip.iterations, 100 * ta / tp, rel))
  end
end
