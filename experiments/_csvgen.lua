--- Large generated CSV files for the streaming benchmarks (bench_stream,
-- bench_stream_fit): written block by block in a child process, so that the
-- generator's matrices never count in the benchmark's own peak memory.
local idl = require "idl"
local util = require "idl._util"

local csvgen = {}

local BLOCK = 250000 -- rows written per write_csv call

--- csvgen.write(path, rows, features, block): the file of rows x (features + 1)
-- columns x1 .. xF, y, from block(m, g) -> the m x (features + 1) matrix of m
-- rows drawn from the generator g (seeded 2026), appended block by block.
function csvgen.write(path, rows, features, block)
  local names = {}
  for j = 1, features do names[j] = "x" .. j end
  names[features + 1] = "y"
  local out = assert(io.open(path, "wb"))
  local block_path = path .. ".block"
  local g = idl.rng(2026)
  for first = 1, rows, BLOCK do
    idl.write_csv(block_path, block(math.min(BLOCK, rows - first + 1), g), first == 1 and names or nil)
    assert(out:write(assert(util.read_file(block_path))))
  end
  assert(out:close())
  os.remove(block_path)
end

--- csvgen.spawn(script, path, rows, features): runs `idl script --generate
-- path --rows rows --features features` (the script's own generator mode) in
-- a child process; raises if it fails.
function csvgen.spawn(script, path, rows, features)
  local cmd = string.format("%s %s --generate %s --rows %d --features %d", util.sh_quote(idl.executable()),
    util.sh_quote(script), util.sh_quote(path), rows, features)
  assert(os.execute(cmd), "generator failed: " .. cmd)
end

--- csvgen.file_size(path) -> bytes.
function csvgen.file_size(path)
  local f = assert(io.open(path, "rb"))
  local size = f:seek("end")
  f:close()
  return size
end

return csvgen
