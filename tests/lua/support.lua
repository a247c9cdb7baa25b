-- Fixtures shared by the training specs and by the scripts they run in child
-- processes (load it with dofile: children need no package path for it).
local idl = require "idl"

local support = {}

--- Rows-are-samples regression data: y = X w + noise (60 x 3, fixed seed).
function support.data()
  local g = idl.rng(1)
  local X = idl.randn(60, 3, g)
  local y = X * idl.from_table{{1}, {-2}, {0.5}} + idl.randn(60, 1, g, 0, 0.1)
  return X, y
end

--- A small IDLModel with the report's settings (two_loops from picard_ls);
-- tol_fenchel small: two_loops does not stop by itself within a few rounds.
-- extra overrides parameters.
function support.estimator(extra)
  local p = {preset = "report", hidden_variables = 4, random_state = 3, verbosity = false, tol_fenchel = 1e-6,
    inner_max_iter = 20}
  for k, v in pairs(extra or {}) do p[k] = v end
  return idl.IDLModel(p)
end

--- support.parse_ranks(stdout [, single]) -> results[rank][key]: the lines
-- "<rank> <key> <values...>" an MPI test's child prints, the values numbers
-- where they read as one: a list, or (single) the first value alone.
function support.parse_ranks(stdout, single)
  local results = {}
  for line in stdout:gmatch("[^\n]+") do
    local rank, key, rest = line:match("^(%d+) (%S+) ?(.*)$")
    assert(rank, "unexpected line: " .. line)
    rank = tonumber(rank)
    results[rank] = results[rank] or {}
    local values = {}
    for v in rest:gmatch("%S+") do values[#values + 1] = tonumber(v) or v end
    results[rank][key] = single and values[1] or values
  end
  return results
end

--- Runs f with io.stderr replaced; returns what was written there and f's results.
function support.capture_stderr(f)
  local saved, buf = io.stderr, {}
  io.stderr = {write = function(self, ...) -- luacheck: ignore 122
    for _, v in ipairs{...} do buf[#buf + 1] = tostring(v) end
    return self
  end, flush = function() end}
  local res = table.pack(pcall(f))
  io.stderr = saved -- luacheck: ignore 122
  if not res[1] then error(res[2], 0) end
  return table.concat(buf), table.unpack(res, 2, res.n)
end

--- FNV-1a, 32 bits (Fowler, Noll, Vo; draft-eastlake-fnv), as 8 hex digits:
-- offset basis 0x811c9dc5, prime 16777619, xor then multiply, byte by byte. An
-- implementation independent of idl.model's, for known-answer checks of the
-- model file's checksum line.
function support.fnv1a32(s)
  local h = 0x811c9dc5
  for i = 1, #s do h = ((h ~ s:byte(i)) * 16777619) & 0xffffffff end
  return string.format("%08x", h)
end

--- The path of this file, for dofile in specs and child scripts.
support.path = (os.getenv("IDL_SOURCE_DIR") or ".") .. "/tests/lua/support.lua"

--- Files and the shell, for the specs that run programs and read what they wrote.
function support.sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- The whole file at path, or nil when it cannot be read (idl._util's).
support.slurp = require("idl._util").read_file

function support.exists(path)
  return support.slurp(path) ~= nil
end

--- gnuplot is required (.ci/install-deps installs gnuplot-nox): a test that
-- renders fails without it rather than going pending.
support.has_gnuplot = os.execute("command -v gnuplot >/dev/null 2>&1")

--- f wrapped so that it fails first when gnuplot is missing: it(name, support.rendering(f)).
function support.rendering(f)
  return function()
    assert(support.has_gnuplot, "gnuplot is not installed: install gnuplot-nox (.ci/install-deps)")
    f()
  end
end

--- The regression problem of the MPI specs' children: y = sin(2 x1) + x2 x3 / 2
-- + noise (sd 0.05), x uniform on [-1.5, 1.5]^3; m rows, rows are samples.
function support.sine_problem(m, seed)
  local g = idl.rng(seed)
  local X, y = idl.zeros(m, 3), idl.zeros(m, 1)
  for i = 1, m do
    for j = 1, 3 do X:set(i, j, g:uniform(-1.5, 1.5)) end
    y:set(i, 1, math.sin(2 * X:get(i, 1)) + 0.5 * X:get(i, 2) * X:get(i, 3) + g:normal(0, 0.05))
  end
  return X, y
end

--- The rows of rank `rank`'s uneven shard of m rows in a job of `size`: row i
-- goes to rank (i - 1) % (size + 1), the last rank also takes the class
-- numbered size, so it holds twice as many rows as the others.
function support.shard_rows(m, rank, size)
  local mine = {}
  for i = 1, m do
    if math.min((i - 1) % (size + 1), size - 1) == rank then mine[#mine + 1] = i end
  end
  return mine
end

--- The rows idx of M (rows are samples), as a new matrix.
function support.rows_of(M, idx)
  return M:t():select_cols(idx):t()
end

--- One string for a model's six blocks: their idl.hash values (equal strings:
-- equal parameters, bit for bit).
function support.theta_hash(theta)
  local out = {}
  for i, k in ipairs{"A", "B", "c", "D", "E", "f"} do out[i] = idl.hash(theta[k]) end
  return table.concat(out, ":")
end

--- Runs `exe script args` on np MPI ranks (np = nil: alone, without the
-- launcher) under `timeout seconds`; returns the exit status, stdout, stderr.
-- The launcher is $IDL_MPIEXEC or mpirun, oversubscribed (2 cores here).
function support.mpirun(np, exe, script, args, seconds)
  local out, err = os.tmpname(), os.tmpname()
  local mpiexec = os.getenv("IDL_MPIEXEC") or "mpirun"
  local launcher = np and string.format("%s --oversubscribe -np %d ", mpiexec, np) or ""
  local _, _, code = os.execute(string.format("timeout %d %s%s %s %s >%s 2>%s", seconds, launcher, exe,
    script, args or "", out, err))
  local stdout, stderr = support.slurp(out), support.slurp(err)
  os.remove(out)
  os.remove(err)
  return code, stdout, stderr
end

return support
